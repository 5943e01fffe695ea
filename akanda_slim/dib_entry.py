"""Entry point glue for the modules the slim element runs with python -m.

The same error boundary as the command line (``error_boundary``): a
``SlimError`` is one line and its exit code, any other failure one line
``internal error: ...`` and exit 1 (its traceback with
``DIB_DEBUG_TRACE`` > 0), Ctrl-C exit 130. SIGTERM and SIGHUP unwind as
``termination.Interrupted`` (one line, exit 128 + the signal), so the
``with`` blocks on the way out undo their work.
"""

import logging
import os
import sys

from akanda_slim import error_boundary
from akanda_slim import termination


def _trace():
    try:
        return int(os.environ.get('DIB_DEBUG_TRACE') or 0) > 0
    except ValueError:
        return False


def run(function, *args):
    """Call ``function(*args)`` with logging on stderr; returns an exit code.

    A ``None`` result is exit 0, an integer its own exit code.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='akanda-slim: %(message)s')

    def call():
        with termination.handled():
            return function(*args) or 0
    return error_boundary.guarded(call, verbose=_trace())


def main(usage, function, counts, argv=None):
    """Run ``function(*argv)`` through ``run``, or print ``usage`` (exit 2).

    ``argv`` (default: the command line) must have one of the lengths in
    ``counts``; ``usage`` follows ``usage: python -m``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if len(argv) not in counts:
        print('usage: python -m %s' % usage, file=sys.stderr)
        return 2
    return run(function, *argv)
