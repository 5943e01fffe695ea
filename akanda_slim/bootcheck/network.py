"""The host side of the router's external and internal networks.

Each is a tap device that QEMU attaches to a guest NIC, moved into a
network namespace of its own once QEMU holds it: ``external`` stands for
the upstream network (an address the router's NAT sends traffic to) and
``internal`` for the tenant network (where a DHCP client runs). Nothing
reaches the host's own network. ``close()`` deletes the namespaces, their
processes and the taps, whatever state the run ended in.
"""

import logging
import os
import signal
import subprocess
import uuid

from akanda_slim.bootcheck import tools
from akanda_slim import process

LOG = logging.getLogger(__name__)

# Documentation and unique-local prefixes: never routed anywhere.
EXTERNAL = {'host': '172.16.77.1', 'guest': '172.16.77.10', 'prefix': 24,
            'host6': 'fd00:77:1::1', 'guest6': 'fd00:77:1::10'}
INTERNAL = {'guest': '192.168.77.1', 'prefix': 24,
            'guest6': 'fd00:77:2::1', 'net6': 'fd00:77:2::/64',
            'dhcp_first': '192.168.77.100', 'dhcp_last': '192.168.77.150'}
MGMT6 = 'fdca:3ba5:a17a:acda::1'
TAP_PREFIXES = {'external': 'aksx', 'internal': 'aksi'}
NAMESPACE_PREFIX = 'akanda-slim-'


def why_not_available():
    """Why namespaces and taps cannot be made here, or None."""
    if os.geteuid() != 0:
        return 'needs root for network namespaces and tap devices'
    if not os.path.exists('/dev/net/tun'):
        return '/dev/net/tun is missing'
    return None


def existing():
    """{'netns': [...], 'taps': [...]}: akanda-slim's on the host now."""
    namespaces = _ip('netns', 'list', check=False).stdout
    links = _ip('-o', 'link', 'show', check=False).stdout
    return {
        'netns': sorted(line.split()[0] for line in namespaces.splitlines()
                        if line.startswith(NAMESPACE_PREFIX)),
        'taps': sorted(name for name in (
            line.split(':')[1].strip().split('@')[0]
            for line in links.splitlines() if line.count(':') >= 2)
            if name.startswith(tuple(TAP_PREFIXES.values()))),
    }


def _ip(*arguments, check=True):
    return process.run([tools.require('ip')] + list(arguments),
                       check=check, merge_stderr=False, timeout=60)


class HostNetworks:
    """Two taps, then two namespaces holding them."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.taps = {role: prefix + tag
                     for role, prefix in TAP_PREFIXES.items()}
        self.namespaces = {role: '%s%s-%s' % (NAMESPACE_PREFIX, role[:3], tag)
                           for role in TAP_PREFIXES}
        self.created = []

    def create_taps(self):
        for tap in self.taps.values():
            _ip('tuntap', 'add', 'dev', tap, 'mode', 'tap')
            self.created.append(('tap', tap))

    def attach(self):
        """After QEMU opened the taps: namespaces, addresses, links up."""
        for side, namespace in self.namespaces.items():
            _ip('netns', 'add', namespace)
            self.created.append(('netns', namespace))
            _ip('link', 'set', self.taps[side], 'netns', namespace)
            self.run(side, ['ip', 'link', 'set', 'lo', 'up'])
            self.run(side, ['ip', 'link', 'set', self.taps[side], 'up'])
        tap = self.taps['external']
        self.run('external', ['ip', 'addr', 'add', '%s/%d' % (
            EXTERNAL['host'], EXTERNAL['prefix']), 'dev', tap])
        self.run('external', ['ip', '-6', 'addr', 'add', '%s/64' %
                              EXTERNAL['host6'], 'dev', tap, 'nodad'])

    def command(self, side, command):
        return [tools.require('ip'), 'netns', 'exec',
                self.namespaces[side]] + list(command)

    def run(self, side, command, timeout=60, check=True):
        return process.run(self.command(side, command), check=check,
                           timeout=timeout, merge_stderr=False)

    def popen(self, side, command):
        return subprocess.Popen(self.command(side, command), text=True,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def _kill_processes(self, namespace):
        pids = _ip('netns', 'pids', namespace, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self):
        for kind, name in reversed(self.created):
            if kind == 'netns':
                self._kill_processes(name)
                _ip('netns', 'delete', name, check=False)
            else:
                _ip('link', 'delete', name, check=False)
        self.created = []
