"""Run the image in QEMU: whole disk, or filesystem with a direct kernel.

The disk is opened with ``snapshot=on`` so the image file stays as built;
the guest's writes survive a guest reboot but not the QEMU process. The
serial console goes to a log file. The process runs in its own session and
``stop()`` kills the whole group, so nothing outlives the run.

The host port for SSH is picked free, then QEMU binds it; if another run
took it in between, QEMU exits at once saying it could not set up the
forwarding rule and ``start()`` tries a fresh port.

With ``metadata_answers`` the management network is Nova's: the guest's
DHCP network is 169.254.169.0/24 and its connections to
169.254.169.254:80 start ``metadata_server`` (one process per connection,
a child of QEMU that dies with it). With ``openstack_smbios`` the machine
says it is "OpenStack Nova" in its SMBIOS tables, as Nova's guests do.
"""

import logging
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

from akanda_slim.bootcheck import tools
from akanda_slim import errors

LOG = logging.getLogger(__name__)

KERNEL_COMMAND_LINE = 'root=/dev/vda console=ttyS0 net.ifnames=0'
# Console lines after which the guest never boots: a kernel panic, or the
# initramfs giving up on the root disk (its rescue shell waits forever).
PANIC_MARKS = ('Kernel panic - not syncing',
               'Dropping to a shell!')
GUEST_SSH_PORT = 22
METADATA_ADDRESS = '169.254.169.254'
METADATA_NETWORK = '169.254.169.0/24'
OPENSTACK_SMBIOS = ('type=1,manufacturer=OpenStack Foundation,'
                    'product=OpenStack Nova')
PORT_TAKEN_MARK = 'host forwarding rule'
PORT_ATTEMPTS = 5
STARTUP_SECONDS = 2.0
# Fixed MACs: the checks find each NIC in the guest by its address.
# The guest names them eth0 to eth4 in this order. ``access`` is QEMU's
# user network, the cloud's plumbing (DHCP, the metadata service, the
# forwarded SSH port); the others are the router's networks, taps on the
# host (``network``), or without them isolated user networks.
MACS = {
    'access': '52:54:00:a1:00:00',
    'mgmt': '52:54:00:a1:00:01',
    'external': '52:54:00:a1:00:02',
    'internal': '52:54:00:a1:00:03',
    'internal2': '52:54:00:a1:00:04',
}
ROUTER_NICS = ('mgmt', 'external', 'internal', 'internal2')


def guest_macs(index=0):
    """The NICs' MACs of guest ``index`` (0: MACS; 1: its HA peer)."""
    return {role: '%s:%02x:%s' % (mac[:11], index, mac[15:])
            for role, mac in MACS.items()}


def free_port():
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def option_value(text):
    """``text`` as a value inside a QEMU option list: commas doubled."""
    return str(text).replace(',', ',,')


def children(pid):
    """PIDs of the direct children of process ``pid`` (Linux /proc)."""
    found = []
    try:
        tasks = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return found
    for task in tasks:
        try:
            with open('/proc/%d/task/%s/children' % (pid, task)) as text:
                found += [int(word) for word in text.read().split()]
        except OSError:
            continue
    return found


def kvm_usable():
    return os.access('/dev/kvm', os.R_OK | os.W_OK)


