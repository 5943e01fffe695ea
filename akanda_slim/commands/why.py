"""akanda-slim why: the chain of hard dependencies that keeps a package."""

from akanda_slim import errors
from akanda_slim.slim import plan_output
from akanda_slim.slim import policy_options

HELP = 'explain why a package is kept (or removed) under a policy'


def add_arguments(parser):
    parser.add_argument('package', help='installed package name')
    policy_options.add_target_options(parser)


def run(args):
    plan = policy_options.read_and_decide(args)
    text = plan_output.why_text(plan, args.package)
    if text is None:
        raise errors.UsageError('%s is not installed in %s'
                                % (args.package, args.root))
    print(text)
    return 0
