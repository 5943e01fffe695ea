"""One apply at a time per target, and never while dpkg runs there.

``hold(root, timeout)`` takes an exclusive flock on the target's root
directory (nothing is written for it; the kernel drops the lock when the
process dies, however it dies). A second run waits for it, saying so on
stderr, and gives up after ``timeout`` seconds (0: at once).
``wait_for_dpkg(root, timeout)`` waits the same way while another process
holds dpkg's own locks in the target (apt or dpkg running there, such as
the dpkg a killed apply left running). A lock file is opened only once
it is known to be a regular file (``regular_file``): never a device.
"""

import contextlib
import fcntl
import logging
import os
import time

from akanda_slim.debian import regular_file
from akanda_slim.debian import rootfs
from akanda_slim import errors

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


def _wait(try_lock, holders, timeout, waiting, gave_up):
    """Call ``try_lock()`` until it is true; give up after ``timeout`` s.

    Logs ``waiting(holders())`` at once and every PROGRESS_SECONDS;
    raises ApplyError ``gave_up(holders())`` after ``timeout`` seconds.
    """
    started = time.monotonic()
    said = None
    while not try_lock():
        waited = time.monotonic() - started
        if waited >= timeout:
            raise errors.ApplyError('%s; gave up after %d s (--lock-timeout)'
                                    % (gave_up(holders()), timeout))
        if said is None or waited - said >= PROGRESS_SECONDS:
            LOG.info('%s', waiting(holders()))
            said = waited
        time.sleep(POLL_SECONDS)


def _try(lock, fd, flags):
    try:
        lock(fd, flags)
        return True
    except OSError:  # BlockingIOError, or EACCES/EAGAIN from lockf
        return False


def _acquire(fd, root, timeout):
    _wait(lambda: _try(fcntl.flock, fd, fcntl.LOCK_EX | fcntl.LOCK_NB),
          lambda: _describe(lock_holders(root, 'FLOCK')), timeout,
          lambda who: 'waiting for another akanda-slim run%s to finish '
                      'with %s' % (who, root),
          lambda who: 'target %s is in use by another akanda-slim run%s'
                      % (root, who))


def wait_for_dpkg(root, timeout=0):
    """Wait while apt or dpkg holds its lock in the target ``root``.

    Gives up after ``timeout`` seconds (0: refuse at once) with an
    ApplyError; a lock path that is no regular file is an InputError.
    """
    for relative in DPKG_LOCKS:
        path = rootfs.resolve(root, relative)
        if not os.path.lexists(path):
            continue
        fd = regular_file.open_regular(path, os.O_RDWR, 'dpkg lock')
        try:
            _wait(lambda: _try(fcntl.lockf, fd,
                               fcntl.LOCK_EX | fcntl.LOCK_NB),
                  lambda: _describe(lock_holders(path, 'POSIX')), timeout,
                  lambda who: 'waiting for apt or dpkg%s to finish in %s'
                              % (who, root),
                  lambda who: 'dpkg lock %s is held%s: apt or dpkg is '
                              'running in %s' % (path, who, root))
            fcntl.lockf(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
