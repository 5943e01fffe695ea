"""akanda-slim apply: purge the removal set inside the target and verify."""

from akanda_slim.commands import plan as plan_command
from akanda_slim import options
from akanda_slim import purge

HELP = 'purge what a policy removes from a target, then verify the target'


def add_arguments(parser):
    plan_command.add_arguments(parser)


def run(args):
    plan, verification = purge.apply(args.root,
                                     options.policy_from_args(args))
    plan_command.emit(plan, args.json, verification)
    return 0
