import os
import subprocess
import sys
import threading

import fixtures
import testtools

from akanda_slim.debian import mirrors
from akanda_slim import errors


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


class HostileSourcesTest(testtools.TestCase):
    """Host sources and variables dib-env cannot use: one line, no hang."""

    root_with = MirrorsTest.root_with

    GOOD = 'deb http://m.example/debian trixie main\n'

    def mirror_in_time(self, root):
        """debian_mirror(root) in a thread that must end within 10 s."""
        result = []

        def find():
            try:
                result.append(mirrors.debian_mirror(root, {}))
            except errors.SlimError as exc:
                result.append(exc)

        thread = threading.Thread(target=find, daemon=True)
        thread.start()
        thread.join(10)
        self.assertFalse(thread.is_alive(), 'reading the sources hung')
        return result[0]

    def test_a_control_character_in_a_source_uri_is_refused(self):
        root = self.root_with({'etc/apt/sources.list':
                               'deb http://m.exa\x01mple/debian trixie\n'})
        result = self.mirror_in_time(root)
        self.assertIsInstance(result, errors.UsageError)
        self.assertIn("'http://m.exa\\x01mple/debian' is not a plain URL",
                      str(result))

    def test_a_space_or_control_character_in_the_variable_is_refused(self):
        for bad in ('http://a b/debian', 'http://a\tb/debian',
                    'http://a\x7fb/debian', 'http://\u00e9.example/'):
            exc = self.assertRaises(
                errors.UsageError, mirrors.debian_mirror,
                self.root_with({}), {'DIB_DISTRIBUTION_MIRROR': bad})
            self.assertIn('DIB_DISTRIBUTION_MIRROR', str(exc))
            self.assertNotIn('\n', str(exc))

    def test_non_utf8_sources_are_read(self):
        root = self.root_with({})
        with open(os.path.join(root, mirrors.SOURCES_LIST), 'wb') as out:
            out.write(b'# caf\xe9\n' + self.GOOD.encode())
        self.assertEqual('http://m.example/debian', self.mirror_in_time(root))

    def test_a_directory_or_fifo_named_list_is_skipped(self):
        root = self.root_with({'etc/apt/sources.list': self.GOOD})
        parts = os.path.join(root, mirrors.SOURCES_DIR)
        os.mkdir(os.path.join(parts, 'a.list'))
        os.mkfifo(os.path.join(parts, 'b.list'))
        os.mkfifo(os.path.join(parts, 'c.sources'))
        self.assertEqual('http://m.example/debian', self.mirror_in_time(root))

    def test_dib_env_says_it_in_one_line(self):
        child = subprocess.run(
            [sys.executable, '-m', 'akanda_slim', 'dib-env'],
            env=dict(os.environ, DIB_DISTRIBUTION_MIRROR='http://a b/x'),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=60)
        self.assertEqual((2, ''), (child.returncode, child.stdout))
        self.assertEqual(1, len(child.stderr.splitlines()), child.stderr)
        self.assertIn('is not a plain URL', child.stderr)
