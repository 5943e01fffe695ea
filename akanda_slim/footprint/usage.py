"""What a booted image read: files, packages, kernel modules.

The inventory of an image's tree (every regular file: path, inode, disk
usage) and its dpkg file lists are taken on the host; the guest reports
which files it read (their atime moved off the epoch) and which kernel
modules it loaded. ``analyse`` joins them into the usage report:

    {"packages": [{"package", "files", "files_read", "installed_kib",
                   "read_kib", "never_read_kib"}, ...],
     "unowned": {...}, "kernel_modules": {"present": N, "loaded": [...]},
     "never_read_kib": N, "read_kib": N, "total_kib": N,
     "never_read_paths": [{"path", "kib"}, ...]}

Sizes are disk usage as ``du`` counts it: a hard-linked file once (the
first path in sorted order carries it). Python bytecode in
``__pycache__`` belongs to the package owning its source file.
"""

import collections
import dataclasses
import os
import re
import stat

from akanda_slim.debian import rootfs
from akanda_slim.footprint import diskusage

DPKG_INFO = 'var/lib/dpkg/info'
MODULES_DIR = re.compile(r'^usr/lib/modules/[^/]+/')
MODULE_FILE = re.compile(r'\.ko(\.(xz|zst|gz))?$')
PYC = re.compile(r'^(?P<dir>.*)/__pycache__/(?P<name>[^/.]+)\.[^/]*pyc$')
# Loaded by a whole-disk image's boot loader, never by the running guest:
# counted as read there. A filesystem image boots with copies beside it.
BOOT_LOADER_PATHS = ('boot/',)
TOP_PATHS = 25


@dataclasses.dataclass
class FileInfo:
    inode: int
    kib: int


