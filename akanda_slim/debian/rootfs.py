"""Paths inside a target root, resolved as a chroot would, and bounded reads.

One resolver for every path the project touches in a target: symlinks are
followed one component at a time on open directory descriptors, an absolute
link target is taken relative to the root and ``..`` at the top stays at the
top (as inside a chroot), so no answer and no change ever leaves the root.

``resolve(root, path)`` gives the host path; ``write_file``, ``symlink``,
``remove``, ``remove_tree`` and ``lstat`` act on the resolved entry through
its directory's descriptor and never follow a link with the host's view of
the tree. ``read_bytes``/``read_text`` open only regular files, never block
on a FIFO or device, and refuse files over a size limit. Each failure is one
``errors.InputError`` naming the path (exit 2).
"""

import contextlib
import errno
import os
import shutil
import stat

from akanda_slim.debian import regular_file
from akanda_slim import errors

MAX_SYMLINKS = 40
DEFAULT_LIMIT = 256 * 1024 * 1024
_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _Walk:
    """Descriptors of the directories from the root down to a path's parent.

    ``names`` are the resolved components; ``fds`` the open directories for
    the first ``len(fds) - 1`` of them (the rest do not exist yet).
    """

    def __init__(self, root):
        self.root = os.path.realpath(root)
        self.names = []
        try:
            self.fds = [os.open(self.root, _DIR_FLAGS)]
        except (FileNotFoundError, NotADirectoryError):
            self.fds = []  # no root: every path is its name only
        except OSError as exc:
            raise errors.InputError('target root %s: %s' % (
                root, os.strerror(exc.errno))) from None

    def close(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []

    def exists_so_far(self):
        return len(self.fds) == len(self.names) + 1

    def up(self):
        if self.names:
            if self.exists_so_far():
                os.close(self.fds.pop())
            self.names.pop()

    def top(self):
        while self.names:
            self.up()

    def enter(self, part, create=False):
        """Step into directory ``part`` (not a link), creating it if asked.

        Without ``create`` a missing directory is entered by name only.
        """
        if not self.exists_so_far():
            self.names.append(part)
            return
        try:
            if create:
                try:
                    os.mkdir(part, 0o755, dir_fd=self.fds[-1])
                except FileExistsError:
                    pass  # opened below without following a link
            fd = os.open(part, _DIR_FLAGS, dir_fd=self.fds[-1])
        except (FileNotFoundError, NotADirectoryError):
            if create:
                raise errors.InputError('%s: not a directory'
                                        % self.path(part)) from None
            self.names.append(part)
            return
        except OSError as exc:
            raise errors.InputError('%s: %s' % (
                self.path(part), os.strerror(exc.errno))) from None
        self.fds.append(fd)
        self.names.append(part)

    def link_target(self, part):
        """The target of ``part`` if it is a symlink, else None."""
        if not self.exists_so_far():
            return None
        try:
            return os.readlink(part, dir_fd=self.fds[-1])
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT):
                return None
            raise errors.InputError('%s: %s' % (
                self.path(part), os.strerror(exc.errno))) from None

    def path(self, last=None):
        names = self.names + ([last] if last else [])
        return os.path.join(self.root, *names)


def check_root(root):
    """Refuse a target root that is not a directory (InputError)."""
    if not os.path.isdir(root):
        raise errors.InputError('target root %s is not a directory' % root)


def _walk(root, path, follow_last=True, create=False):
    """A ``_Walk`` at ``path``'s parent and the last component (or '').

    With ``follow_last`` a symlink as the last component is followed too.
    With ``create`` missing directories on the way are made (0755).
    """
    walk = _Walk(root)
    try:
        pending = list(reversed(path.split('/')))
        hops = 0
        last = ''
        while pending:
            part = pending.pop()
            if part in ('', '.'):
                continue
            if part == '..':
                walk.up()
                continue
            if not any(p not in ('', '.') for p in pending):
                pending = []
            is_last = not pending
            link = (walk.link_target(part)
                    if follow_last or not is_last else None)
            if link is not None:
                hops += 1
                if hops > MAX_SYMLINKS:
                    raise errors.InputError('%s: too many levels of symbolic '
                                            'links inside %s'
                                            % (path, walk.root))
                if link.startswith('/'):
                    walk.top()
                pending.extend(reversed(link.split('/')))
                continue
            if is_last:
                last = part
                break
            walk.enter(part, create=create)
        return walk, last
    except BaseException:
        walk.close()
        raise


def resolve(root, path, follow_last=True):
    """The host path of ``path`` inside ``root``, symlinks kept inside."""
    walk, last = _walk(root, path, follow_last)
    walk.close()
    return walk.path(last)


