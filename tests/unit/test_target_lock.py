import fcntl
import os
import stat
import subprocess
import sys
import threading
import time

import fixtures

from akanda_slim import errors
from akanda_slim.slim import target_lock
from tests.unit import base

# A process that holds dpkg's lock in ROOT until its stdin closes.
HOLD_DPKG_LOCK = '''
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print('locked', flush=True)
sys.stdin.read()
'''


class TargetLockTest(base.RootTestCase):

    def test_second_holder_gives_up_after_the_timeout(self):
        root = self.make_root()
        with target_lock.hold(root, 0):
            exc = self.assertRaises(errors.ApplyError,
                                    target_lock.hold(root, 0.2).__enter__)
            self.assertIn('in use by another akanda-slim run (pid %d)'
                          % os.getpid(), str(exc))
        with target_lock.hold(root, 0):
            pass  # released when the first block ended

    def test_missing_root_is_a_target_error(self):
        self.assertRaises(errors.TargetError,
                          target_lock.hold('/nonexistent/x', 0).__enter__)

    def test_dpkg_lock_held_by_another_process_is_refused(self):
        root = self.make_root()
        lock = os.path.join(root, 'var/lib/dpkg/lock-frontend')
        open(lock, 'w').close()
        target_lock.wait_for_dpkg(root)  # free: no error
        holder = subprocess.Popen([sys.executable, '-c', HOLD_DPKG_LOCK,
                                   lock], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(holder.wait)
        self.addCleanup(holder.stdin.close)
        self.assertEqual('locked\n', holder.stdout.readline())
        exc = self.assertRaises(errors.ApplyError,
                                target_lock.wait_for_dpkg, root)
        self.assertIn('is held (pid %d): apt or dpkg is running'
                      % holder.pid, str(exc))

    def test_dpkg_lock_that_is_a_fifo_is_refused(self):
        root = self.make_root()
        os.mkfifo(os.path.join(root, 'var/lib/dpkg/lock'))
        exc = self.assertRaises(errors.InputError,
                                target_lock.wait_for_dpkg, root)
        self.assertIn('not a regular file', str(exc))

    def test_lock_holders_skips_waiters(self):
        root = self.make_root()
        info = os.stat(root)
        key = '%02x:%02x:%d' % (os.major(info.st_dev),
                                os.minor(info.st_dev), info.st_ino)
        text = ('1: FLOCK  ADVISORY  WRITE 11 %s 0 EOF\n'
                '1: -> FLOCK  ADVISORY  WRITE 12 %s 0 EOF\n'
                '2: POSIX  ADVISORY  WRITE 13 %s 0 EOF\n' % (key, key, key))
        self.assertEqual([11], target_lock.lock_holders(root, 'FLOCK', text))
        self.assertEqual([13], target_lock.lock_holders(root, 'POSIX', text))

    def test_flock_is_on_the_root_directory(self):
        root = self.make_root()
        with target_lock.hold(root, 0):
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
            self.addCleanup(os.close, fd)
            self.assertRaises(BlockingIOError, fcntl.flock, fd,
                              fcntl.LOCK_EX | fcntl.LOCK_NB)

    def test_a_device_node_lock_is_never_opened_read_write(self):
        if os.geteuid() != 0:
            self.skipTest('making a device node needs root')
        root = self.make_root()
        lock = os.path.join(root, 'var/lib/dpkg/lock')
        os.mknod(lock, 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        opened = []
        real_open = os.open

        def recording_open(path, flags, *args, **kwargs):
            opened.append((path, flags))
            return real_open(path, flags, *args, **kwargs)

        self.useFixture(fixtures.MockPatch('os.open',
                                           side_effect=recording_open))
        exc = self.assertRaises(errors.InputError,
                                target_lock.wait_for_dpkg, root)
        self.assertIn('not a regular file', str(exc))
        self.assertEqual([], [path for path, flags in opened
                              if flags & (os.O_WRONLY | os.O_RDWR)])

    def test_a_dpkg_lock_is_waited_for_then_taken(self):
        root = self.make_root()
        lock = os.path.join(root, 'var/lib/dpkg/lock')
        open(lock, 'w').close()
        holder = subprocess.Popen([sys.executable, '-c', HOLD_DPKG_LOCK,
                                   lock], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(holder.wait)
        self.assertEqual('locked\n', holder.stdout.readline())
        logged = self.useFixture(fixtures.FakeLogger())
        threading.Timer(1.0, holder.stdin.close).start()
        started = time.monotonic()
        target_lock.wait_for_dpkg(root, 30)
        self.assertLess(time.monotonic() - started, 20)
        self.assertIn('waiting for apt or dpkg (pid %d) to finish in %s'
                      % (holder.pid, root), logged.output)
