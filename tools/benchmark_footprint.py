"""Benchmark: boot times, memory and the smallest guest RAM of two images.

Targets (issue 10): slim boot finished <= 0.70x the baseline (median of
five boots, the images booted in turn), memory used after boot <= 0.80x,
every check passing at 96 MiB and the slim minimum at most half the
baseline's. Not a test: it prints a table and saves JSON. Run it as root
on an idle machine (under CPU contention checks time out at RAM sizes
that pass when idle; every failure below is classified from the guest's
kernel log: out-of-memory kill, kernel panic, or timeout).

    python tools/benchmark_footprint.py BASELINE.qcow2 SLIM.qcow2 \
        [--boots 5] [--start 256] [--stop 64] [--step 16] \
        [--baseline-start MIB] [--slim-start MIB] [--budget-minutes N] \
        [--json footprint.json] [--skip-timing] [--skip-sweep] \
        [--sweep-only baseline|slim]

The sweep starts at ``--start`` MiB (or the image's own start) and goes
down in ``--step`` MiB steps for each image until a boot fails its checks
(or ``--stop``): one boot running every check per size. With
``--budget-minutes`` no sweep boot starts once that many minutes have
passed since the benchmark began; the table then says where each sweep
was stopped, and the sizes below it were not measured.
"""

import argparse
import glob
import json
import logging
import os
import re
import sys
import tempfile
import time

try:
    from akanda_slim.bootcheck import checks as checks_mod
    from akanda_slim.bootcheck import runner
    from akanda_slim import errors
    from akanda_slim import termination
except ImportError as missing:  # not akanda-slim's Python
    sys.exit('%s: %s; run it as ./tools/akanda-slim-venv python %s'
             % (os.path.basename(sys.argv[0]), missing, ' '.join(sys.argv)))

OOM = re.compile(r'Out of memory: Killed process \d+ \((?P<name>[^)]+)\)'
                 r'|oom-kill:.*task=(?P<task>[^,\s]+)')
PANIC = re.compile(r'Kernel panic - not syncing: (?P<why>.*)')


def classify(console_text):
    """('oom', victims) / ('panic', reason) / ('timeout', '') from a log."""
    victims = sorted({m.group('name') or m.group('task')
                      for m in OOM.finditer(console_text)})
    panic = PANIC.search(console_text)
    if panic:
        return 'panic', panic.group(1).strip()
    if victims:
        return 'oom', ' '.join(victims)
    return 'timeout', ''


def _console_text(workdir):
    # A boot that panicked and was booted again left console-N-panic.log:
    # only the boot that counts is classified.
    text = []
    for path in sorted(glob.glob(os.path.join(workdir, 'console-*.log'))):
        if path.endswith('-panic.log'):
            continue
        with open(path, errors='replace') as log:
            text.append(log.read())
    return '\n'.join(text)


def check_boot(image, memory_mib, log_dir):
    """One boot at ``memory_mib`` running every check; a result dict."""
    workdir = tempfile.mkdtemp(prefix='mem%d-' % memory_mib, dir=log_dir)
    options = runner.Options(memory_mib=memory_mib, boot_timeout=300)
    session = runner.Session(image, workdir, options=options)
    result = {'memory_mib': memory_mib, 'log_dir': workdir}
    try:
        session.boot()
        report = session.report()
        failed = [c['name'] for c in report['checks']
                  if c['status'] != checks_mod.PASS]
        result.update(passed=not failed, failed_checks=failed,
                      boot_finished_seconds=report['median'][
                          'boot_finished_seconds'],
                      memory_used_kib=report['median']['memory_used_kib'])
    except termination.Interrupted:
        raise
    except errors.SlimError as failure:
        result.update(passed=False, failed_checks=['boot'],
                      error=str(failure))
    if not result['passed']:
        kind, detail = classify(_console_text(workdir))
        result.update(failure=kind, failure_detail=detail)
    return result


def sweep(image, start, stop, step, log_dir, deadline=None,
          clock=time.monotonic):
    """Check boots from ``start`` MiB down; the smallest passing size.

    No boot starts after ``deadline`` (a ``clock`` value): the result then
    names the size it stopped at (``stopped_at_mib``).
    """
    results = []
    smallest = None
    memory = start
    while memory >= stop:
        if deadline is not None and clock() >= deadline:
            logging.info('%s: time budget spent, not measured at %d MiB '
                         'and below', image, memory)
            return {'smallest_passing_mib': smallest, 'boots': results,
                    'stopped_at_mib': memory}
        logging.info('%s at %d MiB', image, memory)
        result = check_boot(image, memory, log_dir)
        results.append(result)
        if not result['passed']:
            break
        smallest = memory
        memory -= step
    return {'smallest_passing_mib': smallest, 'boots': results}


