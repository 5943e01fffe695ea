"""Delete the files an image never needs, inside its target root only.

``prune(root, environ)`` removes what the target's dpkg path excludes would
have kept out of packages unpacked before them, apt's lists and caches (kept
when an element installs packages after the slim step), build logs, dpkg's
and debconf's database backups, udev's compiled hwdb and, on request, Python
bytecode caches. It returns {category: bytes freed}.

Every path goes through ``rootfs``: a symlink in the target is resolved as
inside a chroot or removed as a link, never followed onto the host, and a
path pattern with ``..`` is refused (exit 2).
"""

import fnmatch
import glob
import logging
import os
import stat

from akanda_slim.debian import rootfs
from akanda_slim import errors

LOG = logging.getLogger(__name__)

DPKG_CONF_DIR = 'etc/dpkg/dpkg.cfg.d'
MAX_CONF = 16 * 1024 * 1024
LOG_FILES = ('var/log/apt', 'var/log/dpkg.log', 'var/log/alternatives.log',
             'var/log/bootstrap.log', 'var/log/journal')
APT_STATE = ('var/lib/apt/lists', 'var/cache/apt')
# Elements that install packages in finalise.d, after the slim step: the
# apt lists stay for them (finalise.d/99-slim-apt-lists drops them later).
LATE_INSTALLERS = ('bootloader',)
# Build leftovers: dpkg's and debconf's backups of their own databases,
# rewritten by them on their next run (directory, name pattern).
BACKUP_FILES = (('var/lib/dpkg', '*-old'), ('var/cache/debconf', '*-old'))
HWDB_FILES = ('etc/udev/hwdb.bin', 'usr/lib/udev/hwdb.bin')
PYTHON_LIBS = ('usr/lib', 'python3*')
_READ_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def read_path_filters(root):
    """(excludes, includes): dpkg path-exclude/-include globs of the target.

    A pattern naming ``..`` is refused: it could only mean outside.
    """
    excludes, includes = [], []
    directory = rootfs.resolve(root, DPKG_CONF_DIR)
    for path in sorted(glob.glob(os.path.join(glob.escape(directory), '*'))):
        path = rootfs.resolve(root, os.path.join(
            DPKG_CONF_DIR, os.path.basename(path)))
        if os.path.isdir(path):
            continue
        text = rootfs.read_text(path, MAX_CONF, 'dpkg configuration file')
        for line in text.splitlines():
            key, _, value = line.strip().partition('=')
            if key not in ('path-exclude', 'path-include'):
                continue
            if '..' in value.split('/'):
                raise errors.InputError('%s: %s=%s names "..": refused'
                                        % (path, key, value))
            (excludes if key == 'path-exclude' else includes).append(value)
    return excludes, includes


def excluded(path, excludes, includes):
    """Whether dpkg would not unpack ``path``: an exclude and no include."""
    return (any(fnmatch.fnmatchcase(path, p) for p in excludes)
            and not any(fnmatch.fnmatchcase(path, p) for p in includes))


def _lstat(dirfd, name):
    try:
        return os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _is_link(dirfd, name):
    info = _lstat(dirfd, name)
    return info is not None and stat.S_ISLNK(info.st_mode)


def _unlink(dirfd, name):
    info = _lstat(dirfd, name)
    if info is None:
        return 0
    os.unlink(name, dir_fd=dirfd)
    return info.st_blocks * 512


def _open_dir(root, path):
    """An fd of directory ``path`` resolved in-root, or None if missing."""
    try:
        with rootfs.parent(root, path) as (dirfd, name, _host):
            if not name:
                return os.open('.', _READ_DIR, dir_fd=dirfd)
            return os.open(name, _READ_DIR, dir_fd=dirfd)
    except (errors.InputError, FileNotFoundError, NotADirectoryError):
        return None


def prune_excluded(root):
    """Delete files the target's dpkg excludes would have kept out."""
    excludes, includes = read_path_filters(root)
    freed = 0
    bases = sorted({p.split('*', 1)[0].rstrip('/') for p in excludes})
    for base in bases:
        top = _open_dir(root, base)
        if top is None:
            continue
        try:
            for relative, dirs, files, fd in os.fwalk(dir_fd=top):
                links = [d for d in dirs if _is_link(fd, d)]
                for name in files + links:
                    path = os.path.normpath(os.path.join(
                        '/' + base.lstrip('/'), relative, name))
                    if excluded(path, excludes, includes):
                        freed += _unlink(fd, name)
        finally:
            os.close(top)
    return freed


