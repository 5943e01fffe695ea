"""Mask systemd units and generators in a target root, from the host.

``python -m akanda_slim.slim.unit_masks ROOT`` masks each unit or generator in
DIB_SLIM_MASK_UNITS (blank- or comma-separated) that the image ships: a
link to /dev/null in etc/systemd/system (system-generators for a name
ending in ``-generator``). ``getty-static ROOT`` masks Debian's
getty-static.service when the image has no D-Bus daemon (without one it
starts login prompts on tty2-tty6 at every boot). Paths resolve in-root
(``rootfs``); nothing is done with DIB_SLIM_DRY_RUN=1.
"""

import os
import stat
import sys

from akanda_slim.debian import rootfs
from akanda_slim import dib_entry

UNITS = ('usr/lib/systemd/system', 'etc/systemd/system')
GENERATORS = ('usr/lib/systemd/system-generators',
              'etc/systemd/system-generators')
GETTY_STATIC = 'getty-static.service'
DBUS_DAEMONS = ('usr/bin/dbus-daemon', 'usr/bin/dbus-broker')


def mask_paths(name):
    """(where the image ships ``name``, where its mask goes)."""
    shipped, masks = GENERATORS if name.endswith('-generator') else UNITS
    return os.path.join(shipped, name), os.path.join(masks, name)


def mask(root, names):
    """Mask ``names`` in-root; returns the lines to print."""
    lines = []
    for name in names:
        shipped, masked = mask_paths(name)
        if rootfs.lstat(root, shipped) is None:
            lines.append('slim: WARNING: %s is not in the image; not masked'
                         % name)
            continue
        rootfs.symlink(root, masked, '/dev/null')
        lines.append('slim: masked %s' % name)
    return lines


def mask_getty_static(root):
    """Mask getty-static.service when no D-Bus daemon is installed."""
    shipped, masked = mask_paths(GETTY_STATIC)
    unit = rootfs.lstat(root, shipped)
    if unit is None or not stat.S_ISREG(unit.st_mode) or any(
            rootfs.lstat(root, daemon) is not None
            for daemon in DBUS_DAEMONS):
        return []
    rootfs.symlink(root, masked, '/dev/null')
    return ['slim: masked getty-static.service (no dbus: it would start '
            'tty2-tty6)']


def _run(action, root):
    rootfs.check_root(root)
    if os.environ.get('DIB_SLIM_DRY_RUN') == '1':
        return
    if action == 'getty-static':
        lines = mask_getty_static(root)
    else:
        names = os.environ.get('DIB_SLIM_MASK_UNITS', '')
        lines = mask(root, names.replace(',', ' ').split())
    for line in lines:
        print(line)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1:
        argv = ['mask'] + argv
    if not argv or argv[0] not in ('mask', 'getty-static'):
        argv = []
    return dib_entry.main(
        'akanda_slim.slim.unit_masks [getty-static] ROOT', _run, (2,), argv)


if __name__ == '__main__':
    sys.exit(main())