def timing(baseline, slim, boots, log_dir):
    sessions = [runner.Session(image, tempfile.mkdtemp(dir=log_dir),
                               options=runner.Options(boots=boots))
                for image in (baseline, slim)]
    return runner.verify_interleaved(sessions)


def _smallest(swept):
    if swept is None:
        return 'not swept'
    if swept['smallest_passing_mib'] is None:
        return 'none passed'
    return '%d MiB' % swept['smallest_passing_mib']


def table(result):
    lines = ['%-34s %12s %12s %8s' % ('figure', 'baseline', 'slim',
                                      'ratio')]
    if 'timing' in result:
        base, slim = result['timing']
        for label, key, scale, unit in (
                ('boot finished (median)', 'boot_finished_seconds', 1,
                 's'),
                ('SSH ready (median)', 'ssh_ready_seconds', 1, 's'),
                ('memory used after boot (median)', 'memory_used_kib',
                 1024.0, 'MiB')):
            b = base['median'][key] / scale
            s = slim['median'][key] / scale
            lines.append('%-34s %10.1f %s %10.1f %s %8.2f' % (
                label, b, unit, s, unit, s / b if b else 0))
        lines.append('%-34s %10.1f MiB %10.1f MiB %8.2f' % (
            'qcow2', base['qcow2_bytes'] / 2.0 ** 20,
            slim['qcow2_bytes'] / 2.0 ** 20,
            slim['qcow2_bytes'] / float(base['qcow2_bytes'])))
    if 'sweep' in result:
        swept = result['sweep']
        lines.append('%-34s %12s %12s' % (
            'smallest RAM passing every check',
            *(_smallest(swept.get(name)) for name in ('baseline', 'slim'))))
        for name, data in sorted(swept.items()):
            if data.get('stopped_at_mib'):
                lines.append('  %s: sweep stopped by the time budget, not '
                             'measured at %d MiB and below' % (
                                 name, data['stopped_at_mib']))
            for boot in data['boots']:
                if not boot['passed']:
                    lines.append('  %s at %d MiB: %s (%s) failed: %s' % (
                        name, boot['memory_mib'], boot['failure'],
                        boot.get('failure_detail') or '-',
                        ' '.join(boot['failed_checks'])))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('baseline')
    parser.add_argument('slim')
    parser.add_argument('--boots', type=int, default=5)
    parser.add_argument('--start', type=int, default=256)
    parser.add_argument('--stop', type=int, default=64)
    parser.add_argument('--step', type=int, default=16)
    parser.add_argument('--baseline-start', type=int, default=None,
                        help='first sweep size of the baseline '
                        '(default: --start)')
    parser.add_argument('--slim-start', type=int, default=None,
                        help='first sweep size of the slim image '
                        '(default: --start)')
    parser.add_argument('--sweep-only', choices=('baseline', 'slim'),
                        default=None,
                        help='sweep this image only; the other is not '
                        'booted and the table says "not swept"')
    parser.add_argument('--budget-minutes', type=float, default=None,
                        help='start no sweep boot after this many minutes')
    parser.add_argument('--json', default='footprint.json')
    parser.add_argument('--log-dir', default=None)
    parser.add_argument('--skip-timing', action='store_true')
    parser.add_argument('--skip-sweep', action='store_true')
    args = parser.parse_args(argv)
    began = time.monotonic()
    deadline = (began + args.budget_minutes * 60
                if args.budget_minutes is not None else None)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='benchmark: %(message)s')
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    log_dir = args.log_dir or tempfile.mkdtemp(prefix='footprint-',
                                               dir='/var/tmp')
    result = {'log_dir': log_dir}
    if not args.skip_timing:
        result['timing'] = timing(args.baseline, args.slim, args.boots,
                                  log_dir)
    if not args.skip_sweep:
        starts = {'baseline': args.baseline_start or args.start,
                  'slim': args.slim_start or args.start}
        # The slim image first: its minimum is the target a time budget
        # must not cut.
        result['sweep'] = {
            name: sweep(image, starts[name], args.stop, args.step, log_dir,
                        deadline)
            for name, image in (('slim', args.slim),
                                ('baseline', args.baseline))
            if args.sweep_only in (None, name)}
    with open(args.json, 'w') as out:
        json.dump(result, out, indent=2)
    print(table(result))
    print('JSON: %s; logs: %s' % (args.json, log_dir))
    return 0


def guarded_main(argv=None):
    """main, with SIGTERM/SIGINT/SIGHUP unwinding QEMU and its networks."""
    try:
        with termination.handled():
            return main(argv)
    except termination.Interrupted as exc:
        print('benchmark: %s' % exc, file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(guarded_main())