@contextlib.contextmanager
def parent(root, path, follow_last=True, create=False):
    """Yield (directory fd, name, host path) of ``path`` resolved in-root.

    The name is '' when ``path`` is the root itself. With ``create`` the
    directories on the way are made.
    """
    walk, last = _walk(root, path, follow_last, create)
    try:
        if not walk.exists_so_far():
            raise errors.InputError('%s: no such directory'
                                    % os.path.dirname(walk.path(last)))
        yield walk.fds[-1], last, walk.path(last)
    finally:
        walk.close()


def lstat(root, path, follow_last=True):
    """The stat result of ``path`` in-root, or None when it is missing.

    Its last link is followed (in-root) unless ``follow_last`` is false.
    """
    try:
        with parent(root, path, follow_last) as (fd, name, _host):
            if not name:
                return os.stat(fd)
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (errors.InputError, FileNotFoundError, NotADirectoryError):
        return None


def _kind_error(host, what):
    return errors.InputError('%s is %s, not replaced' % (host, what))


def write_file(root, path, data, mode=0o644):
    """Write ``data`` (bytes or str) to ``path`` in-root; returns its path.

    Missing directories are made; an existing link is followed in-root;
    anything but a regular file there is refused.
    """
    if isinstance(data, str):
        data = data.encode()
    with parent(root, path, create=True) as (dirfd, name, host):
        if not name:
            raise _kind_error(host, 'the target root')
        flags = (os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                 | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            fd = os.open(name, flags, mode, dir_fd=dirfd)
        except OSError as exc:
            raise errors.InputError('%s: %s' % (
                host, os.strerror(exc.errno))) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise _kind_error(host, 'not a regular file')
            os.ftruncate(fd, 0)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    return host


def symlink(root, path, target):
    """Make ``path`` in-root a symlink to ``target``, as ``ln -sfn``.

    An existing file or link is replaced, a directory refused.
    """
    with parent(root, path, follow_last=False, create=True) as (
            dirfd, name, host):
        info = _lstat_at(dirfd, name)
        if info is not None:
            if not name or stat.S_ISDIR(info.st_mode):
                raise _kind_error(host, 'a directory')
            os.unlink(name, dir_fd=dirfd)
        os.symlink(target, name, dir_fd=dirfd)
    return host


def remove(root, path):
    """Remove the file or link ``path`` in-root; returns the bytes freed.

    Never what a link names; a missing one is no error.
    """
    try:
        with parent(root, path, follow_last=False) as (dirfd, name, host):
            info = _lstat_at(dirfd, name)
            if info is None:
                return 0
            if not name or stat.S_ISDIR(info.st_mode):
                raise _kind_error(host, 'a directory')
            os.unlink(name, dir_fd=dirfd)
            return info.st_blocks * 512
    except errors.InputError:
        if lstat(root, os.path.dirname(path.rstrip('/')) or '/') is None:
            return 0
        raise


def remove_tree(dirfd, name):
    """Remove directory ``name`` under ``dirfd``; returns the bytes freed.

    Links inside are removed as links.
    """
    freed = tree_size(dirfd, name)
    shutil.rmtree(name, dir_fd=dirfd)
    return freed


def tree_size(dirfd, name):
    """Allocated bytes of ``name`` under ``dirfd``, a directory's content too.

    Links are not followed.
    """
    info = _lstat_at(dirfd, name)
    if info is None:
        return 0
    total = info.st_blocks * 512
    if stat.S_ISDIR(info.st_mode):
        top = os.open(name, _DIR_FLAGS & ~os.O_PATH | os.O_RDONLY,
                      dir_fd=dirfd)
        try:
            for _path, dirs, files, fd in os.fwalk(dir_fd=top):
                for entry in dirs + files:
                    entry_info = _lstat_at(fd, entry)
                    if entry_info is not None:
                        total += entry_info.st_blocks * 512
        finally:
            os.close(top)
    return total


def _lstat_at(dirfd, name):
    try:
        if not name:
            return os.stat(dirfd)
        return os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def read_bytes(path, limit=DEFAULT_LIMIT, what='file'):
    """The content of the regular file ``path``, at most ``limit`` bytes."""
    fd = regular_file.open_regular(path, os.O_RDONLY, what, limit,
                                   follow_links=True)
    try:
        chunks = []
        size = 0
        while True:
            chunk = os.read(fd, 1024 * 1024)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise errors.InputError('%s %s grew past %d bytes'
                                        % (what, path, limit))
            chunks.append(chunk)
        return b''.join(chunks)
    except OSError as exc:
        raise errors.InputError('%s %s: %s' % (
            what, path, os.strerror(exc.errno))) from None
    finally:
        os.close(fd)


def read_text(path, limit=DEFAULT_LIMIT, what='file', encoding='utf-8'):
    """``read_bytes`` decoded; undecodable bytes are an InputError."""
    data = read_bytes(path, limit, what)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise errors.InputError('%s %s: not %s text at byte %d'
                                % (what, path, encoding, exc.start)) from None
