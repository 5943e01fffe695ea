"""The smallest guest RAM at which an image passes every router check.

One boot per size, running every check, from the largest size down; the
sweep of an image ends at its first failure (the smaller sizes are then
"not run"). Each failure is classified from the guest's kernel log: an
out-of-memory kill (with its victims), a kernel panic (with its reason),
or neither ("timeout": the checks or the boot ran out of time). Under CPU
contention checks time out at sizes that pass on an idle machine, so run
it on an idle one.
"""

import glob
import logging
import os
import re
import tempfile
import time

from akanda_slim.bootcheck import checks as checks_mod
from akanda_slim.bootcheck import runner
from akanda_slim import errors
from akanda_slim import termination

LOG = logging.getLogger(__name__)

PASS, FAIL, NOT_RUN = 'pass', 'fail', 'not run'
BOOT_TIMEOUT = 300

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


def console_text(workdir):
    """The serial console logs of the boots that count, joined.

    A boot that panicked and was booted again left console-N-panic.log:
    only the boot that counts is classified.
    """
    text = []
    for path in sorted(glob.glob(os.path.join(workdir, 'console-*.log'))):
        if path.endswith('-panic.log'):
            continue
        with open(path, errors='replace') as log:
            text.append(log.read())
    return '\n'.join(text)


def reason(result):
    """One line saying why a failed size failed."""
    kind = {'oom': 'out of memory', 'panic': 'kernel panic',
            'timeout': 'timeout'}[result['failure']]
    detail = result.get('failure_detail')
    checks = ' '.join(result['failed_checks'])
    return '%s%s; failed: %s' % (kind, ' (%s)' % detail if detail else '',
                                 checks)


def check_boot(image, memory_mib, log_dir, accel='tcg'):
    """One boot at ``memory_mib`` running every check; a result dict.

    A termination signal (``termination.Interrupted``) goes through; any
    other failure of the boot is a failed size.
    """
    workdir = tempfile.mkdtemp(prefix='mem%d-' % memory_mib, dir=log_dir)
    options = runner.Options(memory_mib=memory_mib, accel=accel,
                             boot_timeout=BOOT_TIMEOUT)
    session = runner.Session(image, workdir, options=options)
    result = {'memory_mib': memory_mib, 'log_dir': workdir}
    try:
        session.boot()
        report = session.report()
        failed = [c['name'] for c in report['checks']
                  if c['status'] != checks_mod.PASS]
        result.update(passed=not failed, failed_checks=failed)
    except termination.Interrupted:
        raise
    except errors.SlimError as failure:
        result.update(passed=False, failed_checks=['boot'],
                      error=str(failure))
    if not result['passed']:
        kind, detail = classify(console_text(workdir))
        result.update(failure=kind, failure_detail=detail)
    return result


def sweep(image, sizes, log_dir, deadline=None, clock=time.monotonic,
          boot=check_boot):
    """Boot ``image`` at each of ``sizes`` (MiB), largest first.

    Returns one record per size: ``memory_mib``, ``status`` (pass, fail,
    not run), ``reason`` and ``log_dir`` (None when not run). Sizes below
    a failure are not run; no boot starts once ``clock()`` has reached
    ``deadline``. ``boot(image, memory_mib, log_dir)`` makes one boot.
    """
    records = []
    why_not = None
    for memory in sorted(set(sizes), reverse=True):
        if why_not is None and deadline is not None and clock() >= deadline:
            why_not = 'time budget spent'
        if why_not:
            records.append({'memory_mib': memory, 'status': NOT_RUN,
                            'reason': why_not, 'log_dir': None})
            continue
        LOG.info('RAM sweep: %s at %d MiB', image, memory)
        result = boot(image, memory, log_dir)
        passed = result['passed']
        records.append({'memory_mib': memory,
                        'status': PASS if passed else FAIL,
                        'reason': '' if passed else reason(result),
                        'log_dir': result.get('log_dir')})
        if not passed:
            why_not = 'a larger size failed'
    return records


def smallest_passing(records):
    """The smallest size passing with every larger size passing, or None."""
    smallest = None
    for record in sorted(records, key=lambda r: -r['memory_mib']):
        if record['status'] != PASS:
            break
        smallest = record['memory_mib']
    return smallest
