"""What the router reads, on the real images: akanda-slim usage.

Two boots, side by side, serve every test here: each image's usage run at
the default 1024 MiB, which runs every check (the agent driven through its
API, the traffic, the reboot) with the instance data on Nova's config
drive. These are the check runs of the baseline and slim images. The 96 MiB
target and the minimum-RAM sweep are measured by ``akanda-slim benchmark``,
not here: a test must not fail on a figure it reports. The reports are kept
in the image work directory as usage-slim.json and usage-baseline.json, and
the picture is drawn with their never-read bytes shaded.
"""

import functools
import json
import os
import subprocess
import sys

import testtools

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import checks
from tests.functional import images

SKIP_REASON = images.why_not_runnable()
WHICH = ('slim', 'baseline')


def _usage_command(which):
    image = images.slim_image() if which == 'slim' else images.baseline_image()
    return [sys.executable, '-m', 'akanda_slim', 'usage', '--json',
            '--log-dir', os.path.join(images.workdir(), 'usage-logs-' + which),
            image.image]


@functools.lru_cache(maxsize=None)
def usage_runs():
    """Both images' usage runs, side by side.

    Each guest keeps one of the host's cores busy (the agent's work is one
    command at a time). Returns which -> (returncode, report, stderr).
    """
    runs = images.run_side_by_side(
        {'usage-' + which: _usage_command(which) for which in WHICH})
    results = {}
    for which in WHICH:
        returncode, stdout, stderr = runs['usage-' + which]
        report = json.loads(stdout) if stdout.strip() else {}
        if report:
            with open(os.path.join(images.workdir(),
                                   'usage-%s.json' % which), 'w') as out:
                json.dump(report, out, indent=2)
        results[which] = (returncode, report, stderr)
    return results


def usage(which):
    return usage_runs()[which]


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class UsageTest(testtools.TestCase):

    def _usage(self, which):
        returncode, report, stderr = usage(which)
        self.assertTrue(report, stderr[-3000:])
        return returncode, report, stderr

    def test_usage_ran_every_check(self):
        for which in ('slim', 'baseline'):
            _rc, report, stderr = self._usage(which)
            statuses = {c['name']: c['status'] for c in report['checks']}
            self.assertIn('reload', statuses, stderr[-2000:])
            self.assertEqual('pass', statuses['login'], stderr[-2000:])

    def assert_every_check_passes(self, which):
        returncode, report, stderr = self._usage(which)
        failed = [(c['name'], c['status'], c['detail'])
                  for c in report['checks'] if c['status'] != checks.PASS]
        self.assertEqual([], failed, stderr[-2000:])
        self.assertEqual([name for name, _, _ in check_sets.DEFAULT],
                         [c['name'] for c in report['checks']])
        self.assertEqual(0, returncode, stderr[-2000:])
        return report

    def test_baseline_passes_every_check(self):
        self.assert_every_check_passes('baseline')

    def test_slim_passes_every_check_on_the_config_drive(self):
        report = self.assert_every_check_passes('slim')
        detail = [c['detail'] for c in report['checks']
                  if c['name'] == 'datasource']
        self.assertTrue(detail[0].startswith('DataSourceConfigDrive'),
                        detail)
        print('usage panics (booted again): %s' % report['panics'])

    def test_no_check_the_baseline_passes_fails_on_slim(self):
        _rc, base, _err = self._usage('baseline')
        _rc, slim, stderr = self._usage('slim')
        slim_status = {c['name']: c['status'] for c in slim['checks']}
        regressions = [c['name'] for c in base['checks']
                       if c['status'] == 'pass'
                       and slim_status.get(c['name']) != 'pass']
        self.assertEqual([], regressions, stderr[-2000:])

    def test_reads_are_seen_and_attributed(self):
        for which in ('slim', 'baseline'):
            _rc, report, _err = self._usage(which)
            packages = {p['package']: p for p in report['packages']}
            # The guest ran systemd, sshd and cloud-init: read, and the
            # sums add up.
            for name in ('systemd', 'openssh-server', 'cloud-init',
                         'libc6'):
                self.assertGreater(packages[name]['files_read'], 0,
                                   (which, name))
            self.assertEqual(report['total_kib'],
                             report['read_kib'] + report['never_read_kib'])
            self.assertGreater(report['never_read_kib'], 0)
            self.assertLess(report['read_kib'], report['total_kib'])
            for entry in report['packages']:
                self.assertLessEqual(entry['files_read'], entry['files'])
                self.assertLessEqual(entry['read_kib'],
                                     entry['installed_kib'])

    def test_kernel_modules_loaded_are_the_router_ones(self):
        for which in ('slim', 'baseline'):
            _rc, report, _err = self._usage(which)
            modules = report['kernel_modules']
            self.assertGreater(modules['present'], len(modules['loaded']))
            # The firewall and NAT checks need conntrack and NAT loaded.
            for name in ('nf_conntrack', 'nf_nat'):
                self.assertIn(name, modules['loaded'], which)

    def test_picture_shades_never_read_bytes(self):
        _rc, base, _err = self._usage('baseline')
        _rc, slim, _err = self._usage('slim')
        workdir = images.workdir()
        output = os.path.join(workdir, 'composition-usage.svg')
        result = subprocess.run(
            [sys.executable, '-m', 'akanda_slim', 'picture', '--json',
             '--usage', os.path.join(workdir, 'usage-baseline.json'),
             os.path.join(workdir, 'usage-slim.json'), '-o', output,
             images.baseline_image().image, images.slim_image().image],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(0, result.returncode, result.stderr[-2000:])
        figures = json.loads(result.stdout)
        self.assertEqual([base['never_read_kib'], slim['never_read_kib']],
                         [f['never_read_kib'] for f in figures])
        with open(output) as svg:
            self.assertIn('url(#never-read)', svg.read())
