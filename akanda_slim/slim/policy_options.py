"""Command-line options shared by plan, apply and why."""

from akanda_slim.debian import target as target_mod
from akanda_slim.slim import policy as policy_mod


def add_target_options(parser):
    parser.add_argument('--root', required=True,
                        help='root directory of the target Debian system')
    parser.add_argument('--policy', default=policy_mod.RECOMMENDS,
                        choices=policy_mod.POLICIES,
                        help='recommends: apt autoremove without '
                             'Recommends/Suggests (default); appliance: '
                             'only what service VM roots need')
    parser.add_argument('--keep', action='append', default=[],
                        metavar='PATTERN',
                        help='keep packages matching this glob (repeatable)')
    parser.add_argument('--remove', action='append', default=[],
                        metavar='PATTERN',
                        help='remove packages matching this glob '
                             '(repeatable)')
    parser.add_argument('--no-boot-critical', action='store_true',
                        help='appliance policy: do not keep the built-in '
                             'boot-critical set')


def policy_from_args(args):
    return policy_mod.Policy(name=args.policy, keep=tuple(args.keep),
                             remove=tuple(args.remove),
                             boot_critical=not args.no_boot_critical)


def read_and_decide(args):
    """Read ``args.root`` and decide with the policy the options name."""
    target = target_mod.read_target(args.root)
    return policy_mod.decide(target, policy_from_args(args))
