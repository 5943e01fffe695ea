"""akanda-slim build: the slim (or baseline) appliance image with DIB."""

import argparse
import logging
import os

from akanda_slim.dib import hostdeps
from akanda_slim.dib import image_build
from akanda_slim import errors

HELP = 'build the slim Akanda appliance image with diskimage-builder'
LOG = logging.getLogger(__name__)


def add_arguments(parser):
    parser.add_argument('--baseline', action='store_true',
                        help='build the same elements without slim, for '
                             'comparison')
    parser.add_argument('--output-dir', default=image_build.DEFAULT_OUTPUT,
                        help='where the image and its report go '
                             '(default: %(default)s, under the current '
                             'directory)')
    parser.add_argument('--release', default=image_build.DEFAULT_RELEASE,
                        help='Debian release codename, checked against '
                             'the mirror (default: %(default)s)')
    parser.add_argument('--name',
                        help='image name (default: akanda-slim-RELEASE or '
                             'akanda-baseline-RELEASE)')
    parser.add_argument('--agent-source', metavar='LOCATION',
                        help='the appliance agent (upstream '
                             'astara-appliance): a git URL, a local '
                             'repository or directory, or a tarball '
                             '(default: $%s)' % image_build.AGENT_LOCATION)
    parser.add_argument('--agent-ref', metavar='REF',
                        help='git branch, tag or commit of --agent-source '
                             '(default: $%s, else the repository\'s HEAD)'
                             % image_build.AGENT_REF)
    parser.add_argument('--runtime-only', action='store_true',
                        help='build the appliance\'s Debian runtime without '
                             'the agent')
    parser.add_argument('dib_args', nargs=argparse.REMAINDER,
                        metavar='-- DIB_ARGS',
                        help='further disk-image-create arguments')


def check_name(name):
    """An image name must be a plain file name: DIB writes NAME.qcow2."""
    if name is not None and (not name or '/' in name or name[0] in '.-'
                             or not name.isprintable()):
        raise errors.UsageError(
            '--name %r: give a plain file name (no "/", not starting with '
            '"." or "-", printable)' % name)


def check_output_dir(path):
    """The output directory must be a directory, or not exist yet."""
    if os.path.lexists(path) and not os.path.isdir(path):
        raise errors.UsageError('--output-dir %s exists and is not a '
                                'directory' % path)


def agent_environment(args, environ=None):
    """The build's environment with the agent's location.

    Raises UsageError when none is known and the runtime-only image was not
    asked for.
    """
    environ = dict(os.environ if environ is None else environ)
    if args.runtime_only:
        if args.agent_source or args.agent_ref:
            raise errors.UsageError('--runtime-only builds no agent: drop '
                                    '--agent-source and --agent-ref')
        return environ
    if args.agent_source:
        environ[image_build.AGENT_LOCATION] = os.path.abspath(
            args.agent_source) if os.path.exists(args.agent_source) \
            else args.agent_source
    if args.agent_ref:
        environ[image_build.AGENT_REF] = args.agent_ref
    if not environ.get(image_build.AGENT_LOCATION):
        raise errors.UsageError(
            'no agent source: give --agent-source LOCATION (a git URL, a '
            'local repository or directory, or a tarball of '
            'astara-appliance) or set %s; --runtime-only builds the image '
            'without the agent' % image_build.AGENT_LOCATION)
    return environ


def run(args):
    check_name(args.name)
    check_output_dir(args.output_dir)
    environ = agent_environment(args)
    image_build.check_release(args.release)
    if os.geteuid() == 0:
        hostdeps.install_missing('build')
    else:
        LOG.info('not root: host packages not checked (bindep.txt, '
                 'profile build)')
    image_build.check_sudo_quiet()
    whole_disk = image_build.device_mapper_works()
    if not whole_disk:
        LOG.info('no working device-mapper (/dev/mapper/control, kpartx) '
                 'on this host: building a filesystem image with its kernel '
                 'and initrd beside it (DIB element baremetal), not a '
                 'whole-disk vm image')
    elements = image_build.image_elements(args.baseline, whole_disk,
                                          agent=not args.runtime_only)
    name = args.name or 'akanda-%s-%s' % (
        'baseline' if args.baseline else 'slim', args.release)
    extra = args.dib_args
    if extra[:1] == ['--']:
        extra = extra[1:]
    result = image_build.build(args.output_dir, name, elements,
                               release=args.release, extra_args=extra,
                               environ=environ)
    print('built %s (%s) in %.0f s' % (name, ' '.join(elements),
                                       result.seconds))
    for label, path in result.existing():
        print('%-7s %s' % (label + ':', path))
    return 0
