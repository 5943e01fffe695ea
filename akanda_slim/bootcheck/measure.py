"""Figures taken from a booted guest and from the image file."""

import os
import shutil
import tempfile
import time

# One guest command line per figure; each prints one item per line.
SURFACE = {
    'running_services': 'sudo systemctl list-units --type=service '
                        '--state=running --plain --no-legend '
                        '| cut -d" " -f1',
    'listening_sockets': 'sudo ss -H -tuln | awk \'{print $1" "$5}\' '
                         '| sort -u',
    'setuid_setgid_files': 'sudo find / -xdev -type f -perm /6000 '
                           '2>/dev/null | sort',
    'installed_packages': 'dpkg-query -W -f \'${db:Status-Status} '
                          '${Package}\\n\' | awk \'$1 == "installed" '
                          '{print $2}\'',
}


def memory_used_kib(ssh):
    """MemTotal - MemAvailable from /proc/meminfo."""
    fields = {}
    for line in ssh.check('cat /proc/meminfo').splitlines():
        name, value = line.split(':', 1)
        fields[name] = int(value.split()[0])
    return fields['MemTotal'] - fields['MemAvailable']


def surface(ssh):
    """Name -> sorted list of items, for each SURFACE command."""
    return {name: sorted(line.strip() for line in
                         ssh.check(command).splitlines() if line.strip())
            for name, command in SURFACE.items()}


def copy_seconds(path, directory=None):
    """Time to copy the image file with a cold source and fsync'd copy."""
    with open(path, 'rb') as source:
        os.posix_fadvise(source.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    with tempfile.TemporaryDirectory(dir=directory) as work:
        target = os.path.join(work, 'copy')
        started = time.monotonic()
        with open(path, 'rb') as source, open(target, 'wb') as out:
            shutil.copyfileobj(source, out, 4 << 20)
            out.flush()
            os.fsync(out.fileno())
        return round(time.monotonic() - started, 2)


def median(values):
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
