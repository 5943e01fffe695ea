"""Open a target's file only once it is known to be a regular file.

``open_regular(path, flags, what)`` opens ``path`` with ``O_PATH`` first
(which opens nothing: no FIFO blocks, no device driver runs), checks the
kind and size of what it got, and only then opens that same inode for
reading or writing through ``/proc/self/fd``. A symbolic link (unless
``follow_links``), FIFO, socket, device or directory is refused, as is a
file over ``limit`` bytes; each failure is one ``errors.InputError``
naming the file (exit 2).
"""

import os
import stat

from akanda_slim import errors


def open_regular(path, flags=os.O_RDONLY, what='file', limit=None,
                 follow_links=False):
    """A file descriptor of the regular file ``path``, opened ``flags``."""
    try:
        handle = os.open(path, os.O_PATH | (
            0 if follow_links else os.O_NOFOLLOW))
    except OSError as exc:
        raise errors.InputError('%s %s: %s' % (
            what, path, os.strerror(exc.errno))) from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise errors.InputError('%s %s is not a regular file'
                                    % (what, path))
        if limit is not None and info.st_size > limit:
            raise errors.InputError('%s %s is too big (%d bytes, limit %d)'
                                    % (what, path, info.st_size, limit))
        try:
            return os.open('/proc/self/fd/%d' % handle,
                           flags | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise errors.InputError('%s %s: %s' % (
                what, path, os.strerror(exc.errno))) from None
    finally:
        os.close(handle)
