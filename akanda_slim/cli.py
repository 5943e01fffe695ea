"""The akanda-slim command line.

Dispatches to akanda_slim.commands.*, importing only the chosen command
(see akanda_slim.commands), inside the one error boundary
(``error_boundary.guarded``; its traceback only under ``-v``).
"""

import argparse
import logging
import sys

from akanda_slim import commands
from akanda_slim import error_boundary

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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = any(arg in GLOBAL_FLAGS for arg in argv)

    def call():
        args = build_parser(argv).parse_args(argv)
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format='akanda-slim: %(message)s', stream=sys.stderr)
        return args.run(args)
    return error_boundary.guarded(call, verbose)


if __name__ == '__main__':
    sys.exit(main())
