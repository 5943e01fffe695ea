"""verify under SIGTERM: QEMU, its taps and namespaces go with it.

Boot timings are the benchmark's (``akanda-slim benchmark``); the router
checks run in test_footprint's usage runs.
"""

import os
import signal
import subprocess
import sys
import time

import testtools

from tests.functional import images
from tests.functional import leftovers

SKIP_REASON = images.why_not_runnable()


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class InterruptedVerifyTest(testtools.TestCase):

    def test_sigterm_during_boot_leaves_nothing(self):
        slim = images.slim_image()
        log_dir = os.path.join(images.workdir(), 'verify-sigterm')
        before = leftovers.host_networks()
        process = subprocess.Popen(
            [sys.executable, '-m', 'akanda_slim', 'verify', slim.image,
             '--log-dir', log_dir],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        if not leftovers.wait_started(log_dir, before):
            process.kill()
            self.fail('verify did not start QEMU and its namespaces')
        time.sleep(2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        self.assertNotEqual(0, process.returncode)
        self.assertIn('logs kept in', stderr)
        self.assertEqual([], leftovers.processes_naming(log_dir))
        self.assertEqual({'netns': [], 'taps': []},
                         leftovers.new_since(before))
