"""The mounts this process sees, as /proc/self/mountinfo lists them."""

import dataclasses
import os
import re

MOUNTINFO = '/proc/self/mountinfo'
_OCTAL = re.compile(r'\\([0-7]{3})')


@dataclasses.dataclass(frozen=True)
class Mount:
    """One line of mountinfo: its id, where it is mounted, what it is."""

    mount_id: int
    parent_id: int
    mount_point: str
    fstype: str
    source: str


def _unescape(field):
    """mountinfo writes space, tab, newline and backslash as \\ooo."""
    return _OCTAL.sub(lambda match: chr(int(match.group(1), 8)), field)


def parse(text):
    """Mounts in mountinfo ``text``, in the kernel's order (oldest first)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split(' ')
        if '-' not in fields[6:]:
            continue
        dash = fields.index('-', 6)
        mounts.append(Mount(mount_id=int(fields[0]),
                            parent_id=int(fields[1]),
                            mount_point=_unescape(fields[4]),
                            fstype=_unescape(fields[dash + 1]),
                            source=_unescape(fields[dash + 2])))
    return mounts


def read():
    """The mounts of this process's mount namespace."""
    with open(MOUNTINFO) as stream:
        return parse(stream.read())


def at(path, mounts=None):
    """The mount on top at ``path`` (a real path), or None."""
    path = os.path.normpath(path)
    found = [m for m in (read() if mounts is None else mounts)
             if m.mount_point == path]
    covered = {m.parent_id for m in found}
    top = [m for m in found if m.mount_id not in covered]
    return (top or found or [None])[-1]


def under(path, mounts=None):
    """Mounts at or below ``path`` (a real path), innermost last."""
    path = os.path.normpath(path)
    prefix = path.rstrip('/') + '/'
    return [m for m in (read() if mounts is None else mounts)
            if m.mount_point == path or m.mount_point.startswith(prefix)]
