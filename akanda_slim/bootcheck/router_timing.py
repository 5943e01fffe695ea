"""The figures a router operator counts: ready, memory, recovery.

``router_round`` plays the orchestrator for one router's life:

* *router ready*: QEMU starts; the host polls the agent's ``is_alive``
  on the management network from that moment, PUTs the router's
  configuration as soon as it answers, and a tenant host takes a DHCP
  lease and opens a connection upstream through NAT. The seconds from
  QEMU's start to that connection.
* *memory after the config*: ``MemTotal - MemAvailable`` read over SSH
  (on the management network) right after.
* *recovery*: the instance is killed and rebuilt, as the orchestrator
  recovers a lost router: a fresh instance of the same image with the
  same ports (MACs) and instance data, given the same configuration. The
  seconds from the kill to the first connection through the new instance,
  the host networks made again included.
"""

import contextlib
import logging
import os
import time

from akanda_slim.bootcheck import agent_api
from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import measure
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_checks
from akanda_slim.bootcheck import router_config
from akanda_slim.bootcheck import seed as seed_mod
from akanda_slim.bootcheck import ssh as ssh_mod
from akanda_slim import errors

LOG = logging.getLogger(__name__)
KEYS = ('router_ready_seconds', 'memory_after_config_kib',
        'recovery_seconds')


class RouterTimingError(errors.VerificationError):
    """The router never routed: no agent, a refused config, no traffic."""


class Instance:
    """One QEMU of the image on host networks of its own."""

    def __init__(self, image, kernel, initrd, seed, console, options):
        self.networks = network.HostNetworks()
        self.machine = qemu.Machine(
            image, seed.iso, console, kernel=kernel, initrd=initrd,
            accel=options.accel, memory_mib=options.memory_mib,
            taps=self.networks.taps, metadata_answers=seed.metadata_answers,
            openstack_smbios=True)

    def start(self):
        self.networks.create_taps()
        self.machine.start()
        self.networks.attach()

    def close(self):
        self.machine.stop()
        self.networks.close()


def serve_traffic(instance, workdir, timeout):
    """As the orchestrator: is_alive, PUT; then a tenant's NAT connection."""
    nets, machine = instance.networks, instance.machine
    agent = agent_api.Agent(nets, router_checks.management_address(),
                            alive=machine.alive)
    if agent.wait_alive(timeout) is None:
        raise RouterTimingError('the agent did not answer within %d s of '
                                'QEMU\'s start (guest alive: %s)'
                                % (timeout, machine.alive()))
    try:
        ifnames = router_checks.ifnames_by_mac(agent, qemu.MACS)
        agent.put_config(router_config.tenant_router(ifnames, qemu.MACS))
        ctx = checks.Context(ssh=None, machine=machine, networks=nets,
                             workdir=workdir)
        router_checks.lease(ctx, 'internal')
        router_checks.snat(ctx)
    except (checks.Failed, agent_api.ApiError) as failure:
        raise RouterTimingError(str(failure)) from None


def router_round(image, kernel, initrd, workdir, options):
    """One router's ready, memory and recovery figures (a dict of KEYS)."""
    os.makedirs(workdir, exist_ok=True)
    seed = seed_mod.make_seed(workdir)
    with contextlib.ExitStack() as stack:
        first = Instance(image, kernel, initrd, seed,
                         os.path.join(workdir, 'console-ready.log'), options)
        stack.callback(first.close)
        first.start()
        serve_traffic(first, workdir, options.boot_timeout)
        ready = time.monotonic() - first.machine.started_at
        ssh = ssh_mod.Ssh(first.machine.ssh_port, seed.private_key,
                          seed.user).through(
            first.networks.command('mgmt', []),
            router_checks.management_address())
        memory = measure.memory_used_kib(ssh)
        LOG.info('router ready after %.1f s; memory used %.1f MiB; '
                 'killing it', ready, memory / 1024.0)
        killed = time.monotonic()
        first.close()
        fresh = Instance(image, kernel, initrd, seed,
                         os.path.join(workdir, 'console-recovery.log'),
                         options)
        stack.callback(fresh.close)
        fresh.start()
        serve_traffic(fresh, workdir, options.boot_timeout)
        recovery = time.monotonic() - killed
        LOG.info('a fresh instance routed %.1f s after the kill', recovery)
    return {'router_ready_seconds': round(ready, 1),
            'memory_after_config_kib': memory,
            'recovery_seconds': round(recovery, 1)}
