"""Run one akanda-slim entry point and report its time and peak memory.

``python -m tests.unit.bounded_run cli|slim_element ARGS...`` runs
``akanda_slim.cli.main(ARGS)`` or
``akanda_slim.dib.slim_element.main(ARGS)`` in this process (stdout
discarded), then writes one JSON line to stderr: the exit code, the
seconds taken and this process's peak RSS in KiB, so a test
measures the run alone and not its own process.
"""

import json
import os
import resource
import sys
import time


def main(argv):
    which, args = argv[0], argv[1:]
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    started = time.monotonic()
    if which == 'cli':
        from akanda_slim import cli
        code = cli.main(args)
    else:
        from akanda_slim.dib import slim_element
        code = slim_element.main(args)
    sys.stderr.write('\n' + json.dumps({
        'code': code, 'seconds': time.monotonic() - started,
        'max_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})
        + '\n')
    return code


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
