"""Remove an image's own kernel and initrd from /boot, inside its root.

``python -m akanda_slim.slim.boot_files ROOT IMAGE_NAME`` removes
boot/vmlinuz-* and boot/initrd.img-* (files or links) and the vmlinuz /
initrd.img links linux-update-symlinks made at the top and in /boot, then
prints what it freed. The slim element's cleanup.d hook calls it for a
filesystem image that boots with the kernel and initrd beside it. Paths
resolve in-root (``rootfs``): a link is removed, never what it names.
"""

import fnmatch
import os
import stat
import sys

from akanda_slim.debian import rootfs
from akanda_slim import dib_entry
from akanda_slim import errors

BOOT_FILES = ('vmlinuz-*', 'initrd.img-*')
BOOT_LINKS = ('vmlinuz', 'vmlinuz.old', 'initrd.img', 'initrd.img.old')


def _entries(root, directory):
    """Names in ``directory`` in-root, with their lstat (links as links)."""
    try:
        with rootfs.parent(root, directory) as (dirfd, name, _host):
            fd = os.open(name or '.', os.O_RDONLY | os.O_DIRECTORY
                         | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dirfd)
    except (OSError, errors.InputError):
        return []
    try:
        return [(entry, os.stat(entry, dir_fd=fd, follow_symlinks=False))
                for entry in sorted(os.listdir(fd))]
    finally:
        os.close(fd)


def remove_boot_files(root):
    """Remove the files and links; returns [(path, size)] of the files."""
    removed = []
    for name, info in _entries(root, 'boot'):
        kind = stat.S_IFMT(info.st_mode)
        if kind not in (stat.S_IFREG, stat.S_IFLNK):
            continue
        path = '/boot/' + name
        if any(fnmatch.fnmatchcase(name, p) for p in BOOT_FILES):
            rootfs.remove(root, path)
            removed.append((path, info.st_size))
    for directory in ('/', '/boot'):
        for name, info in _entries(root, directory):
            if name in BOOT_LINKS and stat.S_ISLNK(info.st_mode):
                rootfs.remove(root, os.path.join(directory, name))
    return removed


def summary(removed, image):
    """The line the hook prints, or None when nothing was removed."""
    if not removed:
        return None
    total = sum(size for _path, size in removed)
    return ('slim: removed %s (%.1f MiB); the image boots with %s.vmlinuz '
            'and %s.initrd' % (', '.join(path for path, _size in removed),
                               total / 1048576, image, image))


def _run(root, image):
    rootfs.check_root(root)
    line = summary(remove_boot_files(root), image)
    if line:
        print(line)


def main(argv=None):
    return dib_entry.main('akanda_slim.slim.boot_files ROOT IMAGE_NAME', _run,
                          (2,), argv)


if __name__ == '__main__':
    sys.exit(main())
