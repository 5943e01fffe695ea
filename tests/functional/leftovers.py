"""What a verify run started and might leave behind, found by its marks.

Only what the test itself started is looked at: processes whose command
line names the run's log directory (QEMU's console log and the metadata
server's answers live there) and the taps and namespaces the run's report
names, or, for a run killed before it reported, the akanda-slim ones that
appeared while it ran.
"""

import os
import subprocess


def processes_naming(text):
    """PIDs of processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as cmdline:
                if text.encode() in cmdline.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def host_networks():
    """{'netns': [...], 'taps': [...]}: akanda-slim's, existing now."""
    namespaces = subprocess.run(['ip', 'netns', 'list'], text=True,
                                stdout=subprocess.PIPE).stdout
    links = subprocess.run(['ip', '-o', 'link', 'show'], text=True,
                           stdout=subprocess.PIPE).stdout
    return {
        'netns': sorted(n.split()[0] for n in namespaces.splitlines()
                        if n.startswith('akanda-slim-')),
        'taps': sorted(name for name in (
            line.split(':')[1].strip().split('@')[0]
            for line in links.splitlines())
            if name.startswith(('aksx', 'aksi'))),
    }


def of_report(report, log_dir):
    """What is left of one reported run: processes, namespaces, taps."""
    names = report.get('host_networks') or {}
    now = host_networks()
    return {
        'processes': processes_naming(log_dir),
        'netns': [n for n in names.get('namespaces', []) if n in now['netns']],
        'taps': [t for t in names.get('taps', []) if t in now['taps']],
    }
