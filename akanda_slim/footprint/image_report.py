"""The slim report of an image: NAME.slim.json and NAME.slim.txt.

Written by the slim element's last post-root.d hook, beside the image and
into the image's DIB manifests directory. Says how many packages and how much
installed size the tree had before and after the slim step, every removal
with its reason, what file pruning freed, the verification's outcome, and the
biggest packages and paths that remain. Checks the DIB_SLIM_MAX_SIZE budget
(MiB of the built tree) and fails naming the biggest contributors.
"""

import argparse
import json
import logging
import os
import sys
import time

from akanda_slim.debian import rootfs
from akanda_slim.debian import target as target_mod
from akanda_slim import dib_entry
from akanda_slim import errors
from akanda_slim.footprint import diskusage
from akanda_slim import sizes

LOG = logging.getLogger(__name__)

TOP = 20


def tree_usage(root):
    """(total KiB, {relative path: KiB}) of disk use, as ``du -sx``.

    The total is diskusage's (a hard-linked file once, as DIB sizes the
    tree). The mapping holds directories and files up to three levels
    deep, each with the usage of everything below it.
    """
    sizes = {}
    total = 0
    for relative, kib, _info in diskusage.entries(root):
        total += kib
        if relative == '.':
            continue
        parts = relative.split(os.sep)
        if len(parts) <= 3:
            sizes['/' + relative] = sizes.get('/' + relative, 0) + kib
        for depth in range(1, min(len(parts) - 1, 3) + 1):
            key = '/' + '/'.join(parts[:depth])
            sizes[key] = sizes.get(key, 0) + kib
    return total, sizes


def biggest_paths(sizes, count=TOP):
    """The largest entries three levels deep, or shallower files."""
    parents = {os.path.dirname(path) for path in sizes}
    entries = [(kib, path) for path, kib in sizes.items()
               if path.count('/') == 3 or path not in parents]
    return [{'path': path, 'kib': kib}
            for kib, path in sorted(entries, reverse=True)[:count]]


def package_totals(target):
    return {'packages': len(target.packages),
            'installed_size_kib': sum(p.installed_size_kib
                                      for p in target.packages.values())}


def build_report(root, packages_result, files_freed=None, started=None,
                 tree_kib_before=None, image_name='', max_size_mib=None,
                 dry_run=False):
    """The report (a dict) for the tree at ``root`` after the slim step.

    ``packages_result`` is the ``akanda-slim apply/plan --json`` output.
    """
    target = target_mod.read_target(root)
    tree_kib, sizes = tree_usage(root)
    before = dict(packages_result['totals']['installed'])
    before['tree_kib'] = tree_kib_before
    after = package_totals(target)
    after['tree_kib'] = tree_kib
    biggest = sorted(target.packages.values(),
                     key=lambda p: (-p.installed_size_kib, p.name))[:TOP]
    report = {
        'tool': 'akanda-slim',
        'image': os.path.basename(image_name),
        'policy': packages_result.get('policy'),
        'dry_run': bool(dry_run),
        'applied': bool(packages_result.get('applied')),
        'verification': packages_result.get('verification'),
        'before': before,
        'after': after,
        'removed_packages': [
            {k: r[k] for k in ('package', 'version', 'installed_size_kib',
                               'reason')}
            for r in packages_result.get('remove', [])],
        'pruned_files_kib': {k: v // 1024
                             for k, v in (files_freed or {}).items()},
        'biggest_packages': [{'package': p.name,
                              'installed_size_kib': p.installed_size_kib}
                             for p in biggest],
        'biggest_paths': biggest_paths(sizes),
        'packages': [{'package': key, 'version': p.version,
                      'installed_size_kib': p.installed_size_kib}
                     for key, p in sorted(target.packages.items())],
        'slim_step_seconds': (round(time.time() - started, 1)
                              if started else None),
        'max_size_mib': max_size_mib,
        'budget_ok': (max_size_mib is None
                      or tree_kib <= max_size_mib * 1024),
        'warnings': packages_result.get('warnings', []),
    }
    return report


