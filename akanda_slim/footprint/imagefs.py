"""Mount a qcow2 image read-only to read its files (root, qemu-img, loop).

A filesystem image is converted to raw and loop-mounted; a whole-disk
image's largest partition is mounted at its offset.
"""

import contextlib
import json
import os

from akanda_slim import errors
from akanda_slim import process

NO_TABLE = 'does not contain a recognized partition table'


def _run(command):
    """Run ``command`` through ``process.run``; returns its output."""
    return process.run(command).stdout


def largest_partition_offset(raw):
    """Byte offset of the largest partition of a whole disk, or 0.

    0 only for a disk with no partition table (a filesystem image);
    sfdisk failing otherwise, or printing what is not its table, is a
    ``CommandError``.
    """
    env = dict(os.environ, LC_ALL='C')
    result = process.run(['sfdisk', '--json', raw], env=env, check=False,
                         merge_stderr=False)
    if result.returncode != 0:
        if NO_TABLE in result.stderr:
            return 0
        raise errors.CommandError(['sfdisk', '--json', raw],
                                  result.returncode,
                                  result.stdout + result.stderr)
    try:
        table = json.loads(result.stdout)['partitiontable']
        partitions = sorted(table['partitions'], key=lambda p: -p['size'])
        if not partitions:
            return 0
        return partitions[0]['start'] * table.get('sectorsize', 512)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise errors.CommandError(
            ['sfdisk', '--json', raw], 0, result.stdout,
            reason='printed no partition table (%s)' % exc) from None


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
