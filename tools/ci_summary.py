"""Print 'N passed, N failed[, N skipped]' from the stestr repository.

Reads every run stored in .stestr, so the unit and the
functional runs of one CI job are counted together. Exits non-zero when
no test ran or any failed.
"""

import os
import sys

import subunit
import testtools

STESTR_DIR = '.stestr'


def _count(path, counts):
    """Add one stored run (stestr keeps subunit v1) to ``counts``."""
    result = testtools.TestResult()
    with open(path, 'rb') as stream:
        subunit.ProtocolTestCase(stream).run(result)
    skipped = sum(len(tests) for tests in result.skip_reasons.values())
    failed = (len(result.failures) + len(result.errors)
              + len(result.unexpectedSuccesses))
    counts['passed'] += result.testsRun - failed - skipped
    counts['failed'] += failed
    counts['skipped'] += skipped


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
