"""akanda-slim usage: boot an image, run every check, report what it read."""

import json
import os
import shutil
import sys
import tempfile

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import runner
from akanda_slim import errors
from akanda_slim.footprint import usage
from akanda_slim.footprint import usage_boot

HELP = ('boot an image under QEMU, run the router checks and report which '
        'files, packages and kernel modules the guest read')


def add_arguments(parser):
    runner.add_image_arguments(parser)
    parser.add_argument('--memory', type=int, default=1024, metavar='MIB',
                        help='guest memory (default: 1024)')
    parser.add_argument('--accel', choices=('tcg', 'kvm'), default='tcg',
                        help='QEMU accelerator (default: tcg)')
    parser.add_argument('--boot-timeout', type=int, default=600,
                        metavar='SECONDS', help='per boot (default: 600)')
    parser.add_argument('--checks', choices=sorted(check_sets.SETS),
                        default='all',
                        help='which checks the boot runs, as verify --checks '
                        '(default: %(default)s)')
    parser.add_argument('--against', metavar='REPORT.json',
                        help='also list the packages this run read more '
                        'files of than the usage report REPORT.json did '
                        '(e.g. one of --checks boot: what the router\'s '
                        'workload reads beyond the boot)')
    parser.add_argument('--log-dir', help='keep the seed and serial console '
                        'log here (default: a temporary directory, kept '
                        'only when something fails)')
    parser.add_argument('--json', action='store_true',
                        help='print the report as JSON')


def read_report(path):
    """A usage report from ``path``; UsageError when it is not one."""
    try:
        with open(path) as text:
            report = json.load(text)
        if not isinstance(report, dict) or not all(
                isinstance(entry, dict)
                and isinstance(entry.get('package'), str)
                and isinstance(entry.get('files_read'), int)
                and isinstance(entry.get('read_kib'), int)
                for entry in report['packages']):
            raise ValueError('not a usage report')
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise errors.UsageError('--against %s: %s' % (
            path, getattr(exc, 'strerror', None) or exc)) from None
    return report


def run(args):
    if args.memory < 32:
        raise errors.UsageError('--memory must be at least 32 MiB')
    base = read_report(args.against) if args.against else None
    if args.accel == 'kvm' and not qemu.kvm_usable():
        raise errors.UsageError('--accel kvm: /dev/kvm is not usable')
    runner.boot_files(args.image, args.kernel, args.initrd)
    options = runner.Options(accel=args.accel, memory_mib=args.memory,
                             boot_timeout=args.boot_timeout,
                             check_set=args.checks)
    log_dir = args.log_dir or tempfile.mkdtemp(prefix='akanda-slim-usage-',
                                               dir='/var/tmp')
    os.makedirs(log_dir, exist_ok=True)
    try:
        report = usage_boot.measure_usage(args.image, log_dir, args.kernel,
                                          args.initrd, options)
    except BaseException:
        sys.stderr.write('akanda-slim: logs kept in %s\n' % log_dir)
        raise
    finally:
        prepared = os.path.join(log_dir, 'usage.qcow2')
        if os.path.exists(prepared):
            os.unlink(prepared)
    if base is not None:
        report['against'] = args.against
        report['read_beyond'] = usage.read_beyond(report, base)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write('\n')
    else:
        print(usage.format_text(report))
    if not report['checks_passed']:
        sys.stderr.write('akanda-slim: checks failed, the usage is '
                         'incomplete; logs kept in %s\n' % log_dir)
        return 1
    if not args.log_dir:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0
