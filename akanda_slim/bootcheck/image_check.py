"""Is this file an image verify can boot? Asked before QEMU starts.

``qemu-img info`` names the container (qcow2 or raw, nothing else); the
first bytes of the guest-visible disk (read through ``qemu-img dd``, so a
qcow2 is read as the guest sees it) name what is on it: a partition table
(a whole disk, which boots by itself) or a filesystem (which needs a
kernel and initrd from outside).
"""

import json
import os
import tempfile

from akanda_slim.bootcheck import tools
from akanda_slim import errors
from akanda_slim import process

FORMATS = ('qcow2', 'raw')
HEAD_BYTES = 128 * 1024
# (what, offset, magic bytes), checked in order.
PARTITION_TABLES = (
    ('GPT partition table', 512, b'EFI PART'),
    ('MBR partition table', 510, b'\x55\xaa'),
)
FILESYSTEMS = (
    ('ext2/3/4 filesystem', 1080, b'\x53\xef'),
    ('XFS filesystem', 0, b'XFSB'),
    ('btrfs filesystem', 0x10040, b'_BHRfS_M'),
    ('squashfs filesystem', 0, b'hsqs'),
)
DISK, FILESYSTEM = 'disk', 'filesystem'


def container_format(image):
    """qemu-img's format name for ``image``; UsageError if it cannot tell."""
    try:
        result = process.run([tools.require('qemu-img'), 'info',
                              '--output=json', image], timeout=60,
                             merge_stderr=False)
        return json.loads(result.stdout)['format']
    except (errors.CommandError, ValueError, KeyError) as failure:
        raise errors.UsageError('%s: qemu-img cannot read it as an image: '
                                '%s' % (image, failure)) from None


def head(image, fmt):
    """The first HEAD_BYTES the guest would see on the disk."""
    with tempfile.TemporaryDirectory(prefix='akanda-slim-head-') as work:
        out = os.path.join(work, 'head.raw')
        process.run([tools.require('qemu-img'), 'dd', '-f', fmt, '-O', 'raw',
                     'bs=%d' % HEAD_BYTES, 'count=1', 'if=' + image,
                     'of=' + out], timeout=60)
        with open(out, 'rb') as data:
            return data.read(HEAD_BYTES)


def identify(data):
    """(kind, what) for a disk's first bytes; kind is None if unknown."""
    for kind, signatures in ((DISK, PARTITION_TABLES),
                             (FILESYSTEM, FILESYSTEMS)):
        for what, offset, magic in signatures:
            if data[offset:offset + len(magic)] == magic:
                return kind, what
    return None, 'no partition table or filesystem signature'


def kind(image):
    """DISK or FILESYSTEM; UsageError (exit 2) for anything else."""
    if not os.path.isfile(image):
        raise errors.UsageError('no such image: %s' % image)
    fmt = container_format(image)
    if fmt not in FORMATS:
        raise errors.UsageError('%s is a %s file, not a qcow2 or raw image'
                                % (image, fmt))
    found, what = identify(head(image, fmt))
    if found is None:
        raise errors.UsageError('%s (%s): %s, nothing verify can boot'
                                % (image, fmt, what))
    return found