class Machine:
    """One QEMU process for one image."""

    def __init__(self, image, seed_iso, console_log, kernel=None,
                 initrd=None, taps=None, accel='tcg', memory_mib=1024,
                 cpus=2, metadata_answers=None, openstack_smbios=False,
                 macs=None):
        self.image = image
        self.seed_iso = seed_iso
        self.console_log = console_log
        self.kernel = kernel
        self.initrd = initrd
        self.taps = taps or {}
        self.accel = accel
        self.memory_mib = memory_mib
        self.cpus = cpus
        self.metadata_answers = metadata_answers
        self.openstack_smbios = openstack_smbios
        self.macs = macs or MACS
        self.ssh_port = free_port()
        self.process = None
        self.started_at = None

    def _nic(self, name, netdev):
        return ['-netdev', netdev,
                '-device', 'virtio-net-pci,netdev=%s,mac=%s'
                % (name, self.macs[name])]

    def _metadata_forward(self):
        """The access netdev options that put Nova's metadata service there."""
        server = shlex.join([sys.executable, '-m',
                             'akanda_slim.bootcheck.metadata_server',
                             os.path.abspath(self.metadata_answers)])
        return ('net=%s,guestfwd=tcp:%s:80-cmd:%s,'
                % (METADATA_NETWORK, METADATA_ADDRESS, option_value(server)))

    def command(self):
        command = [tools.require('qemu-system-x86_64'),
                   '-accel', self.accel, '-m', str(self.memory_mib),
                   '-smp', str(self.cpus), '-nodefaults',
                   '-display', 'none', '-monitor', 'none',
                   '-serial', 'file:%s' % option_value(self.console_log),
                   '-drive', 'file=%s,if=virtio,snapshot=on'
                   % option_value(self.image)]
        if self.seed_iso:
            command += ['-drive', 'file=%s,if=virtio,media=cdrom,'
                        'readonly=on' % option_value(self.seed_iso)]
        if self.openstack_smbios:
            command += ['-smbios', OPENSTACK_SMBIOS]
        if self.kernel:
            command += ['-kernel', self.kernel, '-initrd', self.initrd,
                        '-append', KERNEL_COMMAND_LINE]
        # Only SSH is forwarded (it takes the run's key); the agent is
        # reached on the management network.
        forwards = 'hostfwd=tcp:127.0.0.1:%d-:%d' % (self.ssh_port,
                                                     GUEST_SSH_PORT)
        metadata = self._metadata_forward() if self.metadata_answers else ''
        command += self._nic('access', 'user,id=access,restrict=on,ipv6=off,'
                             + metadata + forwards)
        for name in ROUTER_NICS:
            if name in self.taps:
                netdev = ('tap,id=%s,ifname=%s,script=no,downscript=no'
                          % (name, self.taps[name]))
            else:
                netdev = 'user,id=%s,restrict=on,ipv6=off' % name
            command += self._nic(name, netdev)
        return command

    def start(self):
        """Start QEMU; on a host port taken meanwhile, again on new ones."""
        if self.kernel and not self.initrd:
            raise errors.UsageError('a kernel needs its initrd too')
        for attempt in range(1, PORT_ATTEMPTS + 1):
            if self._start_once():
                return
            output = self.qemu_output()
            if PORT_TAKEN_MARK not in output or attempt == PORT_ATTEMPTS:
                raise errors.BootError('QEMU exited at once: %s' % output)
            LOG.info('host port %d was taken before QEMU bound it; trying '
                     'another', self.ssh_port)
            self.ssh_port = free_port()

    def _start_once(self):
        """Start QEMU; True if it still runs after ``STARTUP_SECONDS``."""
        command = self.command()
        LOG.info('starting QEMU (%s): %s', self.accel, shlex.join(command))
        self.errors_log = self.console_log + '.qemu'
        with open(self.errors_log, 'w') as qemu_output:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=qemu_output,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.started_at = time.monotonic()
        try:
            self.process.wait(STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            return True
        self.process = None
        return False

    def qemu_output(self):
        with open(self.errors_log) as text:
            return text.read().strip()[-1000:]

    def running(self):
        return self.process is not None and self.process.poll() is None

    def panic(self):
        """The console's panic (or initramfs rescue) line, or None."""
        try:
            with open(self.console_log, errors='replace') as console:
                for line in console:
                    if any(mark in line for mark in PANIC_MARKS):
                        return line.strip()
        except FileNotFoundError:
            pass
        return None

    def alive(self):
        """QEMU runs and the guest kernel has not panicked."""
        return self.running() and self.panic() is None

    def stop(self):
        """Kill QEMU, its children and everything in its session; wait."""
        if self.process is None:
            return
        if self.process.poll() is None:
            # QEMU's user network starts guestfwd commands (the metadata
            # server) in sessions of their own: kill them by pid.
            for child in children(self.process.pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 30)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.process = None
