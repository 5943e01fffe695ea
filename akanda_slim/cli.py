"""The akanda-slim command line: dispatches to akanda_slim.commands.*."""

import argparse
import importlib
import logging
import pkgutil
import sys

from akanda_slim import commands
from akanda_slim import errors
from akanda_slim import version

LOG = logging.getLogger(__name__)


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__),
                       key=lambda i: i.name):
        yield info.name, importlib.import_module(
            'akanda_slim.commands.' + info.name)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='akanda-slim',
        description='Make the Akanda service VM image small, and prove it '
                    'still works.')
    parser.add_argument('--version', action='version',
                        version='%(prog)s ' + version.version_string())
    parser.add_argument('-v', '--verbose', action='store_true',
                        help='debug logging on stderr')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')
    sub.required = True
    for name, module in _command_modules():
        command = sub.add_parser(name.replace('_', '-'), help=module.HELP,
                                 description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format='akanda-slim: %(message)s', stream=sys.stderr)
    try:
        return args.run(args)
    except errors.SlimError as exc:
        print('akanda-slim: error: %s' % exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print('akanda-slim: interrupted', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
