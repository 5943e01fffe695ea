"""The one error boundary of every command and element hook.

Every failure ends as one line on stderr: ``SlimError`` ->
``akanda-slim: error: ...`` and its exit code (2 for bad input, 1
otherwise); any other exception -> ``akanda-slim: error: internal error:
...`` and exit 1, with the traceback only when asked; a closed stdout
(``plan | head -1``) ends quietly; Ctrl-C exits 130.
"""

import os
import sys
import traceback

from akanda_slim import errors


def _quiet_broken_pipe():
    """stdout's reader went away: exit without a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a real file (tests): nothing left to flush
    return 141


def guarded(call, verbose=False):
    """Run ``call()`` and return its exit code: the one error boundary.

    Used by ``cli.main`` and by the modules the element hooks run
    (``dib_entry``): every failure becomes one line on stderr.
    """
    try:
        code = call()
        sys.stdout.flush()
        return code
    except errors.SlimError as exc:
        print('akanda-slim: error: %s' % exc, file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print('akanda-slim: interrupted', file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: B902 - the boundary: one line, exit 1
        if verbose:
            traceback.print_exc(file=sys.stderr)
        print('akanda-slim: error: internal error: %s: %s'
              % (type(exc).__name__, exc), file=sys.stderr)
        return 1
