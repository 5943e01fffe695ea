"""Print 'N passed, N failed[, N skipped]' from the stestr repository.

Reads every run stored in .stestr (subunit v2), so the unit and the
functional runs of one CI job are counted together. Exits non-zero when
no test ran or any failed.
"""

import os
import sys

import subunit
import testtools

STESTR_DIR = '.stestr'


def _count(path, counts):
    with open(path, 'rb') as stream:
        case = subunit.ByteStreamToStreamResult(stream)
        result = testtools.StreamToDict(lambda test: _record(test, counts))
        result.startTestRun()
        case.run(result)
        result.stopTestRun()


def _record(test, counts):
    status = test['status']
    if status in ('success', 'xfail'):
        counts['passed'] += 1
    elif status == 'skip':
        counts['skipped'] += 1
    elif status in ('fail', 'uxsuccess'):
        counts['failed'] += 1


def main():
    counts = {'passed': 0, 'failed': 0, 'skipped': 0}
    runs = sorted(n for n in os.listdir(STESTR_DIR) if n.isdigit()) \
        if os.path.isdir(STESTR_DIR) else []
    for run in runs:
        _count(os.path.join(STESTR_DIR, run), counts)
    line = '%(passed)d passed, %(failed)d failed' % counts
    if counts['skipped']:
        line += ', %(skipped)d skipped' % counts
    print(line)
    if counts['passed'] + counts['failed'] == 0:
        print('ci: no test ran', file=sys.stderr)
        return 1
    return 1 if counts['failed'] else 0


if __name__ == '__main__':
    sys.exit(main())
