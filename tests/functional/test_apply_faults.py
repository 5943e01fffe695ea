"""apply under faults: killed, run twice at once, fed hostile symlinks.

Needs root: it bootstraps a Debian root (mmdebstrap when installed, else
debootstrap) and lets apply mount and purge in copies of it. The kill
points are made exact with small shims: a ``mount`` on PATH that pauses
after mounting sysfs, a prerm that pauses during the purge, a ``chroot``
on PATH that pauses before ``apt-get check`` (after the purge). Each test
then checks /proc/self/mountinfo, policy-rc.d, ``dpkg --audit`` and that
a second apply finishes and says what it cleaned up.
"""

import atexit
import functools
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import testtools

from akanda_slim.debian import mirrors
from akanda_slim.slim import apply_journal
from akanda_slim.slim import mountinfo
from akanda_slim.slim.root_processes import processes_in

RELEASE = os.environ.get('DIB_RELEASE', 'trixie')
LEAVES = ('nano', 'less', 'vim-tiny')  # leaf packages apply purges
PAUSE_SECONDS = 3  # how long a mount or apt-get shim pauses
PURGE_PAUSE_SECONDS = 20  # how long the purge pauses for a kill test
ORPHAN_PAUSE_SECONDS = 5  # how long the killed run's dpkg goes on
POLICY_RC_D = 'usr/sbin/policy-rc.d'
MOUNT_SHIM = '''#!/bin/sh
# Mount, then pause after sysfs so a test can signal apply mid-mounting.
/usr/bin/mount "$@" || exit $?
case "$*" in *sysfs*) touch "$SHIM_MARK"; sleep %d;; esac
''' % PAUSE_SECONDS
# Inside the target, first on apply's PATH there: pause before
# apt-get check (verification, after the purge).
APT_GET_SHIM = '''#!/bin/sh
case "$1" in check) touch /verify-paused; sleep %d;; esac
exec /usr/bin/apt-get "$@"
''' % PAUSE_SECONDS
# Put at the top of nano's prerm: pause once, note what dpkg can see
# (proc, sys, and a private /dev: none of the host's other devices).
PRERM_PAUSE = '''
if [ ! -e /purge-paused ]; then
    touch /purge-paused
    sleep %d
fi
[ -e /proc/self/status ] && [ -c /dev/null ] && [ -d /sys/kernel ] \\
    && [ ! -e /dev/loop-control ] && [ ! -e /dev/kmsg ] \\
    && echo mounted >> /purge-saw || echo missing >> /purge-saw
'''


def why_not_runnable():
    if os.geteuid() != 0:
        return 'needs root (bootstrapping a Debian root, mount, chroot)'
    if not (shutil.which('mmdebstrap') or shutil.which('debootstrap')):
        return 'neither mmdebstrap nor debootstrap is installed'
    return None


SKIP_REASON = why_not_runnable()


@functools.lru_cache(maxsize=None)
def workdir():
    return tempfile.mkdtemp(prefix='akanda-slim-faults-', dir='/var/tmp')


@functools.lru_cache(maxsize=None)
def base_root():
    """A minbase root with a few leaf packages, bootstrapped once."""
    root = os.path.join(workdir(), 'base')
    include = ','.join(LEAVES)
    if shutil.which('mmdebstrap'):
        command = ['mmdebstrap', '--variant=minbase', '--include=' + include]
    else:
        command = ['debootstrap', '--variant=minbase',
                   '--include=' + include]
    subprocess.run(command + [RELEASE, root, mirrors.debian_mirror()],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)
    return root


def release(root):
    """Kill what still runs in ``root`` and unmount what is below it."""
    for pid in processes_in(root):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for mount in reversed(mountinfo.under(root)):
        subprocess.run(['umount', '--lazy', mount.mount_point])


def remove_tree(path):
    """Remove a test tree, never through a mount below it."""
    release(path)
    if mountinfo.under(path):
        raise RuntimeError('still mounted below %s; not removing it' % path)
    subprocess.run(['rm', '-rf', '--one-file-system', path], check=True)


