"""Mount a qcow2 image read-only to read its files (root, qemu-img, loop).

A filesystem image is converted to raw and loop-mounted; a whole-disk
image's largest partition is mounted at its offset.
"""

import contextlib
import json
import os
import subprocess

from akanda_slim import errors


def _run(command):
    result = subprocess.run(command, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise errors.UsageError('%s failed: %s' % (
            ' '.join(command[:2]), result.stdout.strip()[-300:]))
    return result.stdout


def largest_partition_offset(raw):
    """Byte offset of the largest partition of a whole disk, or 0."""
    output = subprocess.run(['sfdisk', '--json', raw], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if output.returncode != 0:
        return 0
    table = json.loads(output.stdout)['partitiontable']
    partitions = sorted(table['partitions'], key=lambda p: -p['size'])
    return partitions[0]['start'] * table.get('sectorsize', 512)


@contextlib.contextmanager
def mounted(image_path, work):
    """Mount ``image_path`` read-only under ``work``; yields the mount."""
    if os.geteuid() != 0:
        raise errors.UsageError('mounting %s needs root' % image_path)
    raw = os.path.join(work, 'image.raw')
    mount = os.path.join(work, 'mnt')
    os.makedirs(mount, exist_ok=True)
    _run(['qemu-img', 'convert', '-O', 'raw', image_path, raw])
    try:
        offset = largest_partition_offset(raw)
        options = 'loop,ro' + (',offset=%d' % offset if offset else '')
        _run(['mount', '-o', options, raw, mount])
        try:
            yield mount
        finally:
            _run(['umount', mount])
    finally:
        os.unlink(raw)