def _remove_entry(dirfd, name, host, keep):
    """Remove ``name``; returns the bytes freed.

    A file is removed; a directory is emptied but for ``keep`` and mount
    points (archives/ inside it emptied, not removed); a link is left.
    """
    info = _lstat(dirfd, name)
    if info is None or stat.S_ISLNK(info.st_mode) or os.path.ismount(host):
        return 0
    if not stat.S_ISDIR(info.st_mode):
        return _unlink(dirfd, name)
    freed = 0
    fd = os.open(name, _READ_DIR, dir_fd=dirfd)
    try:
        for entry in sorted(os.listdir(fd)):
            entry_host = os.path.join(host, entry)
            if (entry.startswith('.') or entry in keep
                    or os.path.ismount(entry_host)):
                continue
            entry_info = _lstat(fd, entry)
            if entry_info is None:
                continue
            if stat.S_ISDIR(entry_info.st_mode):
                if entry == 'archives':
                    freed += _remove_entry(fd, entry, entry_host,
                                           ('lock', 'partial'))
                else:
                    freed += rootfs.remove_tree(fd, entry)
            else:
                freed += _unlink(fd, entry)
    finally:
        os.close(fd)
    return freed


def remove_contents(root, path, keep=('lock', 'partial')):
    """Empty ``path`` in-root (see ``_remove_entry``); returns bytes freed.

    A symlink there is left alone, never followed.
    """
    try:
        with rootfs.parent(root, path, follow_last=False) as (
                dirfd, name, host):
            return _remove_entry(dirfd, name, host, keep)
    except errors.InputError:
        return 0  # a directory on the way is missing: nothing to remove


def apt_lists_needed_later(environ):
    """Whether an element of the image installs packages after us."""
    elements = environ.get('IMAGE_ELEMENT', '').split()
    return any(name in elements for name in LATE_INSTALLERS)


def prune_apt_state(root):
    """Delete apt's lists and caches (locks and partial/ stay)."""
    return sum(remove_contents(root, p) for p in APT_STATE)


def prune_backups(root):
    """Delete dpkg's and debconf's database backups."""
    freed = 0
    for directory, pattern in BACKUP_FILES:
        fd = _open_dir(root, directory)
        if fd is None:
            continue
        try:
            host = rootfs.resolve(root, directory)
            for name in sorted(os.listdir(fd)):
                if not name.startswith('.') and fnmatch.fnmatchcase(
                        name, pattern):
                    freed += _remove_entry(fd, name,
                                           os.path.join(host, name), ())
        finally:
            os.close(fd)
    return freed


def prune_pycache(root):
    """Delete every __pycache__ below usr/lib/python3*."""
    parent_dir, pattern = PYTHON_LIBS
    top = _open_dir(root, parent_dir)
    if top is None:
        return 0
    freed = 0
    try:
        for name in sorted(os.listdir(top)):
            info = _lstat(top, name)
            if (not fnmatch.fnmatchcase(name, pattern) or info is None
                    or not stat.S_ISDIR(info.st_mode)):
                continue
            fd = os.open(name, _READ_DIR, dir_fd=top)
            try:
                for _path, dirs, _files, walk_fd in os.fwalk(dir_fd=fd):
                    if '__pycache__' in dirs:
                        dirs.remove('__pycache__')
                        cache = _lstat(walk_fd, '__pycache__')
                        if cache and stat.S_ISDIR(cache.st_mode):
                            freed += rootfs.remove_tree(walk_fd,
                                                        '__pycache__')
            finally:
                os.close(fd)
    finally:
        os.close(top)
    return freed


def prune(root, environ):
    """Delete what an image never needs; returns {category: bytes freed}."""
    freed = {'dpkg path excludes': prune_excluded(root)}
    if apt_lists_needed_later(environ):
        LOG.info('apt lists kept for %s (finalise.d installs packages)',
                 ' '.join(LATE_INSTALLERS))
    else:
        freed['apt lists and caches'] = prune_apt_state(root)
    freed['build logs'] = sum(remove_contents(root, p, keep=())
                              for p in LOG_FILES)
    freed['database backups'] = prune_backups(root)
    if environ.get('DIB_SLIM_UDEV_HWDB', 'remove') == 'remove':
        freed['udev hwdb'] = sum(remove_contents(root, p)
                                 for p in HWDB_FILES)
    if environ.get('DIB_SLIM_PYCACHE', 'keep') == 'remove':
        freed['python bytecode caches'] = prune_pycache(root)
    for category, size in sorted(freed.items()):
        LOG.info('pruned %s: %.1f MiB', category, size / 1048576.0)
    return freed
