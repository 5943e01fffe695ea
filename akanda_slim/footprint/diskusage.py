"""Disk usage of a tree the way DIB sizes it: ``du -sx``.

One definition for every figure of a tree's size (the slim report's
before/after, ``DIB_SLIM_MAX_SIZE``, the picture, the usage report): every
directory, file and link of one filesystem, by allocated blocks, a
hard-linked file once (on the first of its paths in walk order, which is
sorted, so the answer does not depend on the directory order on disk).
"""

import os
import stat as stat_mod


def entries(root):
    """Yield (relative path, KiB, lstat result) for every entry of ``root``.

    The root itself is ``'.'``. A second path to an already counted inode
    yields 0 KiB. Entries that vanish during the walk are skipped.
    """
    root_stat = os.lstat(root)
    device = root_stat.st_dev
    seen = set()
    yield '.', root_stat.st_blocks // 2, root_stat
    seen.add(root_stat.st_ino)
    for top, dirs, files in os.walk(root):
        dirs.sort()
        kept = []
        for name in dirs + sorted(files):
            path = os.path.join(top, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat_mod.S_ISDIR(info.st_mode):
                if info.st_dev != device:
                    continue
                kept.append(name)
            kib = 0 if info.st_ino in seen else info.st_blocks // 2
            seen.add(info.st_ino)
            yield os.path.relpath(path, root), kib, info
        dirs[:] = [d for d in dirs if d in kept]


def total_kib(root):
    """``du -sx`` of ``root`` in KiB."""
    return sum(kib for _path, kib, _info in entries(root))
