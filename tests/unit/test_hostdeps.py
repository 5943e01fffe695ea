"""hostdeps: bindep.txt found wherever akanda-slim is installed; apt runs."""

import os

import fixtures
import testtools

from akanda_slim.dib import hostdeps
from akanda_slim.dib import shipped_files
from akanda_slim import errors


class FakeRun:
    """Stands in for process.run: bindep answers ``missing``."""

    def __init__(self, missing):
        self.missing = missing
        self.commands = []

    def __call__(self, command, **kwargs):
        self.commands.append(list(command))
        if '-m' in command and 'bindep' in command:
            return type('Done', (), {
                'returncode': 1 if self.missing else 0,
                'stdout': '\n'.join(self.missing) + '\n', 'stderr': ''})()
        return type('Done', (), {'returncode': 0, 'stdout': ''})()


class HostDepsTest(testtools.TestCase):

    def test_source_tree_bindep_file(self):
        self.assertEqual(os.path.join(shipped_files.SOURCE_TREE,
                                      'bindep.txt'),
                         hostdeps.find_bindep_file())

    def test_installed_bindep_file(self):
        prefix = self.useFixture(fixtures.TempDir()).path
        installed = os.path.join(prefix, 'share/akanda-slim/bindep.txt')
        os.makedirs(os.path.dirname(installed))
        open(installed, 'w').close()
        self.assertEqual(installed, hostdeps.find_bindep_file(
            ['/nonexistent/bindep.txt', installed]))
        self.assertRaises(errors.UsageError, hostdeps.find_bindep_file,
                          ['/nonexistent/bindep.txt'])

    def test_installs_what_is_missing_and_says_so(self):
        fake = FakeRun(['genisoimage', 'busybox'])
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.process.run', fake))
        self.useFixture(fixtures.MonkeyPatch('os.geteuid', lambda: 0))
        log = self.useFixture(fixtures.FakeLogger())
        self.assertEqual(['genisoimage', 'busybox'],
                         hostdeps.install_missing('test'))
        self.assertEqual(['apt-get', 'install', '-y', '-qq', 'genisoimage',
                          'busybox'], fake.commands[-1])
        self.assertIn('installed host packages: genisoimage busybox',
                      log.output)

    def test_nothing_missing_runs_no_apt(self):
        fake = FakeRun([])
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.process.run', fake))
        self.assertEqual([], hostdeps.install_missing('build'))
        self.assertEqual(1, len(fake.commands))

    def test_not_root_names_the_packages(self):
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.process.run', FakeRun(['qemu-system-x86'])))
        self.useFixture(fixtures.MonkeyPatch('os.geteuid', lambda: 1000))
        error = self.assertRaises(errors.UsageError,
                                  hostdeps.install_missing, 'test')
        self.assertIn('qemu-system-x86', str(error))

    def test_unknown_profile(self):
        self.assertRaises(errors.UsageError, hostdeps.missing_packages,
                          'bogus')

    def test_real_bindep_reads_the_shipped_file(self):
        # bindep itself parses bindep.txt: every profile answers a list.
        for profile in hostdeps.PROFILES:
            self.assertIsInstance(hostdeps.missing_packages(profile), list)
