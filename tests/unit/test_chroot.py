import os
import signal
import threading
import time

import testtools

from akanda_slim import errors
from akanda_slim.slim import apply_journal
from akanda_slim.slim import chroot
from akanda_slim import termination
from tests.unit import base


class ChrootPathsTest(base.RootTestCase):

    def root(self):
        root = self.make_root()
        for name in ('proc', 'sys', 'dev', 'usr/sbin'):
            os.makedirs(os.path.join(root, name))
        return root

    def test_mount_point_must_be_the_targets_own_directory(self):
        root = self.root()
        self.assertEqual(os.path.join(os.path.realpath(root), 'proc'),
                         chroot.mount_point(root, 'proc'))
        os.rmdir(os.path.join(root, 'proc'))
        os.symlink('/proc', os.path.join(root, 'proc'))
        exc = self.assertRaises(errors.InputError, chroot.mount_point,
                                root, 'proc')
        self.assertIn('is a symbolic link (to /proc)', str(exc))
        os.rmdir(os.path.join(root, 'sys'))
        self.assertRaises(errors.InputError, chroot.mount_point, root, 'sys')

    def test_running_system(self):
        self.assertTrue(chroot.is_running_system('/'))
        self.assertTrue(chroot.is_running_system('/usr/..'))
        self.assertFalse(chroot.is_running_system(self.root()))

    def block_and_restore(self, root):
        record = apply_journal.RunRecord(root)
        session = chroot.Chroot(root, record)
        session._block_services()
        path = os.path.join(root, chroot.POLICY_RC_D)
        self.assertTrue(chroot.is_ours(path))
        self.assertTrue(os.access(path, os.X_OK))
        self.assertIsNotNone(apply_journal.RunRecord.load(root).policy_rc_d)
        return record

    def test_policy_rc_d_is_ours_then_gone(self):
        root = self.root()
        record = self.block_and_restore(root)
        self.assertEqual([], chroot.restore_policy_rc_d(root, record))
        self.assertFalse(os.path.lexists(os.path.join(root,
                                                      chroot.POLICY_RC_D)))

    def test_targets_own_policy_rc_d_comes_back(self):
        root = self.root()
        path = os.path.join(root, chroot.POLICY_RC_D)
        with open(path, 'w') as own:
            own.write('#!/bin/sh\nexit 0\n')
        record = self.block_and_restore(root)
        done = []
        self.assertEqual([], chroot.restore_policy_rc_d(root, record, done))
        with open(path) as own:
            self.assertEqual('#!/bin/sh\nexit 0\n', own.read())
        self.assertEqual(2, len(done))

    def test_dangling_absolute_symlink_is_moved_aside_not_followed(self):
        root = self.root()
        outside = self.make_root()
        host_path = os.path.join(outside, 'written-through')
        path = os.path.join(root, chroot.POLICY_RC_D)
        os.symlink(host_path, path)
        record = self.block_and_restore(root)
        self.assertFalse(os.path.lexists(host_path))
        chroot.restore_policy_rc_d(root, record)
        self.assertEqual(host_path, os.readlink(path))
        self.assertFalse(os.path.lexists(host_path))

    def test_recover_after_a_killed_run(self):
        root = self.root()
        path = os.path.join(root, chroot.POLICY_RC_D)
        with open(path, 'w') as own:
            own.write('exit 101\n')
        self.block_and_restore(root)  # and then the run "dies"
        stale = apply_journal.RunRecord.load(root)
        done = chroot.recover(root, stale)
        self.assertEqual(['removed its usr/sbin/policy-rc.d',
                          "put the target's own usr/sbin/policy-rc.d back"],
                         done)
        with open(path) as own:
            self.assertEqual('exit 101\n', own.read())

    def test_recover_removes_an_old_versions_policy_rc_d(self):
        root = self.root()
        path = os.path.join(root, chroot.POLICY_RC_D)
        with open(path, 'w') as old:
            old.write('#!/bin/sh\n# akanda-slim: no services in chroot\n'
                      'exit 101\n')
        self.assertEqual(1, len(chroot.recover(root, None)))
        self.assertFalse(os.path.lexists(path))

    def test_a_saved_policy_rc_d_left_over_is_refused(self):
        root = self.root()
        open(os.path.join(root, chroot.POLICY_RC_D) + chroot.SAVED_SUFFIX,
             'w').close()
        session = chroot.Chroot(root, apply_journal.RunRecord(root))
        self.assertRaises(errors.InputError, session._block_services)


class RunTest(base.RootTestCase):
    """Chroot.run on the running system, never entered (nothing mounted).

    The commands run on the host: harmless ones.
    """

    def session(self):
        return chroot.Chroot('/', apply_journal.RunRecord(self.make_root()))

    def test_output_and_failure(self):
        session = self.session()
        self.assertEqual('hi\n', session.run(['echo', 'hi']).stdout)
        self.assertEqual(3, session.run(['sh', '-c', 'exit 3'],
                                        check=False).returncode)
        self.assertRaises(errors.CommandError, session.run, ['false'])
        self.assertRaises(errors.MissingToolError, session.run,
                          ['/nonexistent/program'])

    def test_signal_reaches_the_whole_group_before_unwinding(self):
        marker = os.path.join(self.make_root(), 'grandchild')
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        self.addCleanup(timer.cancel)
        started = time.monotonic()
        with testtools.ExpectedException(
                termination.Interrupted, '.*sleep 30.* was stopped'):
            with termination.handled():
                # sh waits for a grandchild; both must be gone after.
                self.session().run(['sh', '-c', 'sleep 30 & echo $! > %s; '
                                    'wait' % marker])
        self.assertLess(time.monotonic() - started, 10)
        with open(marker) as stream:
            grandchild = int(stream.read())
        self.assertRaises(ProcessLookupError, os.kill, grandchild, 0)
