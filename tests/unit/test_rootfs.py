import os

import fixtures
import testtools

from akanda_slim.debian import rootfs
from akanda_slim import errors


class ResolveTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        os.makedirs(os.path.join(self.root, 'usr/sbin'))
        os.makedirs(os.path.join(self.root, 'real'))

    def test_absolute_symlink_stays_inside(self):
        os.symlink('/etc', os.path.join(self.root, 'proc'))
        self.assertEqual(os.path.join(self.root, 'etc'),
                         rootfs.resolve(self.root, 'proc'))
        os.symlink('/tmp/x', os.path.join(self.root, 'usr/sbin/policy-rc.d'))
        self.assertEqual(os.path.join(self.root, 'tmp/x'),
                         rootfs.resolve(self.root, '/usr/sbin/policy-rc.d'))

    def test_dotdot_stops_at_the_top(self):
        os.symlink('../../../../etc', os.path.join(self.root, 'real/up'))
        self.assertEqual(os.path.join(self.root, 'etc/passwd'),
                         rootfs.resolve(self.root, 'real/up/passwd'))

    def test_relative_link_and_last_component(self):
        os.symlink('real', os.path.join(self.root, 'link'))
        self.assertEqual(os.path.join(self.root, 'real'),
                         rootfs.resolve(self.root, 'link'))
        self.assertEqual(os.path.join(self.root, 'link'),
                         rootfs.resolve(self.root, 'link', follow_last=False))

    def test_missing_root_or_component_is_lexical(self):
        missing = os.path.join(self.root, 'missing')
        self.assertEqual(os.path.join(missing, 'b'),
                         rootfs.resolve(missing, 'a/../b'))
        with open(os.path.join(self.root, 'file'), 'w'):
            pass
        self.assertEqual(os.path.join(self.root, 'file/x'),
                         rootfs.resolve(self.root, 'file/x'))
        self.assertIsNone(rootfs.lstat(missing, 'a'))

    def test_loop_is_refused(self):
        os.symlink('b', os.path.join(self.root, 'a'))
        os.symlink('a', os.path.join(self.root, 'b'))
        self.assertRaises(errors.InputError, rootfs.resolve, self.root, 'a')


class InRootChangeTest(testtools.TestCase):
    """Writes, links and removals stay inside the root through any link."""

    def setUp(self):
        super().setUp()
        base = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        self.root = os.path.join(base, 'root')
        self.outside = os.path.join(base, 'outside')
        os.makedirs(os.path.join(self.root, 'etc'))
        os.makedirs(self.outside)
        with open(os.path.join(self.outside, 'host.service'), 'w') as f:
            f.write('host')

    def outside_files(self):
        return sorted(os.listdir(self.outside))

    def hostile_links(self):
        return (self.outside, '../../outside', '../' * 8 + self.outside)

    def test_write_through_directory_links_stays_inside(self):
        for number, target in enumerate(self.hostile_links()):
            link = os.path.join(self.root, 'etc/d%d' % number)
            os.symlink(target, link)
            written = rootfs.write_file(self.root, 'etc/d%d/host.service'
                                        % number, 'mine\n', 0o755)
            self.assertTrue(written.startswith(self.root + '/'), written)
            with open(written) as f:
                self.assertEqual('mine\n', f.read())
            self.assertEqual(0o755, os.stat(written).st_mode & 0o777)
        self.assertEqual(['host.service'], self.outside_files())
        with open(os.path.join(self.outside, 'host.service')) as f:
            self.assertEqual('host', f.read())

    def test_write_through_a_dangling_last_link_stays_inside(self):
        os.symlink(os.path.join(self.outside, 'new'),
                   os.path.join(self.root, 'etc/report.json'))
        rootfs.write_file(self.root, 'etc/report.json', '{}')
        self.assertEqual(['host.service'], self.outside_files())
        self.assertTrue(os.path.isfile(os.path.join(
            self.root, self.outside.lstrip('/'), 'new')))

    def test_symlink_and_remove_replace_links_not_their_targets(self):
        os.symlink(self.outside, os.path.join(self.root, 'etc/system'))
        rootfs.symlink(self.root, 'etc/system/host.service', '/dev/null')
        self.assertEqual('host', open(os.path.join(
            self.outside, 'host.service')).read())
        os.symlink(os.path.join(self.outside, 'host.service'),
                   os.path.join(self.root, 'etc/unit'))
        rootfs.symlink(self.root, 'etc/unit', '/dev/null')
        self.assertEqual('/dev/null', os.readlink(os.path.join(
            self.root, 'etc/unit')))
        rootfs.remove(self.root, 'etc/unit')
        self.assertEqual(0, rootfs.remove(self.root, 'etc/missing/x'))
        self.assertEqual(['host.service'], self.outside_files())

    def test_refusals_are_input_errors(self):
        os.makedirs(os.path.join(self.root, 'etc/dir'))
        os.mkfifo(os.path.join(self.root, 'etc/fifo'))
        with open(os.path.join(self.root, 'etc/file'), 'w') as f:
            f.write('x')
        for call in ((rootfs.write_file, 'etc/dir', 'x'),
                     (rootfs.write_file, 'etc/fifo', 'x'),
                     (rootfs.write_file, 'etc/file/below', 'x'),
                     (rootfs.symlink, 'etc/dir', '/dev/null'),
                     (rootfs.remove, 'etc/dir')):
            exc = self.assertRaises(errors.InputError, call[0], self.root,
                                    *call[1:])
            self.assertEqual(2, exc.exit_code)


class ReadTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_regular_file(self):
        path = os.path.join(self.dir, 'f')
        with open(path, 'w') as f:
            f.write('hello')
        self.assertEqual('hello', rootfs.read_text(path))

    def test_refusals(self):
        fifo = os.path.join(self.dir, 'fifo')
        os.mkfifo(fifo)
        big = os.path.join(self.dir, 'big')
        with open(big, 'wb') as f:
            f.write(b'x' * 100)
        binary = os.path.join(self.dir, 'bin')
        with open(binary, 'wb') as f:
            f.write(b'\xff\xfe')
        for path, limit, reason in (
                (fifo, 10, 'not a regular file'),
                ('/dev/zero', 10, 'not a regular file'),
                (self.dir, 10, 'not a regular file'),
                (big, 10, 'too big'),
                (os.path.join(self.dir, 'missing'), 10, 'No such file'),
                (binary, 10, 'not utf-8 text')):
            exc = self.assertRaises(errors.InputError, rootfs.read_text,
                                    path, limit)
            self.assertIn(reason, str(exc))
            self.assertEqual(2, exc.exit_code)
