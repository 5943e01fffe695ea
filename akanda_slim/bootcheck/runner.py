"""Verify images: boot them, run the checks once, time further boots.

The first boot of an image carries the host networks and runs every check
(one boot for all checks, the reboot check included); later boots only
time the way to SSH and to a finished boot. Two images are booted in
turn. Each boot happens under an ExitStack, so QEMU, taps and namespaces
go away however the run ends. A caller adds its own steps to the checked
boot through ``Hooks`` (``usage`` does: ``rw`` on the kernel command
line, its listings after the checks) instead of booting by itself.
"""

import contextlib
import dataclasses
import logging
import os
import time

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import checks as checks_mod
from akanda_slim.bootcheck import image_check
from akanda_slim.bootcheck import measure
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import seed as seed_mod
from akanda_slim.bootcheck import ssh as ssh_mod
from akanda_slim import errors

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Options:
    boots: int = 1
    accel: str = 'tcg'
    memory_mib: int = 1024
    boot_timeout: int = 600
    run_checks: bool = True
    datasource: str = seed_mod.DEFAULT_DATASOURCE
    check_set: str = 'all'


def beside(image, suffix):
    """NAME.SUFFIX next to NAME.qcow2 (DIB's baremetal outputs), or None."""
    stem = os.path.splitext(image)[0]
    path = stem + suffix
    return path if os.path.exists(path) else None


def add_image_arguments(parser):
    """IMAGE, --kernel and --initrd, as ``boot_files`` takes them."""
    parser.add_argument('image', help='the qcow2 (whole disk, or a '
                        'filesystem with NAME.vmlinuz/NAME.initrd beside)')
    parser.add_argument('--kernel', help='kernel for a filesystem image '
                        '(default: NAME.vmlinuz beside the image)')
    parser.add_argument('--initrd', help='initrd for a filesystem image '
                        '(default: NAME.initrd beside the image)')


def boot_files(image, kernel=None, initrd=None):
    """(kernel, initrd) to boot ``image`` with: given, found, or None.

    Refuses (UsageError) what cannot boot: a file that is no qcow2 or raw
    disk or filesystem, or a filesystem image with no kernel and initrd.
    """
    if not os.path.isfile(image):
        raise errors.UsageError('no such image: %s' % image)
    if bool(kernel) != bool(initrd):
        raise errors.UsageError('give both --kernel and --initrd, or neither')
    if kernel:
        for path in (kernel, initrd):
            if not os.path.isfile(path):
                raise errors.UsageError('no such file: %s' % path)
        found = kernel, initrd
    else:
        found = beside(image, '.vmlinuz'), beside(image, '.initrd')
        found = found if all(found) else (None, None)
    if image_check.kind(image) == image_check.FILESYSTEM and not found[0]:
        stem = os.path.splitext(image)[0]
        raise errors.UsageError(
            '%s is a filesystem image with no kernel and initrd beside it '
            '(%s.vmlinuz, %s.initrd): it cannot boot by itself; give '
            '--kernel and --initrd' % (image, stem, stem))
    return found


class Hooks:
    """What a caller adds to a Session's boots; this one adds nothing.

    ``kernel_args``: words added to the kernel command line of every boot
    (an image booted with its own boot loader keeps its own).
    ``measure_surface``: list services, sockets, set-id files and packages
    on the first boot (their commands run in the guest).
    """

    kernel_args = ()
    measure_surface = True

    def before_retry(self, number):
        """Before boot ``number`` is booted again after a guest panic."""

    def after_boot(self, ctx):
        """On the checked boot: after its timings, before the checks."""

    def after_checks(self, ctx):
        """On the checked boot: after the checks, before the machine stops.

        Not called when the guest panicked; ``ctx.ssh`` is where the checks
        left SSH (the management network, once configured).
        """


