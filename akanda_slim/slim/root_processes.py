"""Processes whose root directory is a given target root, from /proc."""

import os


def processes_in(root):
    """Pids of processes whose root directory is ``root``."""
    pids = []
    for name in os.listdir('/proc'):
        if name.isdigit():
            try:
                if os.readlink('/proc/%s/root' % name) == root:
                    pids.append(int(name))
            except OSError:
                continue  # it ended, or it is a kernel thread
    return pids
