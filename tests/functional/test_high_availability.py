"""Two slim routers as an HA pair: the MASTER killed, the BACKUP takes over.

``akanda-slim failover`` boots two instances of the slim image (at its
default memory) on the same networks, configures both through their
agents as an HA pair (keepalived VRRP, conntrackd), holds a tenant's TCP
connection through NAT and kills the MASTER's QEMU. The failover must
happen: the BACKUP holds the router's addresses and new connections pass.
The times and whether the held connection survived are reported (figures,
not assertions). Nothing may be left behind, after the run or after SIGTERM.
"""

import functools
import json
import os
import signal
import subprocess
import sys

import testtools

from akanda_slim.commands import failover as failover_command
from tests.functional import images
from tests.functional import leftovers

SKIP_REASON = images.why_not_runnable()
# Long enough for echoes well after the failover, short for the suite.
HOLD_SECONDS = 30


@functools.lru_cache(maxsize=None)
def failover():
    log_dir = os.path.join(images.workdir(), 'failover')
    result = subprocess.run(
        [sys.executable, '-m', 'akanda_slim', 'failover', '--json',
         '--hold', str(HOLD_SECONDS), '--log-dir', log_dir,
         images.slim_image().image],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.returncode, report, result.stderr, log_dir


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class FailoverTest(testtools.TestCase):

    def test_backup_takes_over(self):
        code, report, stderr, log_dir = failover()
        self.assertEqual(0, code, stderr[-3000:])
        self.assertEqual(failover_command.MEMORY_MIB, report['memory_mib'])
        self.assertLess(0, report['backup_holds_addresses_seconds'])
        self.assertLess(0, report['new_connections_seconds'])
        held = report['held_connection']
        self.assertGreater(held['echoes'], 0)
        print('failover at %d MiB: BACKUP holds the addresses after %.1f '
              's, new connections after %.1f s; held connection %s '
              '(largest gap %s s, broken: %s)' % (
                  report['memory_mib'],
                  report['backup_holds_addresses_seconds'],
                  report['new_connections_seconds'],
                  'survived' if held['survived'] else 'broke',
                  held['largest_gap_seconds'], held['broken']))

    def test_nothing_left_behind(self):
        _code, report, stderr, log_dir = failover()
        self.assertTrue(report, stderr[-2000:])
        self.assertEqual({'processes': [], 'netns': [], 'taps': []},
                         leftovers.of_report(report, log_dir))


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class InterruptedFailoverTest(testtools.TestCase):

    def test_sigterm_leaves_nothing(self):
        log_dir = os.path.join(images.workdir(), 'failover-sigterm')
        before = leftovers.host_networks()
        process = subprocess.Popen(
            [sys.executable, '-m', 'akanda_slim', 'failover', '--log-dir',
             log_dir, images.slim_image().image],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        if not leftovers.wait_started(log_dir, before, processes=2):
            process.kill()
            self.fail('failover did not start both QEMUs and its networks')
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        self.assertEqual(130, process.returncode, stderr[-2000:])
        self.assertEqual([], leftovers.processes_naming(log_dir))
        self.assertEqual({'netns': [], 'taps': []},
                         leftovers.new_since(before))
