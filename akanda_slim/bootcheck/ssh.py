"""Run commands in the guest over SSH with the seed's key."""

import logging
import socket
import subprocess
import time

from akanda_slim.bootcheck import tools
from akanda_slim import errors
from akanda_slim import process

LOG = logging.getLogger(__name__)

# ssh's own exit status when the connection, not the command, failed.
SSH_FAILED = 255


class Ssh:
    """ssh to ``user``@``host``:``port``.

    By default ``host`` is 127.0.0.1, a port QEMU forwards to the guest;
    ``through(prefix, host)`` gives the same login over another path, run
    under a command ``prefix`` (``ip netns exec NS``): the management
    network's IPv6, which the agent's firewall leaves open.
    """

    OPTIONS = ['-o', 'BatchMode=yes',
               '-o', 'StrictHostKeyChecking=no',
               '-o', 'UserKnownHostsFile=/dev/null',
               '-o', 'IdentitiesOnly=yes',
               '-o', 'ServerAliveInterval=5',
               '-o', 'ServerAliveCountMax=6']

    def __init__(self, port, key, user, host='127.0.0.1', prefix=()):
        self.port = port
        self.key = key
        self.user = user
        self.host = host
        self.prefix = list(prefix)

    def through(self, prefix, host, port=22):
        """The same login to ``host``:``port``, run under ``prefix``."""
        return Ssh(port, self.key, self.user, host=host, prefix=prefix)

    def _target(self):
        return '%s@%s' % (self.user, self.host)

    def command(self, remote, connect_timeout=10):
        return (self.prefix + [tools.require('ssh'), '-q', '-i', self.key,
                               '-p', str(self.port)] + self.OPTIONS
                + ['-o', 'ConnectTimeout=%d' % connect_timeout,
                   self._target(), remote])

    def copy_to(self, paths, remote_dir, timeout=300):
        """scp local ``paths`` into ``remote_dir`` in the guest."""
        host = '[%s]' % self.host if ':' in self.host else self.host
        command = self.prefix + [
            tools.require('scp'), '-q', '-i', self.key,
            '-P', str(self.port)] + self.OPTIONS + list(paths) + [
            '%s@%s:%s' % (self.user, host, remote_dir)]
        try:
            process.run(command, timeout=timeout)
        except errors.CommandError as failure:
            raise errors.VerificationError(
                'copying %s to the guest failed: %s'
                % (', '.join(paths), failure)) from None

    def run(self, remote, timeout=120, input=None):
        """Run a shell command line in the guest; a CompletedProcess."""
        LOG.debug('guest$ %s', remote)
        try:
            return process.run(self.command(remote), input=input,
                               timeout=timeout, check=False,
                               merge_stderr=False)
        except errors.CommandError as failure:
            return subprocess.CompletedProcess(remote, SSH_FAILED, '',
                                               str(failure))

    def check(self, remote, timeout=120, input=None):
        """Run and return stdout; VerificationError with stderr if it fails."""
        result = self.run(remote, timeout=timeout, input=input)
        if result.returncode != 0:
            raise errors.VerificationError(
                '`%s` exited %d: %s' % (remote, result.returncode,
                                        (result.stderr or result.stdout)
                                        .strip()[-400:]))
        return result.stdout

    def banner(self, timeout=2.0):
        """True if sshd in the guest sends its banner within ``timeout``.

        A fresh short connection each time: QEMU's user network accepts
        at once and retries toward the guest with backoff, so one long
        wait would measure its timers, not the guest.
        """
        if self.prefix:  # another namespace: ssh itself must tell
            return True
        try:
            with socket.create_connection((self.host, self.port),
                                          timeout=timeout) as probe:
                return probe.recv(4).startswith(b'SSH-')
        except OSError:
            return False

    def wait_ready(self, deadline, alive=lambda: True, probe='true'):
        """Retry ``probe`` until it works; False at the deadline."""
        while time.monotonic() < deadline:
            if not alive():
                return False
            if not self.banner():
                time.sleep(0.5)
                continue
            left = deadline - time.monotonic()
            result = self.run(probe, timeout=max(5, min(30, int(left))))
            if result.returncode == 0:
                return True
            time.sleep(1)
        return False
