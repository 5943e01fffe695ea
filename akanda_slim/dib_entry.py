"""Entry point glue for the modules the slim element runs with python -m."""

import logging
import sys

from akanda_slim import errors


def run(function, *args):
    """Call ``function(*args)`` with logging on stderr; returns an exit code.

    A SlimError becomes a one-line error and its class's exit code.
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='akanda-slim: %(message)s')
    try:
        function(*args)
    except errors.SlimError as exc:
        print('akanda-slim: error: %s' % exc, file=sys.stderr)
        return exc.exit_code
    return 0
