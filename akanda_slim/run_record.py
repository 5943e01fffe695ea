"""What a running apply has changed in its target, written in the target.

Before apply mounts a filesystem, replaces ``policy-rc.d`` or starts the
purge, it says so in ``var/lib/akanda-slim/apply-run.json`` inside the
target; when it has undone a change it takes it out again, and a run that
ends removes the file. A file found by a later run (holding the target's
lock, so no live run owns it) therefore lists what a killed run left:
see ``chroot.recover``. Every path is resolved inside the target.
"""

import json
import logging
import os
import time

from akanda_slim import errors
from akanda_slim import rootfs

LOG = logging.getLogger(__name__)

RECORD_DIR = 'var/lib/akanda-slim'
RECORD_FILE = RECORD_DIR + '/apply-run.json'
LIMIT = 64 * 1024
MOUNT_NAMES = ('proc', 'sys', 'dev')


class RunRecord:
    """The changes one run made to ``root``, saved on every change.

    ``mounts``: [{'name': 'proc', 'mount_id': 42 or None (not yet
    known)}]; ``policy_rc_d``: None, or {'saved': whether the target's
    own was moved aside}; ``purge``: None, or the package names being
    purged.
    """

    def __init__(self, root, pid=None, mounts=(), policy_rc_d=None,
                 purge=None, started=None):
        self.root = root
        self.pid = os.getpid() if pid is None else pid
        self.started = time.time() if started is None else started
        self.mounts = [dict(m) for m in mounts]
        self.policy_rc_d = policy_rc_d
        self.purge = purge

    @property
    def path(self):
        return rootfs.resolve(self.root, RECORD_FILE)

    def is_empty(self):
        return not (self.mounts or self.policy_rc_d or self.purge)

    def to_dict(self):
        return {'pid': self.pid, 'started': self.started,
                'mounts': self.mounts, 'policy_rc_d': self.policy_rc_d,
                'purge': self.purge}

    def save(self):
        """Write the record atomically (or remove it once empty)."""
        if self.is_empty():
            self.remove()
            return
        directory = rootfs.resolve(self.root, RECORD_DIR)
        try:
            os.makedirs(directory, mode=0o755, exist_ok=True)
            temporary = os.path.join(directory, '.apply-run.json.new')
            if os.path.lexists(temporary):
                os.unlink(temporary)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | os.O_NOFOLLOW, 0o644)
            with os.fdopen(fd, 'w') as stream:
                json.dump(self.to_dict(), stream, indent=1)
                stream.write('\n')
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, os.path.join(directory, 'apply-run.json'))
        except OSError as exc:
            raise errors.ApplyError('cannot write the run record %s: %s'
                                    % (self.path, exc.strerror)) from None

    def remove(self):
        path = self.path
        if os.path.lexists(path):
            os.unlink(path)
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass  # not empty, or already gone: only ours is removed

    @classmethod
    def load(cls, root):
        """The record a run left in ``root``, or None when there is none."""
        path = rootfs.resolve(root, RECORD_FILE)
        if not os.path.lexists(path):
            return None
        text = rootfs.read_text(path, LIMIT, 'run record')
        try:
            data = json.loads(text)
            record = cls(root, pid=int(data['pid']),
                         started=float(data['started']),
                         mounts=data['mounts'],
                         policy_rc_d=data['policy_rc_d'],
                         purge=data['purge'])
            _check(record)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise errors.InputError(
                'run record %s is malformed (%s): it is where akanda-slim '
                'notes what a run mounted and changed; check the target '
                '(mounts below it, usr/sbin/policy-rc.d) and remove the '
                'file' % (path, exc)) from None
        return record


def _check(record):
    for mount in record.mounts:
        if mount['name'] not in MOUNT_NAMES:
            raise ValueError('unknown mount %r' % mount['name'])
        if mount['mount_id'] is not None:
            int(mount['mount_id'])
    if record.policy_rc_d is not None:
        bool(record.policy_rc_d['saved'])
    if record.purge is not None and not all(
            isinstance(name, str) for name in record.purge):
        raise ValueError('purge names are not strings')
