import os

import fixtures
import testtools

from akanda_slim import errors
from akanda_slim import mirrors


class MirrorsTest(testtools.TestCase):

    def root_with(self, files):
        root = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(root, mirrors.SOURCES_DIR))
        for name, text in files.items():
            with open(os.path.join(root, name), 'w') as out:
                out.write(text)
        return root

    def test_deb822_sources(self):
        root = self.root_with({
            'etc/apt/sources.list.d/debian.sources':
                'Types: deb\nURIs: http://mirror.example/debian\n'
                'Suites: bookworm bookworm-updates\nComponents: main\n\n'
                'Types: deb\nURIs: http://mirror.example/debian-security\n'
                'Suites: bookworm-security\nComponents: main\n'})
        self.assertEqual('http://mirror.example/debian',
                         mirrors.debian_mirror(root, {}))
        self.assertEqual('http://mirror.example/debian-security',
                         mirrors.security_mirror(root, {}))

    def test_one_line_list_and_derived_security(self):
        root = self.root_with({'etc/apt/sources.list':
                               '# comment\ndeb-src http://src.example/ x\n'
                               'deb [arch=amd64] http://m.example/debian/ '
                               'trixie main\n'})
        self.assertEqual('http://m.example/debian',
                         mirrors.debian_mirror(root, {}))
        self.assertEqual('http://m.example/debian-security',
                         mirrors.security_mirror(root, {}))

    def test_environment_wins(self):
        root = self.root_with({})
        env = {'DIB_DISTRIBUTION_MIRROR': 'http://a.example/debian',
               'DIB_DEBIAN_SECURITY_MIRROR': 'http://b.example/sec'}
        self.assertEqual('http://a.example/debian',
                         mirrors.debian_mirror(root, env))
        self.assertEqual('http://b.example/sec',
                         mirrors.security_mirror(root, env))

    def test_no_mirror_is_a_clear_error(self):
        exc = self.assertRaises(errors.UsageError, mirrors.debian_mirror,
                                self.root_with({}), {})
        self.assertIn('DIB_DISTRIBUTION_MIRROR', str(exc))
