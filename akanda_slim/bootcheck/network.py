"""The host side of the router's networks: one namespace per network.

Each network is a bridge in a network namespace of its own; every guest
NIC on that network is a tap device that QEMU opens, then moved into the
namespace and enslaved to the bridge (two guests of a high-availability
pair share the bridges). The bridge carries the host's end:

* ``mgmt``: the orchestrator's end of the management network
  (``ORCHESTRATOR`` on the bridge; the agent's API and SSH are reached
  over IPv6 here). The guest's management NIC is also on QEMU's user
  network, which gives it DHCP, the metadata service and forwarded ports.
* ``external``: the upstream network (its gateway, where NAT sends to).
* ``internal``, ``internal2``: tenant networks, where a tenant host runs
  as the bridge's own address (its MAC is fixed: DHCP allocations name
  it).

Nothing reaches the host's own network. ``close()`` deletes the
namespaces, their processes and the taps, whatever state the run ended in.
"""

import logging
import os
import signal
import subprocess
import uuid

from akanda_slim.bootcheck import tools
from akanda_slim import process

LOG = logging.getLogger(__name__)

ROLES = ('mgmt', 'external', 'internal', 'internal2')
# Unique-local and private prefixes, on namespaces of our own only.
MGMT = {'net6': 'fdca:3ba5:a17a:acda::/64', 'host6': 'fdca:3ba5:a17a:acda::1',
        'guest6': 'fdca:3ba5:a17a:acda::10', 'prefix6': 64}
EXTERNAL = {'net': '172.16.77.0/24', 'host': '172.16.77.1',
            'guest': '172.16.77.10', 'floating': '172.16.77.20',
            'prefix': 24, 'net6': 'fd00:77:1::/64', 'host6': 'fd00:77:1::1',
            'guest6': 'fd00:77:1::10'}
INTERNAL = {'net': '192.168.77.0/24', 'guest': '192.168.77.1', 'prefix': 24,
            'client': '192.168.77.100', 'client_mac': '52:54:00:b7:77:64',
            'second': '192.168.77.101', 'second_mac': '52:54:00:b7:77:65',
            'net6': 'fd00:77:2::/64', 'guest6': 'fd00:77:2::1'}
INTERNAL2 = {'net': '192.168.78.0/24', 'guest': '192.168.78.1', 'prefix': 24,
             'client': '192.168.78.100', 'client_mac': '52:54:00:b7:78:64',
             'net6': 'fd00:77:3::/64', 'guest6': 'fd00:77:3::1'}
ORCHESTRATOR = MGMT['host6']
BRIDGE = 'br0'
TAP_PREFIXES = {'mgmt': 'aksm', 'external': 'aksx', 'internal': 'aksi',
                'internal2': 'aksj'}
SHORT = {'mgmt': 'mgt', 'external': 'ext', 'internal': 'int',
         'internal2': 'in2'}
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


def link_local(mac):
    """The EUI-64 IPv6 link-local address the kernel gives ``mac``."""
    octets = [int(part, 16) for part in mac.split(':')]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    groups = ['%x' % (eui[i] << 8 | eui[i + 1]) for i in range(0, 8, 2)]
    return 'fe80::' + ':'.join(groups)


class HostNetworks:
    """Taps for ``guests`` guests, then one namespace and bridge a role."""

    def __init__(self, guests=1):
        tag = uuid.uuid4().hex[:6]
        self.tag = tag
        self.guest_taps = [
            {role: '%s%s%d' % (prefix, tag, index)
             for role, prefix in TAP_PREFIXES.items()}
            for index in range(guests)]
        self.namespaces = {role: '%s%s-%s' % (NAMESPACE_PREFIX, short, tag)
                           for role, short in SHORT.items()}
        self.created = []

    @property
    def taps(self):
        """The first guest's taps: role -> tap name."""
        return self.guest_taps[0]

    def all_taps(self):
        return [tap for taps in self.guest_taps for tap in taps.values()]

    def create_taps(self):
        for tap in self.all_taps():
            _ip('tuntap', 'add', 'dev', tap, 'mode', 'tap')
            self.created.append(('tap', tap))

    def attach(self):
        """After QEMU opened the taps: namespaces, bridges, addresses."""
        for role, namespace in self.namespaces.items():
            _ip('netns', 'add', namespace)
            self.created.append(('netns', namespace))
            self.run(role, ['ip', 'link', 'set', 'lo', 'up'])
            self.run(role, ['ip', 'link', 'add', BRIDGE, 'type', 'bridge',
                            'forward_delay', '0'])
            mac = {'internal': INTERNAL, 'internal2': INTERNAL2}.get(
                role, {}).get('client_mac')
            if mac:
                self.run(role, ['ip', 'link', 'set', BRIDGE, 'address', mac])
            for taps in self.guest_taps:
                _ip('link', 'set', taps[role], 'netns', namespace)
                self.run(role, ['ip', 'link', 'set', taps[role], 'master',
                                BRIDGE, 'up'])
            self.run(role, ['ip', 'link', 'set', BRIDGE, 'up'])
        self.run('mgmt', ['ip', '-6', 'addr', 'add', '%s/%d' % (
            MGMT['host6'], MGMT['prefix6']), 'dev', BRIDGE, 'nodad'])
        self.run('external', ['ip', 'addr', 'add', '%s/%d' % (
            EXTERNAL['host'], EXTERNAL['prefix']), 'dev', BRIDGE])
        self.run('external', ['ip', '-6', 'addr', 'add', '%s/64' %
                              EXTERNAL['host6'], 'dev', BRIDGE, 'nodad'])

    def command(self, side, command):
        return [tools.require('ip'), 'netns', 'exec',
                self.namespaces[side]] + list(command)

    def run(self, side, command, timeout=60, check=True):
        return process.run(self.command(side, command), check=check,
                           timeout=timeout, merge_stderr=False)

    def popen(self, side, command):
        return subprocess.Popen(self.command(side, command), text=True,
                                stdin=subprocess.DEVNULL,
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
