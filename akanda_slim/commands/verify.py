"""akanda-slim verify: boot an image under QEMU and check the router."""

import glob
import json
import logging
import os
import shutil
import sys
import tempfile

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import compare
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import runner
from akanda_slim.bootcheck import seed
from akanda_slim.dib import hostdeps
from akanda_slim import errors
from akanda_slim import termination

HELP = ('boot an image under QEMU with its instance data on a config drive, '
        'a metadata service or a NoCloud seed, and check that the router '
        'does its standard operations; measure boots')
LOG = logging.getLogger(__name__)


def add_arguments(parser):
    runner.add_image_arguments(parser)
    parser.add_argument('--baseline', metavar='IMAGE',
                        help='verify this image too and compare (its kernel '
                        'and initrd are found beside it)')
    parser.add_argument('--boots', type=int, default=1,
                        help='boots per image for the timing medians; the '
                        'checks run on the first (default: 1)')
    parser.add_argument('--no-checks', action='store_true',
                        help='only boot and time the images, run no check '
                        '(a benchmark of boots; a plain verify or usage runs '
                        'the checks)')
    parser.add_argument('--checks', choices=sorted(check_sets.SETS),
                        default='all',
                        help='which checks: all of them (the default), the '
                        'boot ones (login, datasource, boot-clean), or those '
                        'plus the agent\'s configuration and NAT (router)')
    parser.add_argument('--accel', choices=('tcg', 'kvm'), default='tcg',
                        help='QEMU accelerator (default: tcg)')
    parser.add_argument('--memory', type=int, default=1024, metavar='MIB',
                        help='guest memory (default: 1024)')
    parser.add_argument('--boot-timeout', type=int, default=600,
                        metavar='SECONDS', help='per boot (default: 600)')
    parser.add_argument('--datasource', choices=sorted(seed.DATASOURCES),
                        default=seed.DEFAULT_DATASOURCE,
                        help='how the guest gets its instance data: Nova\'s '
                        'config drive, Nova\'s metadata service at '
                        '169.254.169.254, or a NoCloud seed (default: %s)'
                        % seed.DEFAULT_DATASOURCE)
    parser.add_argument('--log-dir', help='keep seeds, serial console logs '
                        'and the SSH key pair (a private key) here '
                        '(default: a temporary directory, kept without the '
                        'key only when something fails)')
    parser.add_argument('--json', action='store_true',
                        help='print the report as JSON')


def _options(args):
    if args.boots < 1:
        raise errors.UsageError('--boots must be at least 1')
    if args.accel == 'kvm' and not qemu.kvm_usable():
        raise errors.UsageError('--accel kvm: /dev/kvm is not usable')
    return runner.Options(boots=args.boots, accel=args.accel,
                          memory_mib=args.memory,
                          boot_timeout=args.boot_timeout,
                          datasource=args.datasource,
                          run_checks=not args.no_checks,
                          check_set=args.checks)


def _install_host_packages():
    """As root, install what bindep profile "test" lacks; hostdeps logs it."""
    if os.geteuid() == 0:
        hostdeps.install_missing('test')


def _session(image, kernel, initrd, options, log_dir):
    workdir = tempfile.mkdtemp(prefix='verify-', dir=log_dir)
    return runner.Session(image, workdir, kernel, initrd, options)


def run(args):
    options = _options(args)
    for image in filter(None, (args.image, args.baseline)):
        if not os.path.isfile(image):
            raise errors.UsageError('no such image: %s' % image)
    _install_host_packages()
    runner.boot_files(args.image, args.kernel, args.initrd)
    if args.baseline:
        runner.boot_files(args.baseline)
    with termination.as_ctrl_c():
        return _run(args, options)


def _remove_keys(log_dir):
    """Delete the runs' SSH key pairs from a log directory kept for logs."""
    for path in glob.glob(os.path.join(log_dir, 'verify-*', 'id_ed25519*')):
        os.remove(path)


def _run(args, options):
    keep = bool(args.log_dir)
    log_dir = args.log_dir or tempfile.mkdtemp(prefix='akanda-slim-verify-',
                                               dir='/var/tmp')
    os.makedirs(log_dir, exist_ok=True)
    try:
        return _verify(args, options, log_dir, keep)
    finally:
        if not keep:
            _remove_keys(log_dir)


def _verify(args, options, log_dir, keep):
    try:
        sessions = {}
        if args.baseline:
            sessions['baseline'] = _session(args.baseline, None, None,
                                            options, log_dir)
        sessions['image'] = _session(args.image, args.kernel, args.initrd,
                                     options, log_dir)
        reports = dict(zip(sessions, runner.verify_interleaved(
            list(sessions.values()))))
    except BaseException:
        sys.stderr.write('akanda-slim: logs kept in %s\n' % log_dir)
        raise
    # With --no-checks every boot came up, or an error was raised.
    passed = reports['image']['checks_passed'] is not False
    if args.baseline:
        regressions = compare.regressions(reports['baseline'],
                                          reports['image'])
        reports['regressions'] = regressions
        reports['comparison'] = compare.text(reports['baseline'],
                                             reports['image'])
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        sys.stdout.write('\n')
    else:
        print(summary(reports))
    if not passed:
        sys.stderr.write('akanda-slim: checks failed; logs kept in %s\n'
                         % log_dir)
        return 1
    if not keep:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0


def summary(reports):
    image = reports['image']
    verdict = {True: 'all checks passed', False: 'CHECKS FAILED',
               None: 'booted; no checks run (--no-checks)'}
    lines = ['%s: %s' % (image['image'], verdict[image['checks_passed']])]
    for check in image['checks']:
        lines.append('  %-22s %-7s %s' % (check['name'], check['status'],
                                          check['detail']))
    if 'comparison' in reports:
        lines += ['', reports['comparison']]
    else:
        lines.append('median SSH ready %.1f s, boot finished %.1f s, '
                     'memory used %.1f MiB' % (
                         image['median']['ssh_ready_seconds'],
                         image['median']['boot_finished_seconds'],
                         image['median']['memory_used_kib'] / 1024.0))
        lines += compare.panic_lines('image', image)
    return '\n'.join(lines)
