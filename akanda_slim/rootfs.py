"""Paths inside a target root, resolved as a chroot would, and bounded reads.

``resolve(root, path)`` follows symlinks one component at a time, taking an
absolute link target relative to ``root`` and ``..`` at the top as the top
itself (as inside a chroot), so the answer never leaves ``root``.
``read_bytes``/``read_text`` open only regular files, never block on a
FIFO or device, and refuse files over a size limit; each failure is one
``errors.InputError`` naming the file (exit 2).
"""

import errno
import os
import stat

from akanda_slim import errors

MAX_SYMLINKS = 40
DEFAULT_LIMIT = 256 * 1024 * 1024


def resolve(root, path, follow_last=True):
    """The host path of ``path`` inside ``root``, symlinks kept inside."""
    root = os.path.realpath(root)
    pending = list(reversed(path.split('/')))
    resolved = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ('', '.'):
            continue
        if part == '..':
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        if (follow_last or pending) and os.path.islink(candidate):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise errors.InputError('%s: too many levels of symbolic '
                                        'links inside %s' % (path, root))
            link = os.readlink(candidate)
            if link.startswith('/'):
                resolved = []
            pending.extend(reversed(link.split('/')))
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)


def read_bytes(path, limit=DEFAULT_LIMIT, what='file'):
    """The content of the regular file ``path``, at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as exc:
        raise errors.InputError('%s %s: %s' % (
            what, path, os.strerror(exc.errno))) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise errors.InputError('%s %s is not a regular file'
                                    % (what, path))
        if info.st_size > limit:
            raise errors.InputError('%s %s is too big (%d bytes, limit %d)'
                                    % (what, path, info.st_size, limit))
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
        if exc.errno == errno.EISDIR:
            raise errors.InputError('%s %s is a directory'
                                    % (what, path)) from None
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
