"""Boot an image with every file's atime at the epoch and see what it read.

1. On the host: the image is converted to raw, mounted read-write (loop),
   and every regular file's atime is set to the epoch (mtime kept). The
   inventory (paths, inodes, disk usage) and dpkg's file lists are taken
   from the same mount. The copy is converted back to qcow2; the image
   itself is never changed.
2. The copy boots as ``verify`` boots an image, by the same code
   (``runner.Session``: QEMU, seed, networks, SSH, the checks, the panic
   retry; ``UsageHooks`` add the steps below), a new instance's first boot,
   with ``rw`` on the kernel command line: the initramfs then mounts the
   root file system read-write, so reads before systemd's remount are
   recorded too (a read-only mount never updates atime). The image's
   ``relatime`` is enough: relatime updates an atime older than the file's
   mtime, which the epoch always is; only ``noatime`` in the copy's fstab
   would hide reads, and it is rewritten to ``relatime`` in the copy. A
   writable root on a first boot lets systemd apply its unit presets
   (Debian's enable systemd-networkd, -resolved, -timesyncd...), which a
   real boot (``ro`` from the boot loader) cannot do ("Failed to populate
   /etc with preset unit settings"); the copy gets a preset file that
   disables everything (first-boot presets only ever enable), so it boots
   the units a real instance boots.
3. Every check runs (the reboot included), then the guest lists the
   atimes (``find``, which reads no file content; find and sudo are
   themselves read by this step) and ``/proc/modules``.

Files under ``/boot`` of a whole-disk image are counted as read: its boot
loader loads them, not the running guest. A filesystem image boots with
the kernel and initrd beside it (QEMU's ``-kernel``/``-initrd``, Nova's
``kernel_id``/``ramdisk_id``), so its own ``/boot`` counts only as the
guest reads it. Modules loaded and unloaded again before the listing
are not seen (``/proc/modules`` is read after boot and after the checks).
"""

import logging
import os
import re
import stat

from akanda_slim.bootcheck import checks as checks_mod
from akanda_slim.bootcheck import runner
from akanda_slim.debian import rootfs
from akanda_slim import errors
from akanda_slim.footprint import diskusage
from akanda_slim.footprint import imagefs
from akanda_slim.footprint import usage
from akanda_slim import process

LOG = logging.getLogger(__name__)

ATIME_LISTING = "sudo find / -xdev -type f -printf '%A@ %p\\n'"
MODULES_LISTING = 'cat /proc/modules'
# Where the memory goes after boot: the biggest processes, and meminfo.
PROCESS_MEMORY = 'ps -eo rss=,comm= --sort=-rss | head -n 12'
NOATIME = re.compile(r'\bnoatime\b')


class PreparedImage:
    """The epoch-atime copy of an image and what the host saw in it."""

    def __init__(self, qcow2, files, lists, owner, fstab_changed):
        self.qcow2 = qcow2
        self.files = files
        self.lists = lists
        self.owner = owner
        self.fstab_changed = fstab_changed


def reset_atimes(root):
    """Set every regular file's atime to the epoch, mtime kept; count."""
    count = 0
    for path, _kib, info in diskusage.entries(root):
        if stat.S_ISREG(info.st_mode):
            os.utime(os.path.join(root, path), ns=(0, info.st_mtime_ns),
                     follow_symlinks=False)
            count += 1
    return count


def allow_atime(root):
    """Rewrite ``noatime`` to ``relatime`` in the tree's fstab; changed?"""
    fstab = os.path.join(root, 'etc/fstab')
    if not os.path.isfile(fstab) or os.path.islink(fstab):
        return False
    with open(fstab) as text:
        content = text.read()
    if not NOATIME.search(content):
        return False
    with open(fstab, 'w') as text:
        text.write(NOATIME.sub('relatime', content))
    return True


USAGE_PRESET = 'etc/systemd/system-preset/00-akanda-slim-usage.preset'


def keep_first_boot_presets_off(root):
    """Give the copy a preset file that enables nothing (see above)."""
    path = rootfs.resolve(root, USAGE_PRESET)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as out:
        out.write('# akanda-slim usage: a real first boot (ro root) applies '
                  'no presets\ndisable *\n')