def inventory(root):
    """Relative path -> FileInfo for every regular file of ``root``.

    One file system only (``du -x``); paths are relative, without a
    leading slash.
    """
    return {path: FileInfo(info.st_ino, info.st_blocks // 2)
            for path, _kib, info in diskusage.entries(root)
            if stat.S_ISREG(info.st_mode)}


def package_lists(root):
    """Package name -> list of paths from dpkg's ``info/*.list`` files."""
    info_dir = os.path.join(root, DPKG_INFO)
    lists = {}
    for name in sorted(os.listdir(info_dir)):
        if not name.endswith('.list'):
            continue
        package = name[:-len('.list')].split(':')[0]
        text = rootfs.read_text(os.path.join(info_dir, name),
                                what='dpkg file list')
        lists.setdefault(package, []).extend(
            line for line in text.splitlines() if line and line != '/.')
    return lists


def owners(root, lists, files):
    """Relative path of each regular file -> owning package.

    dpkg's paths are resolved as inside the image (``/bin`` to ``usr/bin``
    on a merged /usr); bytecode goes to the owner of its source.
    """
    owner = {}
    real_root = os.path.realpath(root)
    for package, paths in lists.items():
        for path in paths:
            resolved = rootfs.resolve(real_root, path, follow_last=False)
            relative = os.path.relpath(resolved, real_root)
            if relative in files:
                owner.setdefault(relative, package)
    for path in files:
        if path in owner:
            continue
        match = PYC.match(path)
        if match:
            source = '%s/%s.py' % (match.group('dir'), match.group('name'))
            if source in owner:
                owner[path] = owner[source]
    return owner


def parse_atimes(text):
    """Relative paths whose atime is after the epoch.

    ``text`` is the output of ``find / -xdev -type f -printf '%A@ %p\\n'``.
    """
    read = set()
    for line in text.splitlines():
        stamp, _, path = line.partition(' ')
        try:
            seconds = float(stamp)
        except ValueError:
            continue
        if path.startswith('/') and seconds >= 1:
            read.add(path.lstrip('/'))
    return read


def parse_modules(text):
    """Module names from ``/proc/modules``."""
    return sorted({line.split()[0] for line in text.splitlines()
                   if line.strip()})


def _assumed_read(path):
    return path.startswith(BOOT_LOADER_PATHS)


def analyse(files, owner, read, loaded_modules, boot_loader=True):
    """The usage report (see the module docstring) as a dict.

    ``boot_loader``: the image boots through its own boot loader, which
    reads ``/boot``; False for a filesystem image booted with the kernel
    and initrd beside it, whose ``/boot`` counts only as the guest reads.
    """
    read = {path for path in read if path in files} | {
        path for path in files if boot_loader and _assumed_read(path)}
    seen_inodes = set()
    per_owner = collections.defaultdict(lambda: {
        'files': 0, 'files_read': 0, 'installed_kib': 0, 'read_kib': 0})
    never_read_dirs = collections.Counter()
    read_inodes = {files[path].inode for path in read}
    totals = {'total_kib': 0, 'read_kib': 0}
    for path in sorted(files):
        info = files[path]
        kib = 0 if info.inode in seen_inodes else info.kib
        seen_inodes.add(info.inode)
        was_read = info.inode in read_inodes
        entry = per_owner[owner.get(path)]
        entry['files'] += 1
        entry['installed_kib'] += kib
        totals['total_kib'] += kib
        if was_read:
            entry['files_read'] += 1
            entry['read_kib'] += kib
            totals['read_kib'] += kib
        else:
            never_read_dirs[_directory(path)] += kib
    packages = []
    for package, entry in per_owner.items():
        entry['never_read_kib'] = entry['installed_kib'] - entry['read_kib']
        if package is not None:
            packages.append(dict(package=package, **entry))
    packages.sort(key=lambda p: (-p['never_read_kib'], p['package']))
    present = sorted(path for path in files
                     if MODULES_DIR.match(path) and MODULE_FILE.search(path))
    return {
        'method': 'atime',
        'packages': packages,
        'unowned': per_owner.get(None, {
            'files': 0, 'files_read': 0, 'installed_kib': 0, 'read_kib': 0,
            'never_read_kib': 0}),
        'kernel_modules': {'present': len(present),
                           'loaded': sorted(loaded_modules)},
        'total_kib': totals['total_kib'],
        'read_kib': totals['read_kib'],
        'never_read_kib': totals['total_kib'] - totals['read_kib'],
        'never_read_paths': [
            {'path': '/' + path, 'kib': kib}
            for path, kib in never_read_dirs.most_common(TOP_PATHS) if kib],
    }


def _directory(path, depth=4):
    """The directory of ``path``, cut to ``depth`` components."""
    parts = path.split('/')[:-1]
    return '/'.join(parts[:depth]) or '.'


def read_beyond(report, base):
    """Packages ``report``'s workload read more of than ``base``'s did.

    Both are usage reports (of the same image, say ``--checks boot`` and
    every check). A list of {package, files_read, base_files_read,
    read_kib, base_read_kib}, most extra KiB first.
    """
    before = {entry['package']: entry for entry in base['packages']}
    beyond = []
    for entry in report['packages']:
        was = before.get(entry['package'], {'files_read': 0, 'read_kib': 0})
        if entry['files_read'] > was['files_read']:
            beyond.append({'package': entry['package'],
                           'files_read': entry['files_read'],
                           'base_files_read': was['files_read'],
                           'read_kib': entry['read_kib'],
                           'base_read_kib': was['read_kib']})
    beyond.sort(key=lambda e: (e['base_read_kib'] - e['read_kib'],
                               e['package']))
    return beyond


def format_text(report, top=15):
    """Biggest never-read packages and paths, as lines of text."""
    lines = ['tree %.1f MiB: read %.1f MiB, never read %.1f MiB' % (
        report['total_kib'] / 1024.0, report['read_kib'] / 1024.0,
        report['never_read_kib'] / 1024.0)]
    modules = report['kernel_modules']
    lines.append('kernel modules: %d present, %d loaded' % (
        modules['present'], len(modules['loaded'])))
    lines += ['', 'biggest never-read packages (KiB never read / installed, '
              'files read / files):']
    for entry in report['packages'][:top]:
        lines.append('  %-36s %8d / %8d  %5d / %5d' % (
            entry['package'], entry['never_read_kib'],
            entry['installed_kib'], entry['files_read'], entry['files']))
    unowned = report['unowned']
    lines.append('  %-36s %8d / %8d  %5d / %5d' % (
        '(no package)', unowned['installed_kib'] - unowned['read_kib'],
        unowned['installed_kib'], unowned['files_read'], unowned['files']))
    lines += ['', 'biggest never-read directories (KiB):']
    for entry in report['never_read_paths'][:top]:
        lines.append('  %8d  %s' % (entry['kib'], entry['path']))
    if report.get('read_beyond') is not None:
        lines += ['', 'packages read beyond %s (files read here / there, '
                  'KiB read here / there):' % report['against']]
        for entry in report['read_beyond']:
            lines.append('  %-36s %5d / %5d  %8d / %8d' % (
                entry['package'], entry['files_read'],
                entry['base_files_read'], entry['read_kib'],
                entry['base_read_kib']))
    if report.get('checks'):
        failed = [c['name'] for c in report['checks']
                  if c['status'] != 'pass']
        lines += ['', 'checks: %s' % (
            'all passed' if not failed else 'NOT PASSED: ' + ' '.join(failed))]
    return '\n'.join(lines)
