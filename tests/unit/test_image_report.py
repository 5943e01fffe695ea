"""The slim report: figures from the tree, text, budget."""

import json
import os

import fixtures

from akanda_slim import errors
from akanda_slim.footprint import image_report
from tests.unit import base


PACKAGES_RESULT = {
    'policy': 'appliance', 'applied': True,
    'verification': {'ok': True, 'broken_dependencies': [],
                     'dpkg_audit': '', 'apt_check': ''},
    'totals': {'installed': {'packages': 3, 'installed_size_kib': 3000}},
    'remove': [{'package': 'perl', 'version': '5', 'installed_size_kib': 2000,
                'reason': 'only recommended by x', 'reason_code': 'r'}],
}


class ImageReportTest(base.RootTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.make_root(
            base.stanza('bash', Installed_Size='900'),
            base.stanza('dpkg', Installed_Size='100'))
        path = os.path.join(self.root, 'usr/lib/big/file')
        os.makedirs(os.path.dirname(path))
        with open(path, 'wb') as out:
            out.write(b'x' * 300 * 1024)

    def test_figures_come_from_the_tree(self):
        report = image_report.build_report(
            self.root, PACKAGES_RESULT, files_freed={'docs': 4096 * 1024},
            started=None, tree_kib_before=9999, image_name='/o/slim')
        self.assertEqual({'packages': 3, 'installed_size_kib': 3000,
                          'tree_kib': 9999}, report['before'])
        self.assertEqual(2, report['after']['packages'])
        self.assertEqual(1000, report['after']['installed_size_kib'])
        self.assertGreaterEqual(report['after']['tree_kib'], 300)
        self.assertEqual('slim', report['image'])
        self.assertEqual(['bash', 'dpkg'], [
            p['package'] for p in report['biggest_packages']])
        self.assertEqual('/usr/lib/big', report['biggest_paths'][0]['path'])
        self.assertEqual({'docs': 4096}, report['pruned_files_kib'])
        self.assertEqual('perl', report['removed_packages'][0]['package'])
        self.assertTrue(report['budget_ok'])
        text = image_report.format_text(report)
        self.assertIn('perl', text)
        self.assertIn('only recommended by x', text)
        self.assertIn('verification: passed', text)

    def test_budget_exceeded_names_contributors(self):
        report = image_report.build_report(
            self.root, PACKAGES_RESULT, image_name='/o/slim', max_size_mib=0)
        self.assertFalse(report['budget_ok'])
        error = self.assertRaises(errors.BudgetError,
                                  image_report.check_budget, report)
        self.assertIn('bash', str(error))
        self.assertIn('/usr/lib/big', str(error))

    def test_main_writes_beside_image_and_in_manifests(self):
        work = self.useFixture(fixtures.TempDir()).path
        packages = os.path.join(work, 'packages.json')
        with open(packages, 'w') as out:
            json.dump(PACKAGES_RESULT, out)
        with open(os.path.join(work, 'started'), 'w') as out:
            out.write('1.0')
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', open(os.devnull, 'w')))
        manifests = os.path.join(self.root, 'etc/dib-manifests')
        code = image_report.main([
            '--root', self.root, '--packages-json', packages,
            '--state-dir', work, '--image-name', os.path.join(work, 'img'),
            '--manifest-dir', '/etc/dib-manifests', '--max-size', '100'])
        self.assertEqual(0, code)
        for prefix in (os.path.join(work, 'img'),
                       os.path.join(manifests, 'img')):
            with open(prefix + '.slim.json') as data:
                self.assertEqual(100, json.load(data)['max_size_mib'])
            self.assertTrue(os.path.exists(prefix + '.slim.txt'))

    def test_dry_run_says_nothing_was_removed(self):
        planned = dict(PACKAGES_RESULT, applied=False, verification=None)
        report = image_report.build_report(
            self.root, planned, image_name='/o/slim', dry_run=True)
        self.assertFalse(report['applied'])
        text = image_report.format_text(report)
        self.assertIn('DRY RUN: nothing removed', text)
        self.assertNotIn('verification:', text)

    def test_bad_budget(self):
        self.assertRaises(errors.UsageError, image_report._parse_max_size,
                          'big')
