"""Run commands inside a target root, with what dpkg maintainer scripts need.

``Chroot(root, record)`` mounts /proc, /sys and a private /dev (a small tmpfs
holding only the device nodes maintainer scripts use, never a bind of the
host's: removing a tree a killed run left mounted cannot delete the host's
device nodes) on the target's own directories, and puts a ``policy-rc.d`` in
place that keeps services from starting (moving the target's own aside); on the
way out it undoes exactly that. It mounts only on real directories of the
target (never through a symlink) and never over a mount: a mount already there
of the right kind (diskimage-builder mounts them too) is used and left alone,
one of another kind is refused. Every change is noted in the ``apply_journal``
before it is made, so ``recover`` can undo what a killed run left. Callers hold
``target_lock`` for the target.
"""

import logging
import os
import stat
import subprocess
import time

from akanda_slim.debian import rootfs
from akanda_slim import errors
from akanda_slim import process
from akanda_slim.slim import mountinfo
from akanda_slim import termination

LOG = logging.getLogger(__name__)

POLICY_RC_D = 'usr/sbin/policy-rc.d'
SAVED_SUFFIX = '.akanda-slim-saved'
# Marks our policy-rc.d (earlier versions wrote the same line).
MARKER = '# akanda-slim: no services in chroot'
POLICY_RC_D_TEXT = ('#!/bin/sh\n%s; removed when akanda-slim apply ends\n'
                    'exit 101\n' % MARKER)
ENVIRONMENT = {
    'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'DEBIAN_FRONTEND': 'noninteractive',
    'DEBCONF_NONINTERACTIVE_SEEN': 'true',
    'LC_ALL': 'C',
    'LANG': 'C',
    'HOME': '/root',
}
# name -> mount(8) arguments (the source, the run record's
# ``mount_source``, follows); the accepted kinds of an existing mount.
MOUNTS = (
    ('proc', ['-t', 'proc'], ('proc',)),
    ('sys', ['-t', 'sysfs'], ('sysfs',)),
    # None: a tmpfs, or whatever the host's /dev is (DIB binds it).
    ('dev', ['-t', 'tmpfs', '-o', 'mode=0755,size=1m,nosuid'], None),
)
# The private /dev's character devices: name -> (major, minor).
DEVICE_NODES = {'null': (1, 3), 'zero': (1, 5), 'full': (1, 7),
                'random': (1, 8), 'urandom': (1, 9), 'tty': (5, 0)}
DEVICE_LINKS = {'fd': '/proc/self/fd', 'stdin': '/proc/self/fd/0',
                'stdout': '/proc/self/fd/1', 'stderr': '/proc/self/fd/2'}
# A signalled child gets this long to exit before its group is killed.
CHILD_GRACE_SECONDS = 30


def is_running_system(root):
    """Whether ``root`` is this machine's own root directory."""
    try:
        return os.path.samefile(root, '/')
    except OSError:
        return False


def _accepted_kinds(name, kinds):
    if kinds is not None:
        return kinds
    host_dev = mountinfo.at('/dev')
    return ('tmpfs', host_dev.fstype if host_dev else 'devtmpfs')


def populate_dev(path):
    """Make the private /dev's nodes, links and directories in ``path``."""
    for name, (major, minor) in DEVICE_NODES.items():
        node = os.path.join(path, name)
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(node, 0o666)
    for name, target in DEVICE_LINKS.items():
        os.symlink(target, os.path.join(path, name))
    for name in ('pts', 'shm'):
        os.mkdir(os.path.join(path, name), 0o1777 if name == 'shm' else 0o755)


def mount_point(root, name):
    """The host path to mount ``name`` on: a real directory of ``root``."""
    path = os.path.join(os.path.realpath(root), name)
    if os.path.islink(path):
        raise errors.InputError(
            '%s is a symbolic link (to %s): akanda-slim mounts only on the '
            "target's own directories" % (path, os.readlink(path)))
    if not os.path.isdir(path):
        raise errors.InputError('%s is missing or not a directory; a Debian '
                                'root has it' % path)
    if rootfs.resolve(root, name) != path:  # belt and braces
        raise errors.InputError('%s does not resolve to itself' % path)
    return path


