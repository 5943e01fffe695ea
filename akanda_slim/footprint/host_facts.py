"""What a measurement ran on: the machine, and the source's git commit."""

import os
import platform

from akanda_slim.dib import shipped_files
from akanda_slim import errors
from akanda_slim import process


def _first_line(path, prefix):
    """The rest of the first line of ``path`` starting with ``prefix``."""
    try:
        with open(path, errors='replace') as source:
            for line in source:
                if line.startswith(prefix):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass  # not Linux, or /proc hidden: the fact stays unknown
    return None


def memory_mib(meminfo='/proc/meminfo'):
    """The host's MemTotal in MiB, or None."""
    total = _first_line(meminfo, 'MemTotal:')
    return int(total.split()[0]) // 1024 if total else None


def qemu_version():
    """QEMU's version line, or None without qemu-system-x86_64."""
    try:
        result = process.run(['qemu-system-x86_64', '--version'],
                             check=False, timeout=30)
    except errors.SlimError:
        return None
    lines = result.stdout.splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else None


def machine(accel):
    """Cores, memory, CPU, kernel, QEMU and the accelerator (tcg/kvm)."""
    return {
        'cores': os.cpu_count(),
        'memory_mib': memory_mib(),
        'cpu': _first_line('/proc/cpuinfo', 'model name'),
        'kernel': platform.release(),
        'qemu': qemu_version(),
        'accelerator': accel,
    }


def source_commit(directory=shipped_files.SOURCE_TREE):
    """{'commit': hash, 'modified': bool} of a git checkout, or None.

    None when ``directory`` is not a source tree (an installed package
    has no setup.cfg beside it), not a git work tree, or git is missing.
    """
    if not os.path.isfile(os.path.join(directory, 'setup.cfg')):
        return None
    try:
        head = process.run(['git', '-C', directory, 'rev-parse', 'HEAD'],
                           check=False, merge_stderr=False, timeout=30)
        if head.returncode != 0:
            return None
        status = process.run(['git', '-C', directory, 'status',
                              '--porcelain', '--untracked-files=no'],
                             check=False, merge_stderr=False, timeout=30)
    except errors.SlimError:
        return None
    return {'commit': head.stdout.strip(),
            'modified': bool(status.stdout.strip())}