def format_text(report):
    """The report as text for people."""
    before, after = report['before'], report['after']
    lines = ['akanda-slim report for %s (policy %s%s)' % (
        report['image'], report['policy'],
        ', DRY RUN: nothing removed' if report['dry_run'] else '')]
    lines.append('%-22s %10s %14s %12s' % ('', 'packages', 'installed',
                                           'tree'))
    for label, figures in (('before', before), ('after', after)):
        lines.append('%-22s %10d %14s %12s' % (
            label, figures['packages'],
            sizes.mib(figures['installed_size_kib']),
            sizes.mib(figures['tree_kib']) if figures.get('tree_kib')
            else '-'))
    if report['slim_step_seconds'] is not None:
        lines.append('slim step: %.1f s' % report['slim_step_seconds'])
    verification = report.get('verification') or {}
    if report['applied']:
        lines.append('verification: %s' % (
            'passed (dependencies, dpkg --audit, apt-get check)'
            if verification.get('ok') else 'FAILED'))
    if report['max_size_mib'] is not None:
        lines.append('size budget: %s MiB, %s' % (
            report['max_size_mib'],
            'within' if report['budget_ok'] else 'EXCEEDED'))
    lines.append('')
    lines.append('removed packages (%d):' % len(report['removed_packages']))
    for removal in report['removed_packages']:
        lines.append('  %-36s %10s  %s' % (
            removal['package'], sizes.mib(removal['installed_size_kib']),
            removal['reason']))
    lines.append('pruned files:')
    for category, kib in sorted(report['pruned_files_kib'].items()):
        lines.append('  %-36s %10s' % (category, sizes.mib(kib)))
    lines.append('biggest packages left:')
    for package in report['biggest_packages']:
        lines.append('  %-36s %10s' % (
            package['package'], sizes.mib(package['installed_size_kib'])))
    lines.append('biggest paths left:')
    for path in report['biggest_paths']:
        lines.append('  %-36s %10s' % (path['path'], sizes.mib(path['kib'])))
    for warning in report['warnings']:
        lines.append('warning: %s' % warning)
    return '\n'.join(lines) + '\n'


def _report_files(report):
    """(suffix, text) of each file of the report."""
    return (('.slim.json', json.dumps(report, indent=1, sort_keys=True)
             + '\n'),
            ('.slim.txt', format_text(report)))


def write_report(report, paths):
    """Write ``report`` as PREFIX.slim.json and .txt for each host prefix."""
    written = []
    for prefix in paths:
        os.makedirs(os.path.dirname(prefix) or '.', exist_ok=True)
        for suffix, text in _report_files(report):
            with open(prefix + suffix, 'w') as out:
                out.write(text)
            written.append(prefix + suffix)
    return written


def write_report_in_root(report, root, prefix):
    """Write the report as PREFIX.slim.json and .txt inside ``root``.

    ``prefix`` is a path in the target, resolved in-root: a link there
    never leads the write onto the host.
    """
    return [rootfs.write_file(root, prefix + suffix, text)
            for suffix, text in _report_files(report)]


def check_budget(report):
    """Raise BudgetError naming the biggest contributors when over budget."""
    if report['budget_ok']:
        return
    raise errors.BudgetError(
        'image tree is %s, over DIB_SLIM_MAX_SIZE=%s MiB; biggest packages: '
        '%s; biggest paths: %s' % (
            sizes.mib(report['after']['tree_kib']), report['max_size_mib'],
            ', '.join('%s %s' % (p['package'],
                                 sizes.mib(p['installed_size_kib']))
                      for p in report['biggest_packages'][:5]),
            ', '.join('%s %s' % (p['path'], sizes.mib(p['kib']))
                      for p in report['biggest_paths'][:5])))


def _read(path, default=None, loader=json.load):
    """``loader`` on the state file ``path``; unreadable is an InputError."""
    if not path or not os.path.exists(path):
        return default
    try:
        with open(path) as data:
            return loader(data)
    except (OSError, ValueError) as exc:
        raise errors.InputError('%s: not a slim step state file (%s)'
                                % (path, exc)) from None


def _parse_max_size(text):
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise errors.UsageError('DIB_SLIM_MAX_SIZE must be MiB as an '
                                'integer, not %r' % text)
    if value <= 0:
        raise errors.UsageError('DIB_SLIM_MAX_SIZE must be positive')
    return value


def report_and_check(args):
    """Build, write and print the report, then check the budget."""
    state = args.state_dir or ''
    report = build_report(
        args.root, _read(args.packages_json),
        files_freed=_read(os.path.join(state, 'files.json')),
        started=_read(os.path.join(state, 'started'),
                      loader=lambda f: float(f.read())),
        tree_kib_before=_read(os.path.join(state, 'tree-kib-before'),
                              loader=lambda f: int(f.read())),
        image_name=args.image_name,
        max_size_mib=_parse_max_size(args.max_size),
        dry_run=args.dry_run)
    written = write_report(report, [args.image_name])
    if args.manifest_dir:
        written += write_report_in_root(report, args.root, os.path.join(
            args.manifest_dir, os.path.basename(args.image_name)))
    for path in written:
        LOG.info('slim report: %s', path)
    sys.stdout.write(format_text(report))
    check_budget(report)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m akanda_slim.footprint.image_report')
    parser.add_argument('--root', required=True)
    parser.add_argument('--packages-json', required=True)
    parser.add_argument('--state-dir')
    parser.add_argument('--image-name', required=True)
    parser.add_argument('--manifest-dir',
                        help='a directory inside --root (DIB_MANIFEST_'
                             'IMAGE_DIR), resolved as in a chroot')
    parser.add_argument('--max-size',
                        default=os.environ.get('DIB_SLIM_MAX_SIZE'))
    parser.add_argument('--dry-run', action='store_true',
                        default=os.environ.get('DIB_SLIM_DRY_RUN') == '1')
    return dib_entry.run(report_and_check, parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
