"""Run a host program: the one way akanda_slim runs commands.

``run()`` returns the finished process; a program that is missing raises
``errors.MissingToolError`` (exit 2), one that exits non-zero or times out
raises ``errors.CommandError`` (exit 1), which carries the command and the
tail of its output. Callers never see ``subprocess`` exceptions.
"""

import logging
import shlex
import subprocess

from akanda_slim import errors

LOG = logging.getLogger(__name__)


def run(command, *, input=None, timeout=None, check=True, env=None,
        cwd=None, output=None, merge_stderr=True, binary=False):
    """Run ``command`` (a list) and return a ``subprocess.CompletedProcess``.

    Output is captured as text (stderr merged into stdout unless
    ``merge_stderr`` is false) unless ``output`` is an open file to write it
    to; ``binary`` captures bytes instead. With ``check`` a non-zero exit
    raises ``CommandError``.
    """
    command = [str(part) for part in command]
    LOG.debug('running: %s', shlex.join(command))
    if output is None:
        streams = {'stdout': subprocess.PIPE,
                   'stderr': (subprocess.STDOUT if merge_stderr
                              else subprocess.PIPE)}
    else:
        streams = {'stdout': output, 'stderr': subprocess.STDOUT}
    try:
        result = subprocess.run(
            command, input=input, timeout=timeout, env=env, cwd=cwd,
            text=not binary, errors=None if binary else 'replace',
            stdin=None if input is not None else subprocess.DEVNULL,
            **streams)
    except FileNotFoundError as exc:
        if cwd is None or exc.filename == command[0]:
            raise errors.MissingToolError(
                '%s: program not found' % command[0]) from None
        raise errors.CommandError(command, None, str(exc)) from None
    except PermissionError as exc:
        raise errors.CommandError(command, None, str(exc)) from None
    except subprocess.TimeoutExpired as exc:
        raise errors.CommandError(
            command, None, _text(exc.output),
            reason='timed out after %s s' % timeout) from None
    if check and result.returncode != 0:
        output = _text(result.stdout or '') + _text(result.stderr or '')
        raise errors.CommandError(command, result.returncode, output)
    return result


def _text(data):
    if isinstance(data, bytes):
        return data.decode(errors='replace')
    return data or ''