def _umount(path):
    """Unmount ``path``; lazily when it is busy. Returns how, or None."""
    result = process.run(['umount', path], check=False)
    if result.returncode == 0:
        return 'unmounted'
    result = process.run(['umount', '--lazy', path], check=False)
    if result.returncode == 0:
        return 'unmounted lazily (it was busy)'
    LOG.warning('cannot unmount %s: %s', path, result.stdout.strip())
    return None


def _policy_paths(root):
    directory = rootfs.resolve(root, os.path.dirname(POLICY_RC_D))
    path = os.path.join(directory, os.path.basename(POLICY_RC_D))
    return directory, path, path + SAVED_SUFFIX


def is_ours(path):
    """Whether ``path`` is a policy-rc.d that akanda-slim wrote."""
    if os.path.islink(path) or not os.path.isfile(path):
        return False
    try:
        text = rootfs.read_text(path, 4096, 'policy-rc.d')
    except errors.InputError:
        return False
    return MARKER in text


class Chroot:
    """A prepared target; use as a context manager, then ``run``."""

    def __init__(self, root, record):
        self.root = os.path.realpath(root)
        self.record = record
        self.running_system = is_running_system(root)

    def __enter__(self):
        try:
            if not self.running_system:
                for name, arguments, kinds in MOUNTS:
                    self._mount(name, arguments, kinds)
            self._block_services()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _mount(self, name, arguments, kinds):
        path = mount_point(self.root, name)
        kinds = _accepted_kinds(name, kinds)
        existing = mountinfo.at(path)
        if existing is not None:
            if existing.fstype not in kinds:
                raise errors.InputError(
                    '%s is already a %s mount, not %s; akanda-slim does '
                    'not mount over it' % (path, existing.fstype,
                                           ' or '.join(kinds)))
            LOG.debug('using the %s already mounted on %s', existing.fstype,
                      path)
            return
        with termination.deferred():
            entry = {'name': name, 'mount_id': None}
            self.record.mounts.append(entry)
            self.record.save()
            process.run(['mount'] + arguments
                        + [self.record.mount_source, path])
            mounted = mountinfo.at(path)
            if mounted is None:
                raise errors.ApplyError('mount %s: nothing is mounted there '
                                        'afterwards' % path)
            entry['mount_id'] = mounted.mount_id
            self.record.save()
            if name == 'dev':
                populate_dev(path)

    def _block_services(self):
        directory, path, saved = _policy_paths(self.root)
        if not os.path.isdir(directory):
            LOG.debug('no %s in %s: no services to block', directory,
                      self.root)
            return
        if os.path.lexists(saved):
            raise errors.InputError(
                '%s exists: an earlier run kept the target\'s own '
                'policy-rc.d there; restore it or remove it' % saved)
        with termination.deferred():
            had_own = os.path.lexists(path)
            self.record.policy_rc_d = {'saved': had_own}
            self.record.save()
            if had_own:
                os.rename(path, saved)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL
                         | os.O_NOFOLLOW, 0o755)
            with os.fdopen(fd, 'w') as script:
                script.write(POLICY_RC_D_TEXT)

    def __exit__(self, *exc_info):
        with termination.deferred():
            problems = restore_policy_rc_d(self.root, self.record)
            problems += unmount_recorded(self.root, self.record)
            self.record.save()
        for problem in problems:
            LOG.warning('%s', problem)

    def argv(self, command):
        if self.running_system:
            return list(command)
        return ['chroot', self.root] + list(command)

    def run(self, command, check=True):
        """Run ``command`` (a list) in the target; a CompletedProcess.

        The command runs in its own process group: a termination signal
        is passed to that group, which then gets CHILD_GRACE_SECONDS to
        end before it is killed; only then does the signal unwind this
        process, so nothing still runs in the target when it is
        unmounted. With ``check``, a non-zero exit raises
        ``errors.CommandError``.
        """
        argv = self.argv(command)
        LOG.debug('running in %s: %s', self.root, ' '.join(command))
        with termination.deferred():
            try:
                child = subprocess.Popen(
                    argv, env=ENVIRONMENT, text=True, errors='replace',
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, start_new_session=True)
            except FileNotFoundError:
                raise errors.MissingToolError('%s: program not found'
                                              % argv[0]) from None
            with termination.forwarding(child.pid):
                output, _ = child.communicate()
                if termination.pending() is not None:
                    _wait_for_group(child.pid)
            termination.raise_pending('%s was stopped in %s' % (
                ' '.join(command), self.root))
        if check and child.returncode != 0:
            raise errors.CommandError(argv, child.returncode, output)
        return subprocess.CompletedProcess(argv, child.returncode, output)


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for_group(pgid):
    """Wait for every process of group ``pgid`` to end; kill stragglers."""
    deadline = time.monotonic() + CHILD_GRACE_SECONDS
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(pgid):
        LOG.warning('killing what is left of process group %d', pgid)
        os.killpg(pgid, 9)
        while _group_alive(pgid):
            time.sleep(0.1)


