"""Two routers of one image as an HA pair, and a failover measured.

Both guests boot on the same management, external and tenant networks
(``network.HostNetworks(guests=2)``: the bridges join their taps). Each
agent gets, through its API, the configuration astara's instance manager
gives an HA pair (``ha_resource`` and ``ha_config``: the peer's
management address, priority 100 for router 0 and 50 for router 1); the
agents then run keepalived (VRRP over the management network) and
conntrackd. A tenant host holds a TCP connection through NAT to the
upstream network, the MASTER's QEMU is killed, and the report says how
long until the BACKUP held the router's addresses and new connections
passed, and whether the held connection survived.
"""

import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time

from akanda_slim.bootcheck import agent_api
from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_checks
from akanda_slim.bootcheck import router_config
from akanda_slim.bootcheck import runner
from akanda_slim.bootcheck import seed as seed_mod
from akanda_slim.bootcheck import ssh as ssh_mod
from akanda_slim import errors

LOG = logging.getLogger(__name__)
MASTER_TIMEOUT = 120
FAILOVER_TIMEOUT = 120
HOLD_PORT = 7779


class FailoverError(errors.VerificationError):
    """The pair did not come up, or the BACKUP never took over."""


@dataclasses.dataclass
class Router:
    index: int
    machine: object
    ssh: object
    macs: dict
    agent: object = None
    ifnames: dict = None

    def holds_addresses(self):
        """True when this router has the tenant gateway address."""
        answer = self.ssh.run('ip -o -4 addr show', timeout=20)
        return (answer.returncode == 0
                and ' %s/' % network.INTERNAL['guest'] in answer.stdout)


def _start(index, image, kernel, initrd, workdir, nets, options):
    directory = os.path.join(workdir, 'router-%d' % index)
    os.makedirs(directory, exist_ok=True)
    macs = qemu.guest_macs(index)
    seed = seed_mod.make_seed(directory, macs=macs)
    machine = qemu.Machine(
        image, seed.iso, os.path.join(directory, 'console.log'),
        kernel=kernel, initrd=initrd, taps=nets.guest_taps[index],
        accel=options.accel, memory_mib=options.memory_mib,
        openstack_smbios=True, macs=macs)
    machine.start()
    ssh = ssh_mod.Ssh(machine.ssh_port, seed.private_key, seed.user)
    return Router(index, machine, ssh, macs)


def _configure(router, routers, nets):
    router.agent = agent_api.Agent(
        nets, router_checks.management_address(router.index),
        alive=router.machine.alive)
    if router.agent.wait_alive(router_checks.ALIVE_TIMEOUT) is None:
        raise FailoverError('router %d: the agent never answered; its '
                            'journal: %s' % (router.index,
                                             _journal(router)))
    router.ifnames = router_checks.ifnames_by_mac(router.agent, router.macs)
    router.ssh = router.ssh.through(nets.command('mgmt', []),
                                    router.agent.address)
    peers = [router_config.management_address(other.index)
             for other in routers if other is not router]
    try:
        router.agent.put_config(router_config.tenant_router(
            router.ifnames, router.macs, index=router.index,
            ha_peers=peers))
    except agent_api.ApiError as failure:
        raise FailoverError('router %d: %s; its journal: %s'
                            % (router.index, failure, _journal(router)))


def _journal(router):
    ctx = checks.Context(ssh=router.ssh, machine=router.machine)
    return router_checks.agent_journal(ctx)


def _master(routers):
    holders = [r for r in routers if r.holds_addresses()]
    return holders[0] if len(holders) == 1 else None


