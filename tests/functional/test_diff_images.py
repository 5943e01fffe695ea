"""akanda-slim diff on the real baseline and slim images of this run."""

import json
import subprocess
import sys

import testtools

from tests.functional import images

SKIP_REASON = images.why_not_runnable()


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class DiffImagesTest(testtools.TestCase):

    def test_baseline_root_against_slim_report(self):
        baseline, slim = images.baseline_image(), images.slim_image()
        result = subprocess.run(
            [sys.executable, '-m', 'akanda_slim', 'diff', '--json',
             baseline.dpkg_root, slim.report_json],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(0, result.returncode, result.stderr)
        data = json.loads(result.stdout)
        changes = {c['package']: c for c in data['changes']}
        removed = set(baseline.packages) - set(slim.packages)
        added = set(slim.packages) - set(baseline.packages)
        self.assertEqual(removed, {n for n, c in changes.items()
                                   if c['change'] == 'removed'})
        self.assertEqual(added, {n for n, c in changes.items()
                                 if c['change'] == 'added'})
        self.assertEqual(len(slim.packages), data['totals']['b']['packages'])
        self.assertEqual(slim.installed_size_kib,
                         data['totals']['b']['installed_size_kib'])
        deltas = [abs(c['delta_kib']) for c in data['changes']]
        self.assertEqual(sorted(deltas, reverse=True), deltas)
        print('baseline -> slim: %d removed, %d added, %+d KiB; biggest: %s'
              % (len(removed), len(added), data['totals']['delta_kib'],
                 data['changes'][0]['package']))