def restore_policy_rc_d(root, record, done=None):
    """Remove our policy-rc.d and put the target's own back; problems.

    ``done`` collects what was done, as text.
    """
    if record.policy_rc_d is None:
        return []
    directory, path, saved = _policy_paths(root)
    problems = []
    done = [] if done is None else done
    if is_ours(path):
        os.unlink(path)
        done.append('removed its %s' % POLICY_RC_D)
    elif os.path.lexists(path):
        problems.append('%s was replaced while akanda-slim ran; left as '
                        'it is' % path)
    if record.policy_rc_d.get('saved') and os.path.lexists(saved):
        if os.path.lexists(path):
            problems.append("the target's own policy-rc.d is kept at %s"
                            % saved)
        else:
            os.rename(saved, path)
            done.append("put the target's own %s back" % POLICY_RC_D)
    record.policy_rc_d = None
    return problems


def unmount_recorded(root, record, done=None):
    """Unmount what ``record`` says was mounted; problems, as text.

    A mount is ours when its source is the record's ``mount_source`` (its
    run's nonce) and its mount id the recorded one (not yet recorded:
    killed between mount and note). ``done`` collects what was unmounted.
    """
    problems = []
    kept = []
    for entry in reversed(record.mounts):
        name = entry['name']
        path = os.path.join(os.path.realpath(root), name)
        if os.path.islink(path) or not os.path.isdir(path):
            continue  # nothing can be mounted on it: nothing of ours there
        mounted = mountinfo.at(path)
        if mounted is None:
            continue
        ours = mounted.source == record.mount_source and (
            entry['mount_id'] is None
            or mounted.mount_id == entry['mount_id'])
        if not ours:
            continue
        how = _umount(path)
        if how is None:
            problems.append('%s is still mounted' % path)
            kept.append(entry)
        elif done is not None:
            done.append('%s %s' % (how, path))
    record.mounts = list(reversed(kept))
    return problems


def recover(root, record):
    """Undo what a run that did not end left in ``root``; what was done.

    Unmounts what its ``record`` lists, removes its policy-rc.d and puts
    the target's own back. Whether its purge finished is left in
    ``record.purge`` for the caller. A policy-rc.d of ours is removed even
    without a record (earlier versions kept none).
    """
    done = []
    problems = []
    if record is not None:
        problems += unmount_recorded(root, record, done)
        problems += restore_policy_rc_d(root, record, done)
    else:
        _, path, _ = _policy_paths(root)
        if is_ours(path):
            os.unlink(path)
            done.append('removed a %s left by an earlier version'
                        % POLICY_RC_D)
    if problems:
        raise errors.ApplyError(
            'cannot undo what an earlier run left in %s: %s'
            % (root, '; '.join(problems)))
    return done
