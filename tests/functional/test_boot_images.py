"""Boot the real baseline and slim images in turn under QEMU: the timings.

One ``akanda-slim verify --no-checks SLIM --baseline BASELINE`` run serves
every test here: it boots each image AKANDA_SLIM_BOOTS times (default 5,
issue 10's median of five), in turn with the other image, and writes the
comparison table to boot-comparison.txt in the image work directory. The
router checks (the reboot included) run once per image, in
test_footprint's usage runs; the minimum-RAM sweep is the benchmark's
(tools/benchmark_footprint.py).
The boot-time target (slim at most 0.70 x baseline) is reported, not
asserted: timings belong in reports.
"""

import functools
import json
import os
import signal
import subprocess
import sys
import time

import testtools

from tests.functional import images
from tests.functional import leftovers

SKIP_REASON = images.why_not_runnable()
BOOTS = int(os.environ.get('AKANDA_SLIM_BOOTS', '5'))


def _log_dir():
    return os.path.join(images.workdir(), 'verify-logs')


@functools.lru_cache(maxsize=None)
def verified():
    """Run verify once on both images; (returncode, reports, stderr)."""
    baseline, slim = images.baseline_image(), images.slim_image()
    result = subprocess.run(
        [sys.executable, '-m', 'akanda_slim', 'verify', '--json',
         '--no-checks', '--boots', str(BOOTS),
         '--baseline', baseline.image, slim.image,
         '--log-dir', _log_dir()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reports = json.loads(result.stdout) if result.stdout.strip() else {}
    if reports:
        with open(os.path.join(images.workdir(), 'boot-comparison.txt'),
                  'w') as out:
            out.write(reports['comparison'] + '\n')
    return result.returncode, reports, result.stderr


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class BootImagesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.code, self.reports, self.stderr = verified()
        self.assertTrue(self.reports, 'verify printed no report:\n'
                        + self.stderr[-3000:])

    def test_timing_boots_pass_and_run_no_checks(self):
        self.assertEqual(0, self.code, self.stderr[-2000:])
        for side in ('baseline', 'image'):
            self.assertIsNone(self.reports[side]['checks_passed'])
            self.assertEqual([], self.reports[side]['checks'])
            self.assertEqual('configdrive', self.reports[side]['datasource'])

    def test_figures_measured_on_every_boot(self):
        for side in ('baseline', 'image'):
            report = self.reports[side]
            self.assertEqual(BOOTS, len(report['boots']))
            for boot in report['boots']:
                self.assertGreater(boot['boot_finished_seconds'],
                                   boot['ssh_ready_seconds'] - 0.01)
                self.assertGreater(boot['memory_used_kib'], 0)
            self.assertEqual(os.path.getsize(report['image']),
                             report['qcow2_bytes'])
        slim_packages = self.reports['image']['surface'][
            'installed_packages']['items']
        self.assertEqual(sorted(images.slim_image().packages), slim_packages)
        ratio = (self.reports['image']['median']['boot_finished_seconds']
                 / self.reports['baseline']['median']['boot_finished_seconds'])
        print(self.reports['comparison'])
        for side in ('baseline', 'image'):
            print('%s boots (SSH ready / boot finished, s): %s' % (
                side, ', '.join('%.1f/%.1f' % (b['ssh_ready_seconds'],
                                               b['boot_finished_seconds'])
                                for b in self.reports[side]['boots'])))
        print('boot finished, slim/baseline: %.2f (target 0.70: %s)'
              % (ratio, 'met' if ratio <= 0.7 else 'MISSED'))

    def test_nothing_left_behind(self):
        for side in ('baseline', 'image'):
            self.assertEqual({'processes': [], 'netns': [], 'taps': []},
                             leftovers.of_report(self.reports[side],
                                                 _log_dir()))


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

        def ours():
            now = leftovers.host_networks()
            return {key: sorted(set(now[key]) - set(before[key]))
                    for key in now}

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            found = ours()
            if leftovers.processes_naming(log_dir) and found['netns']:
                break
            time.sleep(0.5)
        else:
            process.kill()
            self.fail('verify did not start QEMU and its namespaces')
        time.sleep(2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
        self.assertNotEqual(0, process.returncode)
        self.assertIn('logs kept in', stderr)
        self.assertEqual([], leftovers.processes_naming(log_dir))
        self.assertEqual({'netns': [], 'taps': []}, ours())
