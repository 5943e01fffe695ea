"""akanda-slim apply: purge the removal set inside the target and verify."""

import argparse

from akanda_slim.commands import plan as plan_command
from akanda_slim.slim import plan_output
from akanda_slim.slim import policy_options
from akanda_slim.slim import purge

HELP = 'purge what a policy removes from a target, then verify the target'


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('not a number: %r' % text) from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError('%r is not between 0 and 86400'
                                         % text)
    return value


def add_arguments(parser):
    plan_command.add_arguments(parser)
    parser.add_argument('--allow-running-system', action='store_true',
                        help='allow --root / (purge packages from the '
                             'machine apply runs on)')
    parser.add_argument('--lock-timeout', type=_seconds,
                        default=purge.DEFAULT_LOCK_TIMEOUT, metavar='SECONDS',
                        help='how long to wait for another apply on the '
                             'same target to end (default %(default)d; 0: '
                             'refuse at once)')


def run(args):
    plan, verification = purge.apply(
        args.root, policy_options.policy_from_args(args),
        allow_running_system=args.allow_running_system,
        lock_timeout=args.lock_timeout)
    plan_output.emit(plan, args.json, verification)
    return 0
