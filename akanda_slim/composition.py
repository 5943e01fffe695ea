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

from akanda_slim import diskusage

CATEGORIES = ('kernel', 'Python', 'router stack', 'docs and locales',
              'everything else')

DOC_PATHS = ('/usr/share/doc/', '/usr/share/man/', '/usr/share/info/',
             '/usr/share/locale/', '/usr/share/i18n/', '/usr/lib/locale/',
             '/usr/share/lintian/')
KERNEL_PATHS = ('/boot/', '/usr/lib/modules/', '/lib/modules/',
                '/usr/lib/firmware/', '/lib/firmware/')
KERNEL_PACKAGES = ('linux-image-*', 'linux-modules-*', 'firmware-*',
                   'initramfs-tools*', 'busybox', 'klibc-utils',
                   'libklibc', 'kmod', 'linux-base')
PYTHON_PACKAGES = ('python3*', 'libpython3*', 'gunicorn')
PYTHON_PATHS = ('/usr/lib/python3', '/usr/local/lib/python3')
# The appliance's own daemons and tools (its Python runtime is "Python").
ROUTER_PACKAGES = ('iptables', 'iptables-persistent', 'netfilter-persistent',
                   'libip4tc*', 'libip6tc*', 'libxtables*', 'libnftnl*',
                   'libnetfilter-*', 'libnfnetlink*', 'libmnl*', 'nftables',
                   'libnftables*', 'conntrack', 'conntrackd', 'keepalived',
                   'dnsmasq', 'dnsmasq-base', 'bird2', 'iproute2',
                   'tcpdump', 'libpcap*', 'iputils-*', 'openssh-server',
                   'openssh-sftp-server', 'sudo', 'cloud-init', 'ifupdown',
                   'isc-dhcp-*')


def _matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def category(path, package):
    """The category of one path owned by ``package`` (or None)."""
    if path.startswith(DOC_PATHS):
        return 'docs and locales'
    if path.startswith(KERNEL_PATHS) or (
            package and _matches(package, KERNEL_PACKAGES)):
        return 'kernel'
    if path.startswith(PYTHON_PATHS) or (
            package and _matches(package, PYTHON_PACKAGES)):
        return 'Python'
    if package and _matches(package, ROUTER_PACKAGES):
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

    def top_packages(self, count=10):
        return sorted(self.packages.items(), key=lambda p: (-p[1], p[0]))[
            :count]

    def to_dict(self, top=10):
        return {'name': self.name, 'total_kib': self.total_kib,
                'categories': self.categories,
                'top_packages': [{'package': n, 'kib': k}
                                 for n, k in self.top_packages(top)]}


def compose(root, name):
    """Walk ``root`` and return its Composition."""
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
            path + ('/' if is_dir and path != '/' else ''), package)]
    categories = dict.fromkeys(CATEGORIES, 0)
    packages = {}
    for kib, package, kind in inodes.values():
        categories[kind] += kib
        if package:
            packages[package] = packages.get(package, 0) + kib
    return Composition(name, sum(categories.values()), categories, packages)