@atexit.register
def cleanup():
    if workdir.cache_info().currsize:
        remove_tree(workdir())


def tree_digest(path):
    """A digest of names, kinds, modes, link targets and contents."""
    digest = hashlib.sha256()
    for directory, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(dirs + files):
            full = os.path.join(directory, name)
            info = os.lstat(full)
            digest.update(('%s %o\n' % (full, info.st_mode)).encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(full).encode())
            elif stat.S_ISREG(info.st_mode):
                with open(full, 'rb') as stream:
                    digest.update(stream.read())
    return digest.hexdigest()


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class FaultTestBase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(workdir(), self.id().rsplit('.', 1)[-1])
        if os.path.exists(self.root):
            remove_tree(self.root)
        subprocess.run(['cp', '-a', base_root(), self.root], check=True)
        self.addCleanup(remove_tree, self.root)
        self.shims = os.path.join(self.root + '.shims')
        os.makedirs(self.shims, exist_ok=True)
        self.addCleanup(shutil.rmtree, self.shims, True)
        self.mark = os.path.join(self.shims, 'mark')

    def shim(self, path, text):
        with open(path, 'w') as script:
            script.write(text)
        os.chmod(path, 0o755)

    def pause_the_purge(self, seconds=PURGE_PAUSE_SECONDS):
        path = os.path.join(self.root, 'var/lib/dpkg/info/nano.prerm')
        with open(path) as script:
            lines = script.read().splitlines(True)
        with open(path, 'w') as script:
            script.write(lines[0] + PRERM_PAUSE % seconds
                         + ''.join(lines[1:]))

    def start(self, *options):
        env = dict(os.environ, SHIM_MARK=self.mark,
                   PATH=self.shims + ':' + os.environ.get('PATH', ''))
        return subprocess.Popen(
            [sys.executable, '-m', 'akanda_slim', 'apply', '--root',
             self.root] + list(options), env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def apply(self, *options):
        child = self.start(*options)
        out, err = child.communicate(timeout=300)
        return child.returncode, err

    def wait_for(self, path, child, timeout=120):
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if child.poll() is not None or time.monotonic() > deadline:
                self.fail('%s never appeared; apply said: %s'
                          % (path, child.communicate()[1]))
            time.sleep(0.05)

    def mounts(self):
        return [m.mount_point for m in mountinfo.under(self.root)]

    def dpkg_audit(self):
        return subprocess.run(['chroot', self.root, 'dpkg', '--audit'],
                              text=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT).stdout

    def installed(self, name):
        result = subprocess.run(
            ['chroot', self.root, 'dpkg-query', '-W', '-f',
             '${db:Status-Abbrev}', name], text=True,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        return result.stdout.startswith('ii')

    def assert_nothing_left(self):
        self.assertEqual([], self.mounts())
        self.assertFalse(os.path.lexists(os.path.join(self.root,
                                                      POLICY_RC_D)))
        self.assertEqual([], processes_in(self.root))


class KillTest(FaultTestBase):
    """apply killed while mounting, while purging and after the purge."""

    def kill_at(self, sig, point):
        apt_get_shim = os.path.join(self.root, 'usr/local/sbin/apt-get')
        if point == 'mounting':
            self.shim(os.path.join(self.shims, 'mount'), MOUNT_SHIM)
            mark = self.mark
        elif point == 'purge':
            self.pause_the_purge()
            mark = os.path.join(self.root, 'purge-paused')
        else:
            self.shim(apt_get_shim, APT_GET_SHIM)
            mark = os.path.join(self.root, 'verify-paused')
        child = self.start('--remove', 'nano', '--remove', 'less')
        self.wait_for(mark, child)
        child.send_signal(sig)
        out, err = child.communicate(timeout=120)
        self.assertNotIn('Traceback', err)
        if sig == signal.SIGKILL:
            self.assertEqual(-signal.SIGKILL, child.returncode)
            if point == 'purge':
                self.assertIn('nano', apply_journal.RunRecord.load(
                    self.root).purge)
                self.assert_dpkg_lock_refused()
            self.wait_until_nothing_runs_in_the_target()
        else:
            self.assertEqual(128 + sig, child.returncode, err)
            self.assertIn('interrupted by SIGTERM', err)
            self.assert_nothing_left()
            if point == 'purge':
                self.assertIn('run akanda-slim apply on it again', err)
        for name in os.listdir(self.shims):
            os.unlink(os.path.join(self.shims, name))
        if os.path.exists(apt_get_shim):
            os.unlink(apt_get_shim)
        self.rerun_finishes(expect_cleanup=(sig == signal.SIGKILL
                                            or point == 'purge'))

    def assert_dpkg_lock_refused(self):
        """The killed run's dpkg still runs: a new apply must refuse."""
        code, err = self.apply('--lock-timeout', '0')
        self.assertEqual(1, code, err)
        self.assertIn('apt or dpkg is running in', err)
        running = processes_in(self.root)
        self.assertNotEqual([], running)
        for pid in running:
            os.kill(pid, signal.SIGKILL)

    def wait_until_nothing_runs_in_the_target(self):
        deadline = time.monotonic() + 30
        while processes_in(self.root) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual([], processes_in(self.root))

    def rerun_finishes(self, expect_cleanup):
        code, err = self.apply('--remove', 'nano', '--remove', 'less')
        self.assertEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        if expect_cleanup:
            self.assertIn('did not end; cleaned up after it', err)
        self.assert_nothing_left()
        self.assertEqual('', self.dpkg_audit())
        self.assertFalse(self.installed('nano'))
        self.assertFalse(self.installed('less'))
        self.assertTrue(self.installed('vim-tiny'))
        self.assertIsNone(apply_journal.RunRecord.load(self.root))
        self.assertFalse(os.path.exists(os.path.join(
            self.root, apply_journal.RECORD_DIR)))

    def test_sigterm_while_mounting(self):
        self.kill_at(signal.SIGTERM, 'mounting')

    def test_sigkill_while_mounting(self):
        self.kill_at(signal.SIGKILL, 'mounting')

    def test_sigterm_during_the_purge(self):
        self.kill_at(signal.SIGTERM, 'purge')

    def test_sigkill_during_the_purge(self):
        self.kill_at(signal.SIGKILL, 'purge')

    def test_rerun_at_once_waits_for_the_killed_runs_dpkg(self):
        # dpkg outlives a SIGKILLed apply (its own process group) and holds
        # dpkg's lock: a new apply waits for it as for akanda-slim's own
        # lock, then cleans up after the killed run.
        self.pause_the_purge(ORPHAN_PAUSE_SECONDS)
        child = self.start('--remove', 'nano', '--remove', 'less')
        self.wait_for(os.path.join(self.root, 'purge-paused'), child)
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=120)
        self.assertNotEqual([], processes_in(self.root))
        code, err = self.apply('--remove', 'nano', '--remove', 'less')
        self.assertEqual(0, code, err)
        self.assertNotIn('Traceback', err)
        self.assertIn('waiting for apt or dpkg', err)
        self.assertIn('did not end; cleaned up after it', err)
        self.assert_nothing_left()
        self.assertEqual('', self.dpkg_audit())
        self.assertFalse(self.installed('nano'))
        self.assertFalse(self.installed('less'))
        self.assertIsNone(apply_journal.RunRecord.load(self.root))

    def test_sigterm_after_the_purge(self):
        self.kill_at(signal.SIGTERM, 'after')

    def test_sigkill_after_the_purge(self):
        self.kill_at(signal.SIGKILL, 'after')


class ConcurrencyTest(FaultTestBase):
    """Two applies on one target: one waits, neither stacks mounts."""

    def test_two_applies_at_once(self):
        self.pause_the_purge(2)
        stacked = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                points = self.mounts()
                if len(points) != len(set(points)):
                    stacked.append(points)
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            first = self.start('--remove', 'nano')
            second = self.start('--remove', 'nano')
            results = [(c.wait(300), c.communicate()[1])
                       for c in (first, second)]
        finally:
            stop.set()
            watcher.join()
        for code, err in results:
            self.assertEqual(0, code, err)
            self.assertNotIn('Traceback', err)
        self.assertEqual(1, sum('waiting for another akanda-slim run' in err
                                for _, err in results))
        self.assertEqual([], stacked)
        with open(os.path.join(self.root, 'purge-saw')) as saw:
            self.assertEqual('mounted\n', saw.read())
        self.assert_nothing_left()
        self.assertEqual('', self.dpkg_audit())
        self.assertFalse(self.installed('nano'))

    def test_second_apply_can_refuse_at_once(self):
        self.pause_the_purge(5)
        first = self.start('--remove', 'nano')
        self.wait_for(os.path.join(self.root, 'purge-paused'), first)
        code, err = self.apply('--lock-timeout', '0')
        self.assertEqual(1, code, err)
        self.assertIn('is in use by another akanda-slim run (pid %d)'
                      % first.pid, err)
        self.assertEqual(0, first.wait(120))
        self.assert_nothing_left()


class HostileSymlinkTest(FaultTestBase):
    """Absolute symlinks in the target never lead apply onto the host."""

    def setUp(self):
        super().setUp()
        self.sentinel = self.root + '.sentinel'
        os.makedirs(self.sentinel)
        self.addCleanup(remove_tree, self.sentinel)
        for name in ('proc', 'sys', 'dev'):
            os.makedirs(os.path.join(self.sentinel, name))
        shutil.copy(os.path.join(self.root, 'var/lib/dpkg/status'),
                    os.path.join(self.sentinel, 'status'))
        self.before = tree_digest(self.sentinel)

    def point_at_sentinel(self, relative, target):
        path = os.path.join(self.root, relative)
        if os.path.isdir(path) and not os.path.islink(path):
            remove_tree(path)  # dev holds a few device nodes
        elif os.path.lexists(path):
            os.unlink(path)
        os.symlink(os.path.join(self.sentinel, target), path)

    def assert_sentinel_untouched(self):
        self.assertEqual([], [m.mount_point for m in
                              mountinfo.under(self.sentinel)])
        self.assertEqual(self.before, tree_digest(self.sentinel))
        self.assertEqual([], self.mounts())

    def test_kernel_filesystem_symlinks_are_refused(self):
        for name in ('proc', 'dev', 'sys'):
            self.point_at_sentinel(name, name)
            code, err = self.apply('--remove', 'nano')
            self.assertEqual(2, code, err)
            self.assertIn('%s/%s is a symbolic link' % (self.root, name),
                          err)
            self.assertNotIn('Traceback', err)
            self.assert_sentinel_untouched()
            os.unlink(os.path.join(self.root, name))
            os.mkdir(os.path.join(self.root, name))
        self.assertTrue(self.installed('nano'))

    def test_dangling_policy_rc_d_symlink_is_kept_not_followed(self):
        self.point_at_sentinel(POLICY_RC_D, 'policy-rc.d')
        code, err = self.apply('--remove', 'nano')
        self.assertEqual(0, code, err)
        self.assert_sentinel_untouched()
        self.assertEqual(os.path.join(self.sentinel, 'policy-rc.d'),
                         os.readlink(os.path.join(self.root, POLICY_RC_D)))
        self.assertFalse(self.installed('nano'))

    def test_status_file_symlink_writes_nothing_outside(self):
        self.point_at_sentinel('var/lib/dpkg/status', 'status')
        code, err = self.apply('--remove', 'nano')
        self.assertNotIn('Traceback', err)
        self.assert_sentinel_untouched()
        self.assertFalse(os.path.lexists(os.path.join(self.root,
                                                      POLICY_RC_D)))