def prepare(image, workdir):
    """The image's epoch-atime copy in ``workdir``, with its inventory."""
    if os.geteuid() != 0:
        raise errors.UsageError('usage needs root: it mounts a copy of the '
                                'image and creates taps and namespaces')
    raw = os.path.join(workdir, 'usage.raw')
    mount = os.path.join(workdir, 'mnt')
    os.makedirs(mount, exist_ok=True)
    LOG.info('copying %s and setting every atime to the epoch', image)
    process.run(['qemu-img', 'convert', '-O', 'raw', image, raw])
    try:
        offset = imagefs.largest_partition_offset(raw)
        options = 'loop,noatime' + (',offset=%d' % offset if offset else '')
        process.run(['mount', '-o', options, raw, mount])
        try:
            count = reset_atimes(mount)
            fstab_changed = allow_atime(mount)
            keep_first_boot_presets_off(mount)
            files = usage.inventory(mount)
            lists = usage.package_lists(mount)
            owner = usage.owners(mount, lists, files)
        finally:
            process.run(['umount', mount])
        LOG.info('%d files reset%s', count, '; noatime in fstab made '
                 'relatime' if fstab_changed else '')
        qcow2 = os.path.join(workdir, 'usage.qcow2')
        process.run(['qemu-img', 'convert', '-O', 'qcow2', raw, qcow2])
    finally:
        os.unlink(raw)
    return PreparedImage(qcow2, files, lists, owner, fstab_changed)


def parse_processes(text):
    """[[command, RSS KiB], ...] from ``ps -eo rss=,comm=``."""
    result = []
    for line in text.splitlines():
        rss, _, command = line.strip().partition(' ')
        if rss.isdigit():
            result.append([command.strip(), int(rss)])
    return result


def parse_meminfo(text):
    """/proc/meminfo as name -> KiB."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(':')
        if value.split() and value.split()[0].isdigit():
            fields[name.strip()] = int(value.split()[0])
    return fields


class UsageHooks(runner.Hooks):
    """usage's steps on verify's checked boot of the epoch-atime copy.

    ``rw`` on the kernel command line; no surface listing (its commands
    would count as the image's reads); after the boot, memory and
    modules; after the checks, the atimes and the modules again. A boot
    that panicked has read files: the copy is made again before it boots
    once more.
    """

    kernel_args = ('rw',)
    measure_surface = False

    def __init__(self, image, workdir, prepared):
        self.image, self.workdir, self.prepared = image, workdir, prepared
        self.figures, self.modules, self.read = {}, set(), None

    def before_retry(self, number):
        LOG.warning('booting a fresh copy of %s once more', self.image)
        os.unlink(self.prepared.qcow2)
        self.prepared = prepare(self.image, self.workdir)

    def after_boot(self, ctx):
        self.figures = {
            'biggest_processes_kib': parse_processes(
                ctx.ssh.run(PROCESS_MEMORY).stdout),
            'meminfo_kib': parse_meminfo(ctx.ssh.check('cat /proc/meminfo'))}
        self.modules = set(usage.parse_modules(
            ctx.ssh.check(MODULES_LISTING)))

    def after_checks(self, ctx):
        LOG.info('listing what the guest read')
        # The checks may have moved SSH to the management network.
        self.read = usage.parse_atimes(ctx.ssh.check(ATIME_LISTING,
                                                     timeout=600))
        self.modules |= set(usage.parse_modules(
            ctx.ssh.check(MODULES_LISTING)))


def measure_usage(image, workdir, kernel=None, initrd=None, options=None):
    """The usage report of ``image`` (see ``footprint.usage``) as a dict.

    The copy boots once through verify's ``runner.Session`` with
    ``UsageHooks``: its checks, its panic retry, its networks.
    """
    options = options or runner.Options()
    kernel, initrd = runner.boot_files(image, kernel, initrd)
    if not kernel:
        LOG.warning('%s boots with its own boot loader: reads before the '
                    'root file system is remounted read-write are not '
                    'seen', image)
    hooks = UsageHooks(image, workdir, prepare(image, workdir))
    session = runner.Session(hooks.prepared.qcow2, workdir, kernel, initrd,
                             options, hooks)
    session.boot()
    prepared = hooks.prepared
    report = usage.analyse(prepared.files, prepared.owner, hooks.read,
                           hooks.modules, boot_loader=kernel is None)
    report.update({
        'tool': 'akanda-slim',
        'image': os.path.abspath(image),
        'memory_mib': options.memory_mib,
        'boot': dict(session.boots[0], **hooks.figures),
        'panics': [{'panic': p['panic'], 'console_log': p['console_log']}
                   for p in session.panics],
        'fstab_noatime_rewritten': prepared.fstab_changed,
        'checks': [r.to_dict() for r in session.results],
        'checks_passed': bool(session.results) and all(
            r.status == checks_mod.PASS for r in session.results),
    })
    return report
