"""akanda-slim plan: the dry run."""

from akanda_slim.slim import plan_output
from akanda_slim.slim import policy_options

HELP = 'show what a policy would remove from a target, and why (dry run)'


def add_arguments(parser):
    policy_options.add_target_options(parser)
    parser.add_argument('--json', action='store_true',
                        help='print the plan as JSON (stable schema)')


def run(args):
    plan_output.emit(policy_options.read_and_decide(args), args.json)
    return 0
