"""akanda-slim plan: the dry run."""

import json
import sys

from akanda_slim.slim import plan_output
from akanda_slim.slim import policy_options

HELP = 'show what a policy would remove from a target, and why (dry run)'


def add_arguments(parser):
    policy_options.add_target_options(parser)
    parser.add_argument('--json', action='store_true',
                        help='print the plan as JSON (stable schema)')


def emit(plan, as_json, verification=None):
    """Print a plan (and verification) as JSON or as a table."""
    for warning in plan.warnings:
        print('akanda-slim: warning: %s' % warning, file=sys.stderr)
    if as_json:
        data = plan.to_dict()
        if verification is not None:
            data['applied'] = True
            data['verification'] = verification.to_dict()
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write('\n')
    else:
        print(plan_output.plan_text(plan, verification))


def run(args):
    emit(policy_options.read_and_decide(args), args.json)
    return 0
