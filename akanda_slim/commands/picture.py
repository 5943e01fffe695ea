"""akanda-slim picture: an SVG of what two images are made of."""

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile

from akanda_slim.debian import rootfs
from akanda_slim import errors
from akanda_slim.footprint import composition
from akanda_slim.footprint import imagefs
from akanda_slim.footprint import svg

HELP = ('draw the composition of two images (kernel, Python, router stack, '
        'docs and locales, the rest; the biggest packages) as SVG')
LOG = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument('a', help='first image (qcow2, mounted read-only: '
                        'needs root) or a root directory')
    parser.add_argument('b', help='second image or root directory')
    parser.add_argument('-o', '--output', default='composition.svg',
                        help='SVG file to write (default: %(default)s)')
    parser.add_argument('--names', nargs=2, metavar=('A', 'B'),
                        help='labels (default: the file names)')
    parser.add_argument('--top', type=_positive, default=10,
                        help='biggest packages listed per image')
    parser.add_argument('--usage', nargs=2, metavar=('A.json', 'B.json'),
                        help='usage reports (akanda-slim usage --json) of '
                        'the two images: their never-read bytes are shaded '
                        '(give - for an image without one)')
    parser.add_argument('--json', action='store_true',
                        help='also print the figures as JSON')


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('%r is not a count of at least 1'
                                         % text)
    return value


def _check_output(path):
    """The SVG's path must be a file in an existing directory."""
    if os.path.isdir(path):
        raise errors.UsageError('-o %s is a directory: give a file name'
                                % path)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise errors.UsageError('-o %s: no such directory' % path)


@contextlib.contextmanager
def _root(path):
    if os.path.isdir(path):
        yield path
        return
    if not os.path.isfile(path):
        raise errors.UsageError('no such image or directory: %s' % path)
    with tempfile.TemporaryDirectory(dir='/var/tmp') as work:
        with imagefs.mounted(path, work) as mount:
            yield mount


def _name(path):
    return os.path.splitext(os.path.basename(os.path.normpath(path)))[0]


def _usage(path):
    """A usage report read from ``path``, or None for ``-``."""
    if path == '-':
        return None
    try:
        report = json.loads(rootfs.read_text(path, what='usage report'))
    except ValueError as exc:
        raise errors.InputError('usage report %s: %s' % (path, exc))
    if not isinstance(report, dict) or 'never_read_kib' not in report:
        raise errors.InputError('usage report %s has no never_read_kib: not '
                                'an akanda-slim usage --json report' % path)
    return report


def compose(path, name):
    LOG.info('reading %s', path)
    with _root(path) as root:
        if not os.path.isdir(rootfs.resolve(root, 'var/lib/dpkg')):
            raise errors.InputError('%s is not a Debian root or image (no '
                                    'var/lib/dpkg)' % path)
        return composition.compose(root, name)


def run(args):
    _check_output(args.output)
    names = args.names or [_name(args.a), _name(args.b)]
    reports = [_usage(path) for path in (args.usage or ('-', '-'))]
    comps = [compose(args.a, names[0]), compose(args.b, names[1])]
    for comp, report in zip(comps, reports):
        if report is not None:
            comp.add_usage(report)
    title = 'Image composition: %s against %s (disk usage of the tree)' % (
        names[0], names[1])
    with open(args.output, 'w') as out:
        out.write(svg.render(comps, title, top=args.top))
    if args.json:
        json.dump([c.to_dict(args.top) for c in comps], sys.stdout, indent=2)
        sys.stdout.write('\n')
    else:
        for comp in comps:
            print('%s: %.1f MiB: %s' % (comp.name, comp.total_kib / 1024.0,
                                        ', '.join('%s %.1f' % (
                                            n, comp.categories[n] / 1024.0)
                                            for n in composition.CATEGORIES)))
        print('wrote %s' % args.output)
    return 0
