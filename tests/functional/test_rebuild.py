"""Rebuild: a fresh instance of a rebuilt image routes the same traffic.

This is how the orchestrator recovers a lost router: it boots the image
again and pushes the same configuration as soon as the agent answers. The
slim image is built a second time from the same inputs, booted, and
``verify --checks router`` drives its agent (beside test_datasources'
runs): the configuration PUT, the tenant's DHCP lease and DNS answer, SNAT
and the floating IP.
"""

import testtools

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import checks
from tests.functional import images
from tests.functional import leftovers
from tests.functional import test_datasources

SKIP_REASON = images.why_not_runnable()


def rebuilt_router():
    """The router checks on the rebuilt image.

    test_datasources runs them beside its own two.
    """
    return test_datasources.parallel_runs()[test_datasources.REBUILD]


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class RebuildTest(testtools.TestCase):

    def test_rebuilt_image_routes_with_the_same_config(self):
        code, report, stderr, log_dir = rebuilt_router()
        self.assertTrue(report, 'verify printed no report:\n' + stderr[-3000:])
        failed = [(c['name'], c['status'], c['detail'])
                  for c in report['checks'] if c['status'] != checks.PASS]
        self.assertEqual([], failed)
        self.assertEqual([name for name, _, _ in check_sets.SETS['router']],
                         [c['name'] for c in report['checks']])
        self.assertEqual(0, code, stderr[-2000:])
        self.assertEqual({'processes': [], 'netns': [], 'taps': []},
                         leftovers.of_report(report, log_dir))
