"""What an image's tree is made of: categories and the biggest packages.

Every file, directory and link of the root (one filesystem, hard links
once) is counted by disk usage, like ``du -sx``, and attributed to the
package whose dpkg file list names it. The category comes from the path
first (docs and locales, the kernel's trees), then from the package.
"""

import dataclasses
import fnmatch
import glob
import os

from akanda_slim.debian import target as target_mod
from akanda_slim.dib import appliance
from akanda_slim import errors
from akanda_slim.footprint import diskusage

CATEGORIES = ('kernel', 'Python', 'router stack', 'docs and locales',
              'everything else')

DOC_PATHS = ('/usr/share/doc/', '/usr/share/man/', '/usr/share/info/',
             '/usr/share/locale/', '/usr/share/i18n/', '/usr/lib/locale/',
             '/usr/share/lintian/')
KERNEL_PATHS = ('/boot/', '/usr/lib/modules/', '/lib/modules/',
                '/usr/lib/firmware/', '/lib/firmware/')
KERNEL_PACKAGES = ('linux-image-*', 'linux-modules-*', 'firmware-*',
                   'initramfs-tools*', 'tiny-initramfs*', 'busybox',
                   'klibc-utils', 'libklibc', 'kmod', 'linux-base')
PYTHON_PACKAGES = ('python3*', 'libpython3*', 'gunicorn')
PYTHON_PATHS = ('/usr/lib/python3', '/usr/local/lib/python3')
# The router stack: what the akanda-appliance element declares (its
# package-installs.yaml, the one list) and the libraries those packages
# depend on directly; its Python runtime counts as "Python".


def declared_router_packages(elements_dir=None):
    """Package names the akanda-appliance element declares."""
    return appliance.declared_packages(elements_dir)


def router_packages(root, declared):
    """``declared`` plus the lib* packages they hard-depend on in ``root``."""
    names = set(declared)
    try:
        packages = target_mod.read_target(root).packages
    except errors.SlimError:
        return names
    for name in declared:
        package = packages.get(name)
        for _field, group in package.hard_groups if package else ():
            for relation in group:
                if relation.name.startswith('lib'):
                    names.add(relation.name)
    return names


def _matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def category(path, package, router=()):
    """The category of one path owned by ``package`` (or None).

    ``router`` holds the router stack's package names.
    """
    if path.startswith(DOC_PATHS):
        return 'docs and locales'
    if path.startswith(KERNEL_PATHS) or (
            package and _matches(package, KERNEL_PACKAGES)):
        return 'kernel'
    if path.startswith(PYTHON_PATHS) or (
            package and _matches(package, PYTHON_PACKAGES)):
        return 'Python'
    if package in router:
        return 'router stack'
    return 'everything else'


def file_owners(root):
    """Path -> package, from dpkg's file lists in the root."""
    owners = {}
    for listing in glob.glob(os.path.join(root, 'var/lib/dpkg/info/*.list')):
        package = os.path.basename(listing)[:-len('.list')].split(':')[0]
        with open(listing, errors='replace') as paths:
            for line in paths:
                owners[line.rstrip('\n')] = package
    return owners


def _usr_merged(path):
    """/bin/x -> /usr/bin/x, for file lists written before usrmerge."""
    for top in ('/bin/', '/sbin/', '/lib/', '/lib64/'):
        if path.startswith(top):
            return '/usr' + path
    return path


@dataclasses.dataclass
class Composition:
    name: str
    total_kib: int
    categories: dict
    packages: dict
    router: frozenset = frozenset()
    # From an ``akanda-slim usage`` report: package -> KiB never read,
    # and the whole tree's never-read KiB (None: no usage given).
    never_read: dict = dataclasses.field(default_factory=dict)
    never_read_kib: int = None

    def add_usage(self, report):
        """Take the never-read figures of a usage report (a dict)."""
        self.never_read = {p['package']: p['never_read_kib']
                           for p in report.get('packages', ())}
        self.never_read_kib = report['never_read_kib']

    def top_packages(self, count=10):
        return sorted(self.packages.items(), key=lambda p: (-p[1], p[0]))[
            :count]

    def to_dict(self, top=10):
        result = {'name': self.name, 'total_kib': self.total_kib,
                  'categories': self.categories,
                  'top_packages': [{'package': n, 'kib': k}
                                   for n, k in self.top_packages(top)]}
        if self.never_read_kib is not None:
            result['never_read_kib'] = self.never_read_kib
            for entry in result['top_packages']:
                entry['never_read_kib'] = self.never_read.get(
                    entry['package'], 0)
        return result


def compose(root, name, declared=None):
    """Walk ``root`` and return its Composition.

    ``declared``: the router's packages (default: the akanda-appliance
    element's).
    """
    if declared is None:
        declared = declared_router_packages()
    router = router_packages(root, declared)
    owners = file_owners(root)
    merged = {_usr_merged(path): package for path, package in owners.items()}
    inodes = {}  # inode -> [kib, package, category]; links once
    for relative, _kib, stat in diskusage.entries(root):
        path = '/' if relative == '.' else '/' + relative
        package = owners.get(path) or merged.get(_usr_merged(path))
        if stat.st_ino in inodes and (inodes[stat.st_ino][1] or not package):
            continue
        is_dir = (stat.st_mode & 0o170000) == 0o040000
        inodes[stat.st_ino] = [stat.st_blocks // 2, package, category(
            path + ('/' if is_dir and path != '/' else ''), package, router)]
    categories = dict.fromkeys(CATEGORIES, 0)
    packages = {}
    for kib, package, kind in inodes.values():
        categories[kind] += kib
        if package:
            packages[package] = packages.get(package, 0) + kib
    return Composition(name, sum(categories.values()), categories, packages,
                       frozenset(router))