class KernelArgsMachine(qemu.Machine):
    """A QEMU machine with ``kernel_args`` on the kernel command line."""

    def __init__(self, *args, kernel_args=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kernel_args = tuple(kernel_args)

    def command(self):
        command = super().command()
        if self.kernel_args and '-append' in command:
            at = command.index('-append') + 1
            command[at] = ' '.join((command[at],) + self.kernel_args)
        return command


def _boot(image, kernel, initrd, seed, workdir, number, options,
          networks=None, kernel_args=()):
    """Start QEMU for boot ``number``; the running Machine."""
    console = os.path.join(workdir, 'console-%d.log' % number)
    machine = KernelArgsMachine(
        image, seed.iso, console, kernel=kernel, initrd=initrd,
        accel=options.accel, memory_mib=options.memory_mib,
        taps=networks.taps if networks else None,
        metadata_answers=seed.metadata_answers,
        openstack_smbios=seed.datasource != 'nocloud',
        kernel_args=kernel_args)
    machine.start()
    return machine


def _wait_for_ssh(machine, ssh, options, deadline):
    if not ssh.wait_ready(deadline, machine.alive):
        panic = machine.panic()
        if panic:
            raise errors.GuestPanicError(panic, machine.console_log)
        why = ('QEMU exited: %s' % machine.qemu_output()
               if not machine.running() else
               'no SSH within %d s' % options.boot_timeout)
        raise errors.BootError('%s; serial console log: %s'
                               % (why, machine.console_log))


def wait_for_boot(machine, ssh, options):
    """Wait for SSH, then for the boot to finish; the boot's timings.

    cloud-init's config stage may restart sshd after SSH first answered
    (a session caught in the restart ends with ssh's own exit status,
    255): SSH is then awaited again, within the same boot timeout.
    """
    deadline = machine.started_at + options.boot_timeout
    _wait_for_ssh(machine, ssh, options, deadline)
    ssh_ready = time.monotonic() - machine.started_at
    while True:
        result = ssh.run('sudo systemctl is-system-running --wait',
                         timeout=max(5, int(deadline - time.monotonic())))
        if (result.returncode != ssh_mod.SSH_FAILED
                or time.monotonic() >= deadline):
            break  # a boot still unfinished at the deadline: no state
        LOG.info('SSH dropped while waiting for the boot to finish '
                 '(sshd restarted?); waiting for SSH again')
        _wait_for_ssh(machine, ssh, options, deadline)
    state = result.stdout.strip()
    boot_done = time.monotonic() - machine.started_at
    LOG.info('SSH ready after %.1f s, boot finished (%s) after %.1f s',
             ssh_ready, state, boot_done)
    return {'ssh_ready_seconds': round(ssh_ready, 1),
            'boot_finished_seconds': round(boot_done, 1),
            'system_state': state}


class Session:
    """One image's verification: its seed, its boots, its check results.

    The first ``boot()`` carries the host networks and runs the checks
    (when ``options.run_checks``); every boot records its timings.
    ``hooks`` (a ``Hooks``) adds a caller's steps to those boots.
    """

    hooks = Hooks()

    def __init__(self, image, workdir, kernel=None, initrd=None,
                 options=None, hooks=None):
        self.image = image
        self.workdir = workdir
        self.options = options or Options()
        self.hooks = hooks or Hooks()
        self.kernel, self.initrd = boot_files(image, kernel, initrd)
        self.seed = seed_mod.make_seed(workdir, self.options.datasource)
        self.ssh = ssh_mod.Ssh(None, self.seed.private_key, self.seed.user)
        self.boots, self.results, self.figures = [], [], {}
        self.panics = []
        self.host_networks = {}

    def boot(self):
        """Boot once, time it; the first boot also runs the checks.

        A boot whose guest kernel panics (seen under TCG: an ``int3`` oops
        while the kernel patches its own code), before SSH or during the
        checks, is recorded in ``panics`` and booted once more, checks
        and all (``hooks.before_retry`` first); a second panic of the same
        boot fails the run.
        """
        number = len(self.boots) + 1
        first = number == 1 and self.options.run_checks
        try:
            self._boot_once(number, first)
        except errors.GuestPanicError as panic:
            if any(p['boot'] == number for p in self.panics):
                raise
            kept = panic.console_log[:-len('.log')] + '-panic.log'
            os.replace(panic.console_log, kept)
            LOG.warning('boot %d of %s: guest kernel panic (%s), console '
                        'log kept as %s; booting it again', number,
                        self.image, panic.panic, kept)
            self.panics.append({'boot': number, 'panic': panic.panic,
                                'console_log': kept})
            self.hooks.before_retry(number)
            self._boot_once(number, first)

    def _boot_once(self, number, first):
        with contextlib.ExitStack() as stack:
            networks = None
            if first and network.why_not_available() is None:
                networks = network.HostNetworks()
                self.host_networks = {
                    'taps': sorted(networks.taps.values()),
                    'namespaces': sorted(networks.namespaces.values())}
                stack.callback(networks.close)
                networks.create_taps()
            LOG.info('boot %d of %d: %s', number, self.options.boots,
                     self.image)
            machine = _boot(self.image, self.kernel, self.initrd, self.seed,
                            self.workdir, number, self.options, networks,
                            self.hooks.kernel_args)
            stack.callback(machine.stop)
            if networks:
                networks.attach()
            self.ssh.port = machine.ssh_port
            timings = wait_for_boot(machine, self.ssh, self.options)
            timings['memory_used_kib'] = measure.memory_used_kib(self.ssh)
            self.boots.append(timings)
            if number == 1 and self.hooks.measure_surface:
                self.figures = measure.surface(self.ssh)
            if first:
                ctx = checks_mod.Context(
                    ssh=self.ssh, machine=machine, networks=networks,
                    workdir=self.workdir,
                    boot_timeout=self.options.boot_timeout, seed=self.seed)
                self.hooks.after_boot(ctx)
                self.results = list(checks_mod.run_checks(
                    ctx, check_sets.SETS[self.options.check_set]))
                panic = machine.panic()
                if panic:  # the checks' failures are the panic's
                    self.boots.pop()
                    raise errors.GuestPanicError(panic, machine.console_log)
                self.hooks.after_checks(ctx)

    def report(self):
        """The image's verification report, as a dict."""
        return {
            'tool': 'akanda-slim',
            'image': os.path.abspath(self.image),
            'kernel': self.kernel,
            'initrd': self.initrd,
            'accel': self.options.accel,
            'datasource': self.options.datasource,
            'memory_mib': self.options.memory_mib,
            'boots': self.boots,
            'panics': self.panics,
            'median': {
                key: measure.median([b[key] for b in self.boots])
                for key in ('ssh_ready_seconds', 'boot_finished_seconds',
                            'memory_used_kib')},
            'checks': [r.to_dict() for r in self.results],
            # None: no checks were asked for (timing boots only)
            'checks_passed': None if not self.options.run_checks else (
                bool(self.results) and all(
                    r.status == checks_mod.PASS for r in self.results)),
            'surface': {name: {'count': len(items), 'items': items}
                        for name, items in self.figures.items()},
            'qcow2_bytes': os.path.getsize(self.image),
            'copy_seconds': measure.copy_seconds(self.image),
            'log_dir': self.workdir,
            'host_networks': self.host_networks,
        }


def verify_interleaved(sessions):
    """Boot the sessions' images in turn, ``boots`` rounds; their reports.

    Alternating the images spreads the host's slow and fast spells over
    all of them, so their medians compare fairly.
    """
    rounds = max(session.options.boots for session in sessions)
    for _ in range(rounds):
        for session in sessions:
            if len(session.boots) < session.options.boots:
                session.boot()
    return [session.report() for session in sessions]
