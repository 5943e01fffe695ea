"""What a running apply has changed in its target, written in the target.

Before apply mounts a filesystem, replaces ``policy-rc.d`` or starts the
purge, it says so in ``var/lib/akanda-slim/apply-run.json`` inside the
target; when it has undone a change it takes it out again, and a run that
ends removes the file. A file found by a later run (holding the target's
lock, so no live run owns it) therefore lists what a killed run left:
see ``chroot.recover``. Every path is resolved inside the target.

A record is checked, by type and range, before anything acts on it; one
that does not check is refused with what to do (nothing runs). A record
carries this boot's ID and a random nonce that its run also writes into
the mounts it makes (their source, ``mount_source``): ``this_boot``
says whether it was written since this host booted, and ``chroot``
unmounts only mounts carrying its nonce, so a record written by anyone
else cannot make apply unmount what it did not mount.
"""

import json
import logging
import math
import os
import re
import secrets
import time

from akanda_slim.debian import rootfs
from akanda_slim import errors

LOG = logging.getLogger(__name__)

RECORD_DIR = 'var/lib/akanda-slim'
RECORD_FILE = RECORD_DIR + '/apply-run.json'
LIMIT = 64 * 1024
MOUNT_NAMES = ('proc', 'sys', 'dev')
BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id'
SOURCE_PREFIX = 'akanda-slim-'
MAX_PID = 2 ** 22            # the kernel's highest pid_max
MAX_MOUNT_ID = 2 ** 31 - 1
MAX_PURGE = 100000
KEYS = ('pid', 'started', 'boot_id', 'nonce', 'mounts', 'policy_rc_d',
        'purge')
_BOOT_ID = re.compile(r'[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\Z')
_NONCE = re.compile(r'[0-9a-f]{32}\Z')
# A package name, or name:arch, as dpkg accepts them (never an option).
_PACKAGE = re.compile(r'[A-Za-z0-9][A-Za-z0-9+._-]*'
                      r'(:[A-Za-z0-9][A-Za-z0-9-]*)?\Z')


def current_boot_id():
    """This boot's ID (the kernel's), or '' when it cannot be read."""
    try:
        with open(BOOT_ID_FILE) as stream:
            return stream.read(64).strip()
    except OSError:
        return ''


class RunRecord:
    """The changes one run made to ``root``, saved on every change.

    ``mounts``: [{'name': 'proc', 'mount_id': 42 or None (not yet
    known)}]; ``policy_rc_d``: None, or {'saved': whether the target's
    own was moved aside}; ``purge``: None, or the package names being
    purged; ``boot_id`` and ``nonce``: see the module.
    """

    def __init__(self, root, pid=None, mounts=(), policy_rc_d=None,
                 purge=None, started=None, boot_id=None, nonce=None):
        self.root = root
        self.pid = os.getpid() if pid is None else pid
        self.started = time.time() if started is None else started
        self.mounts = [dict(m) for m in mounts]
        self.policy_rc_d = policy_rc_d
        self.purge = purge
        self.boot_id = current_boot_id() if boot_id is None else boot_id
        self.nonce = secrets.token_hex(16) if nonce is None else nonce

    @property
    def mount_source(self):
        """The source its run gives the mounts it makes (mountinfo)."""
        return SOURCE_PREFIX + self.nonce

    def this_boot(self):
        """Whether the record was written since this host booted."""
        return bool(self.boot_id) and self.boot_id == current_boot_id()

    @property
    def path(self):
        return rootfs.resolve(self.root, RECORD_FILE)

    def is_empty(self):
        return not (self.mounts or self.policy_rc_d or self.purge)

    def to_dict(self):
        return {'pid': self.pid, 'started': self.started,
                'boot_id': self.boot_id, 'nonce': self.nonce,
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
        """The record a run left in ``root``, or None when there is none.

        A record that is not what apply writes (bad JSON, a field of the
        wrong type or out of range) is an InputError saying how to
        recover; nothing has been done then.
        """
        path = rootfs.resolve(root, RECORD_FILE)
        if not os.path.lexists(path):
            return None
        try:
            text = rootfs.read_text(path, LIMIT, 'run record')
            data = json.loads(text, parse_constant=_no_constant)
            return cls(root, **checked(data))
        except (errors.InputError, ValueError, RecursionError) as exc:
            reason = str(exc) if not isinstance(exc, RecursionError) \
                else 'nested too deeply'
            raise errors.InputError(
                'run record %s is not one akanda-slim apply writes (%s); '
                'nothing was done. It notes what a killed apply mounted '
                'and changed: check the target (mounts below it, '
                'usr/sbin/policy-rc.d, dpkg --audit in it), remove the file '
                'and run apply again' % (path, reason)) from None


def _no_constant(name):
    raise ValueError('%s is not a number a run record holds' % name)


def _short(value):
    return repr(value)[:40]


def _integer(value, low, high, what):
    if type(value) is not int or not low <= value <= high:
        raise ValueError('%s %s is not an integer from %d to %d'
                         % (what, _short(value), low, high))
    return value


def _text(value, pattern, what):
    if type(value) is not str or not pattern.match(value):
        raise ValueError('%s %s is malformed' % (what, _short(value)))
    return value


def _mounts(value):
    if type(value) is not list or len(value) > len(MOUNT_NAMES):
        raise ValueError('mounts %s is not a list of at most %d'
                         % (_short(value), len(MOUNT_NAMES)))
    seen = set()
    for mount in value:
        if type(mount) is not dict or set(mount) != {'name', 'mount_id'}:
            raise ValueError('mount %s is not {name, mount_id}'
                             % _short(mount))
        if mount['name'] not in MOUNT_NAMES or mount['name'] in seen:
            raise ValueError('unknown or repeated mount %s'
                             % _short(mount['name']))
        seen.add(mount['name'])
        if mount['mount_id'] is not None:
            _integer(mount['mount_id'], 1, MAX_MOUNT_ID, 'mount_id')
    return value


def _policy_rc_d(value):
    if value is not None and (type(value) is not dict or set(value) != {
            'saved'} or type(value['saved']) is not bool):
        raise ValueError('policy_rc_d %s is not null or {saved: true|false}'
                         % _short(value))
    return value


def _purge(value):
    if value is None:
        return None
    if type(value) is not list or not value or len(value) > MAX_PURGE:
        raise ValueError('purge %s is not null or a list of 1 to %d '
                         'package names' % (_short(value), MAX_PURGE))
    for name in value:
        _text(name, _PACKAGE, 'package name')
    return value


def checked(data):
    """RunRecord's keyword arguments from a loaded record; ValueError."""
    if type(data) is not dict or sorted(data) != sorted(KEYS):
        raise ValueError('not an object of exactly %s' % ', '.join(KEYS))
    started = data['started']
    if type(started) not in (int, float) or not math.isfinite(started) \
            or not 0 <= started <= 2 ** 40:
        raise ValueError('started %s is not a time' % _short(started))
    return {'pid': _integer(data['pid'], 1, MAX_PID, 'pid'),
            'started': started,
            'boot_id': _text(data['boot_id'], _BOOT_ID, 'boot_id'),
            'nonce': _text(data['nonce'], _NONCE, 'nonce'),
            'mounts': _mounts(data['mounts']),
            'policy_rc_d': _policy_rc_d(data['policy_rc_d']),
            'purge': _purge(data['purge'])}