def _kill(machine):
    """SIGKILL QEMU's whole process group: the router is gone at once."""
    try:
        os.killpg(machine.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    machine.process.wait(30)


def _connects(nets):
    try:
        router_checks.connection(
            nets, 'external', network.EXTERNAL['host'], 'internal',
            network.EXTERNAL['host'], router_checks.NAT_PORT,
            network.INTERNAL['client'])
        return True
    except checks.Failed:
        return False


def in_parallel(calls):
    """Run ``calls`` at once in daemon threads; re-raise the first error.

    Daemon threads: a signal that ends the run (``Interrupted`` raised in
    this thread while it waits) does not wait for a call blocked on a
    guest that is gone, and the process exits without them.
    """
    errors_seen = []

    def run(call):
        try:
            call()
        except BaseException as failure:  # handed to the caller's thread
            errors_seen.append(failure)

    threads = [threading.Thread(target=run, args=(call,), daemon=True)
               for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(1)
    if errors_seen:
        raise errors_seen[0]


def held_connection(lines, killed_at):
    """What the hold client printed, read: survived, largest gap."""
    oks = [float(line.split()[1]) for line in lines
           if line.startswith('ok ')]
    broken = [line for line in lines if line.startswith('broken ')]
    after = [t for t in oks if t > killed_at]
    gaps = [b - a for a, b in zip(oks, oks[1:])]
    return {'echoes': len(oks), 'echoes_after_kill': len(after),
            'survived': bool(after) and not broken,
            'largest_gap_seconds': round(max(gaps), 1) if gaps else None,
            'broken': broken[0] if broken else None}


def run_pair(image, workdir, kernel=None, initrd=None, options=None,
             hold_seconds=90):
    """Boot the pair, fail the MASTER over; the failover report (a dict)."""
    options = options or runner.Options(memory_mib=256)
    kernel, initrd = runner.boot_files(image, kernel, initrd)
    report = {'image': os.path.abspath(image),
              'memory_mib': options.memory_mib, 'accel': options.accel}
    with contextlib.ExitStack() as stack:
        nets = network.HostNetworks(guests=2)
        stack.callback(nets.close)
        nets.create_taps()
        report['host_networks'] = {'taps': sorted(nets.all_taps()),
                                   'namespaces': sorted(
                                       nets.namespaces.values())}
        routers = []
        for index in (0, 1):
            router = _start(index, image, kernel, initrd, workdir, nets,
                            options)
            stack.callback(router.machine.stop)
            routers.append(router)
        nets.attach()
        for router in routers:
            runner.wait_for_boot(router.machine, router.ssh, options)
        # Both pushes at once (astara's instance manager sends them one
        # after the other): under TCG a push takes minutes.
        in_parallel([lambda r=router: _configure(r, routers, nets)
                     for router in routers])
        master = checks.wait_for(lambda: _master(routers), MASTER_TIMEOUT,
                                 'one router holding the addresses')
        backup = [r for r in routers if r is not master][0]
        report['master'] = master.index
        ctx = checks.Context(ssh=None, machine=None, networks=nets,
                             workdir=workdir)
        router_checks.lease(ctx, 'internal')
        report['snat_before'] = router_checks.snat(ctx)
        echo = nets.popen('external', router_checks.PROBE + [
            'echo', network.EXTERNAL['host'], str(HOLD_PORT)])
        stack.callback(echo.kill)
        if echo.stdout.readline().strip() != 'listening':
            raise FailoverError('echo server did not start')
        held = nets.popen('internal', router_checks.PROBE + [
            'hold', network.EXTERNAL['host'], str(HOLD_PORT),
            network.INTERNAL['client'], str(hold_seconds)])
        stack.callback(held.kill)
        first = held.stdout.readline()
        if not first.startswith('connected'):
            raise FailoverError('held connection did not open: %s' % first)
        time.sleep(5)
        LOG.info('killing the MASTER (router %d)', master.index)
        killed_at = time.time()
        _kill(master.machine)
        vip = checks.wait_for(
            lambda: backup.holds_addresses() and time.time(),
            FAILOVER_TIMEOUT, 'the BACKUP to hold the addresses')
        passed = checks.wait_for(lambda: _connects(nets) and time.time(),
                                 FAILOVER_TIMEOUT,
                                 'new connections through the BACKUP')
        report['backup_holds_addresses_seconds'] = round(vip - killed_at, 1)
        report['new_connections_seconds'] = round(passed - killed_at, 1)
        out, _ = held.communicate(timeout=hold_seconds + 60)
        report['held_connection'] = held_connection(
            [first] + out.splitlines(), killed_at)
    return report
