import os

import fixtures
import testtools

from akanda_slim import errors
from akanda_slim import rootfs


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

    def test_loop_is_refused(self):
        os.symlink('b', os.path.join(self.root, 'a'))
        os.symlink('a', os.path.join(self.root, 'b'))
        self.assertRaises(errors.InputError, rootfs.resolve, self.root, 'a')


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
