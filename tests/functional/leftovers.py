"""What a verify run started and might leave behind, found by its marks.

Only what the test itself started is looked at: processes whose command
line names the run's log directory (QEMU's console log and the metadata
server's answers live there) and the taps and namespaces the run's report
names, or, for a run killed before it reported, the akanda-slim ones that
appeared while it ran.
"""

import os
import time

from akanda_slim.bootcheck import network


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


host_networks = network.existing


def of_report(report, log_dir):
    """What is left of one reported run: processes, namespaces, taps."""
    names = report.get('host_networks') or {}
    now = host_networks()
    return {
        'processes': processes_naming(log_dir),
        'netns': [n for n in names.get('namespaces', []) if n in now['netns']],
        'taps': [t for t in names.get('taps', []) if t in now['taps']],
    }


def new_since(before):
    """The namespaces and taps that appeared since ``before``."""
    now = host_networks()
    return {key: sorted(set(now[key]) - set(before[key])) for key in now}


def wait_started(log_dir, before, processes=1, timeout=120):
    """Wait until QEMU and the run's namespaces are there.

    True once ``processes`` processes name ``log_dir`` and a namespace has
    appeared since ``before``; False at the timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (len(processes_naming(log_dir)) >= processes
                and new_since(before)['netns']):
            return True
        time.sleep(0.5)
    return False
