"""The slim image under Nova's metadata service and NoCloud, and a fresh
instance of the rebuilt image, three runs at once.

The usage runs (test_footprint) boot with the default data source (Nova's
config drive) and run every check. Here two ``akanda-slim verify --checks
boot`` runs on the slim image, one with ``--datasource metadata`` (Nova's
metadata service at 169.254.169.254, served through QEMU's user network),
one with ``--datasource nocloud``, start together with ``verify --checks
router`` on the rebuilt image (test_rebuild). The boot checks must pass in
each, so the runs also show that verify runs side by side on one host (host
ports, taps, namespaces of their own) and leaves nothing behind.
"""

import functools
import json
import os
import sys

import testtools

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import checks
from tests.functional import images
from tests.functional import leftovers

SKIP_REASON = images.why_not_runnable()
DATASOURCES = ('metadata', 'nocloud')
REBUILD = 'rebuild'


def _commands():
    """The runs: name -> verify's arguments.

    The two data sources on the slim image, and the router checks on a fresh
    instance of the rebuilt image (test_rebuild).
    """
    slim, rebuilt = images.slim_image(), images.rebuild_slim_image()
    commands = {name: ['--checks', 'boot', '--datasource', name, slim.image]
                for name in DATASOURCES}
    commands[REBUILD] = ['--checks', 'router', rebuilt.image]
    return commands


@functools.lru_cache(maxsize=None)
def parallel_runs():
    """The runs, started together; name -> (code, report, stderr, log)."""
    commands = _commands()
    log_dirs = {name: os.path.join(images.workdir(), 'verify-' + name)
                for name in commands}
    runs = images.run_side_by_side({
        'verify-' + name: [sys.executable, '-m', 'akanda_slim', 'verify',
                           '--json', '--log-dir', log_dirs[name]] + arguments
        for name, arguments in commands.items()})
    results = {}
    for name, log_dir in log_dirs.items():
        returncode, stdout, stderr = runs['verify-' + name]
        report = json.loads(stdout)['image'] if stdout.strip() else {}
        results[name] = (returncode, report, stderr, log_dir)
    return results


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class DataSourcesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.runs = parallel_runs()

    def assert_every_check_passes(self, name, cloud_init_name):
        code, report, stderr, _ = self.runs[name]
        self.assertTrue(report, 'verify printed no report:\n' + stderr[-3000:])
        self.assertEqual(name, report['datasource'])
        failed = [(c['name'], c['status'], c['detail'])
                  for c in report['checks'] if c['status'] != checks.PASS]
        self.assertEqual([], failed)
        self.assertEqual([n for n, _, _ in check_sets.BOOT],
                         [c['name'] for c in report['checks']])
        detail = [c['detail'] for c in report['checks']
                  if c['name'] == 'datasource'][0]
        self.assertTrue(detail.startswith('DataSource' + cloud_init_name),
                        detail)
        self.assertEqual(0, code, stderr[-2000:])
        return detail

    def test_metadata_service_every_check_passes(self):
        detail = self.assert_every_check_passes('metadata', 'OpenStack')
        self.assertIn('requests to the metadata service', detail)
        log = os.path.join(self.runs['metadata'][1]['log_dir'],
                           'metadata-requests.log')
        with open(log) as requests:
            asked = requests.read()
        # The newest version cloud-init knows, then the EC2 tree.
        for pattern in (r'GET /openstack/[0-9-]+/meta_data\.json ',
                        r'GET /openstack/[0-9-]+/user_data ',
                        r'GET /openstack/[0-9-]+/network_data\.json ',
                        r'GET /latest/meta-data/public-keys/0/openssh-key '):
            self.assertRegex(asked, pattern)

    def test_nocloud_every_check_passes(self):
        self.assert_every_check_passes('nocloud', 'NoCloud')

    def test_parallel_runs_leave_nothing_behind(self):
        for name in self.runs:
            _, report, stderr, log_dir = self.runs[name]
            self.assertTrue(report, stderr[-2000:])
            self.assertTrue(report['host_networks'])
            self.assertEqual({'processes': [], 'netns': [], 'taps': []},
                             leftovers.of_report(report, log_dir))
        networks = [str(self.runs[name][1]['host_networks'])
                    for name in self.runs]
        self.assertEqual(len(networks), len(set(networks)))
