"""Run commands inside a target root, with what dpkg maintainer scripts need.

Mounts /proc, /sys and /dev (bind) when they are not mounted yet, keeps
services from starting with a policy-rc.d, and undoes exactly what it did.
"""

import logging
import os
import subprocess

from akanda_slim import errors

LOG = logging.getLogger(__name__)

POLICY_RC_D = 'usr/sbin/policy-rc.d'
ENVIRONMENT = {
    'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'DEBIAN_FRONTEND': 'noninteractive',
    'DEBCONF_NONINTERACTIVE_SEEN': 'true',
    'LC_ALL': 'C',
    'LANG': 'C',
    'HOME': '/root',
}
_MOUNTS = (
    ('proc', ['-t', 'proc', 'proc']),
    ('sys', ['-t', 'sysfs', 'sysfs']),
    ('dev', ['--bind', '/dev']),
)


def _run_host(command):
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise errors.ApplyError('%s failed: %s'
                                % (' '.join(command), result.stdout.strip()))


class Chroot:
    """A prepared target; use as a context manager, then ``run``."""

    def __init__(self, root):
        self.root = os.path.abspath(root)
        self._mounted = []
        self._policy_rc_d = None

    def __enter__(self):
        try:
            if self.root != '/':
                self._mount()
            self._block_services()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _mount(self):
        for name, args in _MOUNTS:
            path = os.path.join(self.root, name)
            if not os.path.isdir(path) or os.path.ismount(path):
                continue
            _run_host(['mount'] + args + [path])
            self._mounted.append(path)

    def _block_services(self):
        path = os.path.join(self.root, POLICY_RC_D)
        if os.path.exists(path) or not os.path.isdir(os.path.dirname(path)):
            return
        with open(path, 'w') as script:
            script.write('#!/bin/sh\n# akanda-slim: no services in chroot\n'
                         'exit 101\n')
        os.chmod(path, 0o755)
        self._policy_rc_d = path

    def __exit__(self, *exc_info):
        if self._policy_rc_d:
            os.unlink(self._policy_rc_d)
            self._policy_rc_d = None
        while self._mounted:
            path = self._mounted.pop()
            result = subprocess.run(['umount', path])
            if result.returncode != 0:
                subprocess.run(['umount', '--lazy', path])

    def run(self, command, check=True):
        """Run ``command`` (a list) in the target; returns CompletedProcess.

        With ``check``, a non-zero exit raises ApplyError with its output.
        """
        argv = command if self.root == '/' else \
            ['chroot', self.root] + command
        LOG.debug('running in %s: %s', self.root, ' '.join(command))
        result = subprocess.run(argv, env=ENVIRONMENT, text=True,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        if check and result.returncode != 0:
            raise errors.ApplyError(
                '%s failed in %s (exit %d): %s'
                % (' '.join(command), self.root, result.returncode,
                   result.stdout.strip()[-2000:]))
        return result
