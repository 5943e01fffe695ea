"""router_timing's sequence with stand-ins for QEMU, networks and SSH."""

import fixtures
import testtools

from akanda_slim.bootcheck import router_timing
from akanda_slim.bootcheck import runner


class FakeMachine:
    def __init__(self, clock):
        self.started_at = clock[0]
        self.ssh_port = 2222

    def alive(self):
        return True


class FakeNetworks:
    def command(self, side, command):
        return ['ip', 'netns', 'exec', side] + command


class FakeInstance:
    """Instance's stand-in on a clock the test moves."""

    made = []

    def __init__(self, image, kernel, initrd, seed, console, options):
        self.console, self.closed = console, 0
        self.networks = FakeNetworks()
        FakeInstance.made.append(self)

    def start(self):
        self.machine = FakeMachine(FakeInstance.clock)

    def close(self):
        self.closed += 1


class Seed:
    iso, private_key, user = 'seed.iso', 'key', 'akanda'


class RouterRoundTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.workdir = self.useFixture(fixtures.TempDir()).path
        FakeInstance.made, FakeInstance.clock = [], [100.0]
        self.served = []
        self.fail_on = None
        for name, value in (
                ('akanda_slim.bootcheck.router_timing.Instance',
                 FakeInstance),
                ('akanda_slim.bootcheck.router_timing.serve_traffic',
                 self.serve_traffic),
                ('akanda_slim.bootcheck.seed.make_seed',
                 lambda directory: Seed()),
                ('akanda_slim.bootcheck.measure.memory_used_kib',
                 self.memory_used_kib),
                ('time.monotonic', lambda: FakeInstance.clock[0])):
            self.useFixture(fixtures.MonkeyPatch(name, value))

    def serve_traffic(self, instance, workdir, timeout):
        self.served.append(instance)
        if len(self.served) == self.fail_on:
            raise router_timing.RouterTimingError('no lease')
        FakeInstance.clock[0] += 40.0  # booted, configured, routed

    def memory_used_kib(self, ssh):
        self.ssh = ssh
        FakeInstance.clock[0] += 5.0
        return 102400

    def test_ready_memory_and_recovery(self):
        figures = router_timing.router_round(
            'slim.qcow2', 'k', 'i', self.workdir, runner.Options())
        self.assertEqual({'router_ready_seconds': 40.0,
                          'memory_after_config_kib': 102400,
                          'recovery_seconds': 40.0}, figures)
        first, fresh = FakeInstance.made
        self.assertEqual([first, fresh], self.served)
        self.assertTrue(first.console.endswith('console-ready.log'))
        self.assertTrue(fresh.console.endswith('console-recovery.log'))
        # SSH goes where the orchestrator's goes once the config is on.
        self.assertIn('mgmt', self.ssh.prefix)
        self.assertTrue(first.closed and fresh.closed)

    def test_a_fresh_instance_that_never_routes_is_an_error(self):
        self.fail_on = 2
        error = self.assertRaises(
            router_timing.RouterTimingError, router_timing.router_round,
            'slim.qcow2', 'k', 'i', self.workdir, runner.Options())
        self.assertEqual('no lease', str(error))
        self.assertTrue(all(i.closed for i in FakeInstance.made))
