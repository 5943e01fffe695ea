"""The akanda-slim command line: the one error boundary of every command.

Dispatches to akanda_slim.commands.*, importing only the chosen command
(see akanda_slim.commands). Every failure ends as one line on stderr:
``SlimError`` -> ``akanda-slim: error: ...`` and its exit code (2 for bad
input, 1 otherwise); any other exception -> ``akanda-slim: error:
internal error: ...`` and exit 1, with the traceback only under ``-v``;
a closed stdout (``plan | head -1``) ends quietly; Ctrl-C exits 130.
"""

import argparse
import logging
import os
import sys
import traceback

from akanda_slim import commands
from akanda_slim import errors

GLOBAL_FLAGS = ('-v', '--verbose')


def chosen_command(argv, names):
    """The command named on the command line, or None (help, typo)."""
    for arg in argv:
        if arg in names:
            return arg
        if arg not in GLOBAL_FLAGS:
            return None
    return None


class _VersionAction(argparse.Action):
    """--version, reading the version (pbr, slow) only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):
        from akanda_slim import version
        sys.stdout.write('akanda-slim %s\n' % version.version_string())
        parser.exit()


def build_parser(argv=()):
    """The parser; only the command named in ``argv`` is imported."""
    parser = argparse.ArgumentParser(
        prog='akanda-slim',
        description='Make the Akanda service VM image small, and prove it '
                    'still works.')
    parser.add_argument('--version', action=_VersionAction, nargs=0,
                        help="show program's version number and exit")
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='debug logging on stderr')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    names = commands.names()
    chosen = chosen_command(argv, names)
    for name in sorted(names):
        if name != chosen:
            sub.add_parser(name, help=commands.help_text(names[name])
                           if chosen is None else None)
            continue
        module = commands.load(names[name])
        command = sub.add_parser(name, help=module.HELP,
                                 description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


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

    Used by ``main`` and by the modules the slim element runs
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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = any(arg in GLOBAL_FLAGS for arg in argv)

    def call():
        args = build_parser(argv).parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format='akanda-slim: %(message)s', stream=sys.stderr)
        return args.run(args)
    return guarded(call, verbose)


if __name__ == '__main__':
    sys.exit(main())
