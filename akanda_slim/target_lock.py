"""One apply at a time per target, and never while dpkg runs there.

``hold(root, timeout)`` takes an exclusive flock on the target's root
directory (nothing is written for it; the kernel drops the lock when the
process dies, however it dies). A second run waits for it, saying so on
stderr, and gives up after ``timeout`` seconds (0: at once).
``check_dpkg_idle(root)`` refuses when another process holds dpkg's own
locks in the target (apt or dpkg running there).
"""

import contextlib
import fcntl
import logging
import os
import stat
import time

from akanda_slim import errors
from akanda_slim import rootfs

LOG = logging.getLogger(__name__)

DPKG_LOCKS = ('var/lib/dpkg/lock-frontend', 'var/lib/dpkg/lock')
PROC_LOCKS = '/proc/locks'
POLL_SECONDS = 0.5
PROGRESS_SECONDS = 30


def lock_holders(path, kind, locks_text=None):
    """Pids holding a ``kind`` ('FLOCK' or 'POSIX') lock on ``path``."""
    info = os.stat(path)
    wanted = '%02x:%02x:%d' % (os.major(info.st_dev), os.minor(info.st_dev),
                               info.st_ino)
    if locks_text is None:
        try:
            with open(PROC_LOCKS) as stream:
                locks_text = stream.read()
        except OSError:
            return []
    pids = []
    for line in locks_text.splitlines():
        fields = line.split()
        if fields[1:2] == ['->']:
            continue  # a process waiting for the lock, not holding it
        if len(fields) >= 6 and fields[1] == kind and fields[5] == wanted:
            pids.append(int(fields[4]))
    return pids


def _describe(pids):
    return ' (pid %s)' % ', '.join(str(p) for p in pids) if pids else ''


@contextlib.contextmanager
def hold(root, timeout):
    """Hold the target's lock for the block; wait up to ``timeout`` s."""
    root = os.path.realpath(root)
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise errors.TargetError('target %s: %s'
                                 % (root, exc.strerror)) from None
    try:
        _acquire(fd, root, timeout)
        yield
    finally:
        os.close(fd)


def _acquire(fd, root, timeout):
    started = time.monotonic()
    said = None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        waited = time.monotonic() - started
        holders = _describe(lock_holders(root, 'FLOCK'))
        if waited >= timeout:
            raise errors.ApplyError(
                'target %s is in use by another akanda-slim run%s; gave up '
                'after %d s (--lock-timeout)' % (root, holders, timeout))
        if said is None or waited - said >= PROGRESS_SECONDS:
            LOG.info('waiting for another akanda-slim run%s to finish '
                     'with %s', holders, root)
            said = waited
        time.sleep(POLL_SECONDS)


def check_dpkg_idle(root):
    """Refuse when apt or dpkg holds its lock in the target ``root``."""
    for relative in DPKG_LOCKS:
        path = rootfs.resolve(root, relative)
        if not os.path.lexists(path):
            continue
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_NOCTTY)
        except OSError as exc:
            raise errors.InputError('dpkg lock %s: %s'
                                    % (path, exc.strerror)) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise errors.InputError('dpkg lock %s is not a regular file'
                                        % path)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise errors.ApplyError(
                    'dpkg lock %s is held%s: apt or dpkg is running in %s; '
                    'wait for it to finish' % (
                        path, _describe(lock_holders(path, 'POSIX')),
                        root)) from None
            fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
