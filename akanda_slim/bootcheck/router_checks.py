"""The router's operations, driven through the agent's API and proved by
traffic from outside the guest.

The host plays the orchestrator on the management network (it polls the
agent, reads its interfaces, PUTs configurations built by
``router_config``) and the tenants and the upstream network in the
namespaces of ``network``. Nothing is configured in the guest over SSH:
what the router does, the agent did.
"""

import json
import os
import sys
import time

from akanda_slim.bootcheck import agent_api
from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_config

Failed, NotRun, wait_for = checks.Failed, checks.NotRun, checks.wait_for
AGENT_UNIT = 'astara-router-api-server'
ALIVE_TIMEOUT = 240
NAT_PORT = 7777
INBOUND_PORT = 7778
METADATA_PATH = '/latest/meta-data/instance-id'
PROBE = [sys.executable, '-m', 'akanda_slim.bootcheck.probe']


def _networks(ctx):
    if ctx.networks is None:
        raise NotRun(network.why_not_available() or 'no host networks')
    return ctx.networks


def agent_journal(ctx, lines=15):
    """The agent unit's last journal lines, or why they could not be read."""
    answer = ctx.ssh.run('sudo journalctl -b -u %s -n %d -o cat --no-pager'
                         % (AGENT_UNIT, lines), timeout=60)
    if answer.returncode != 0:
        return '(journal not read: ssh exit %d)' % answer.returncode
    return ' / '.join(line.strip() for line in answer.stdout.splitlines()
                      if line.strip())[-1500:] or '(journal empty)'


def management_address(index=0):
    """The guest's management link-local address, scoped to the bridge."""
    return '%s%%%s' % (network.link_local(qemu.guest_macs(index)['mgmt']),
                       network.BRIDGE)


def ifnames_by_mac(agent, macs):
    """The agent's interface name of each router NIC: role -> ifname.

    Matched by ``macs`` (role -> MAC) in its ``/v1/system/interfaces``;
    Failed when a NIC is missing.
    """
    by_mac = {i.get('lladdr'): i.get('ifname') for i in agent.interfaces()}
    wanted = {role: macs[role] for role in qemu.ROUTER_NICS}
    missing = [role for role, mac in wanted.items() if mac not in by_mac]
    if missing:
        raise Failed('/v1/system/interfaces has no NIC with the MAC of %s: '
                     '%s' % (', '.join(missing), sorted(by_mac)))
    return {role: by_mac[mac] for role, mac in wanted.items()}


def agent_alive(ctx):
    """Poll as ``astara_client.is_alive``; match the agent's NICs by MAC."""
    nets = _networks(ctx)
    ctx.agent = agent_api.Agent(nets, management_address(),
                                alive=ctx.machine.alive)
    took = ctx.agent.wait_alive(ALIVE_TIMEOUT)
    if took is None:
        raise Failed('the agent did not answer GET /v1/firewall/rules on '
                     '[%s]:%d within %d s; its journal: %s' % (
                         ctx.agent.address, agent_api.PORT, ALIVE_TIMEOUT,
                         agent_journal(ctx)))
    ctx.ifnames = ifnames_by_mac(ctx.agent, qemu.MACS)
    # From here on SSH goes where the orchestrator's goes: the agent's
    # firewall closes the user network's IPv4 once a config is applied.
    ctx.ssh = ctx.ssh.through(nets.command('mgmt', []), management_address())
    ctx.ssh.check('true')
    return ('is_alive after %.1f s on the management network; NICs by MAC: '
            '%s' % (took, ', '.join('%s=%s' % item
                                    for item in sorted(ctx.ifnames.items()))))


def push(ctx, config):
    """PUT ``config``; check GET /v1/system/config gives it back."""
    try:
        applied = ctx.agent.put_config(config)
    except agent_api.ApiError as failure:
        raise Failed('%s; the agent\'s journal: %s'
                     % (failure, agent_journal(ctx)))
    read = ctx.agent.config()
    for name, answer in (('PUT', applied), ('GET', read)):
        problems = differences(config, answer)
        if problems:
            raise Failed('%s /v1/system/config answered a different '
                         'configuration: %s' % (name, '; '.join(problems)))
    ctx.config = config
    return read


def differences(sent, answer):
    """What the agent's configuration lacks of what was sent.

    ``answer`` has the agent's ``GET /v1/system/config`` shape: ``system``
    and ``networks``. The agent does not echo the floating IPs or the AS
    numbers; traffic proves those.
    """
    problems = []
    system = answer.get('system') or {}
    for key in ('tenant_id', 'hostname'):
        if system.get(key) != sent[key]:
            problems.append('system %s %r' % (key, system.get(key)))
    got = {n.get('network_id'): n for n in answer.get('networks') or []}
    for net in sent['networks']:
        if net['network_id'] not in got:
            problems.append('no network %s' % net['network_id'])
            continue
        interface = got[net['network_id']].get('interface') or {}
        for address in net['interface']['addresses']:
            if address not in interface.get('addresses', []):
                problems.append('%s lacks %s' % (net['network_id'], address))
    return problems


def router_config_check(ctx):
    config = router_config.tenant_router(ctx.ifnames, qemu.MACS)
    push(ctx, config)
    return ('PUT /v1/system/config (external, management, tenant network, '
            'floating IP, static route) answered 200; GET gives it back')


DHCP_SCRIPT = '''#!/bin/sh
# udhcpc event handler: apply the lease, remember it.
if [ "$1" = bound ] || [ "$1" = renew ]; then
    ip addr replace "$ip/$mask" dev "$interface"
    ip route replace default via "$router"
    echo "$ip $router $dns ${hostname:--} ${staticroutes:--}" > "%s"
fi
'''


def lease(ctx, role):
    """Run a DHCP client on the tenant network ``role``; the lease dict."""
    nets = _networks(ctx)
    lease_file = os.path.join(ctx.workdir, 'lease-%s' % role)
    script = os.path.join(ctx.workdir, 'udhcpc-%s.sh' % role)
    with open(script, 'w') as out:
        out.write(DHCP_SCRIPT % lease_file)
    os.chmod(script, 0o755)
    if os.path.exists(lease_file):
        os.unlink(lease_file)
    got = nets.run(role, ['busybox', 'udhcpc', '-i', network.BRIDGE, '-f',
                          '-q', '-n', '-t', '10', '-T', '3', '-O',
                          'staticroutes', '-s', script],
                   timeout=90, check=False)
    if got.returncode != 0 or not os.path.exists(lease_file):
        raise Failed('no DHCP lease on the %s network: %s' % (
            role, (got.stderr or got.stdout).strip()[-300:]))
    with open(lease_file) as text:
        address, router, dns, hostname, routes = text.read().split(None, 4)
    return {'address': address, 'router': router, 'dns': dns,
            'hostname': hostname, 'routes': routes.strip()}


def dhcp_dns(ctx):
    nets = _networks(ctx)
    got = lease(ctx, 'internal')
    mine = router_config.allocation_of(ctx.config,
                                       network.INTERNAL['client_mac'])
    if got['address'] != network.INTERNAL['client']:
        raise Failed('leased %s, not the allocation\'s %s'
                     % (got['address'], network.INTERNAL['client']))
    if got['router'] != network.INTERNAL['guest']:
        raise Failed('lease names router %s' % got['router'])
    route = router_config.STATIC_ROUTE
    if route['destination'].split('/')[0] not in got['routes']:
        raise Failed('lease carries no static route to %s: %r'
                     % (route['destination'], got['routes']))
    # The tenant host's second address: the first floating IP's target.
    nets.run('internal', ['ip', 'addr', 'replace', '%s/%d' % (
        network.INTERNAL['second'], network.INTERNAL['prefix']),
        'dev', network.BRIDGE])
    # dnsmasq names the host after its allocation (the part before the
    # domain: none is configured) and answers for that name.
    name = mine['hostname'].split('.')[0]
    if got['hostname'] != name:
        raise Failed('lease names the host %r, not %r'
                     % (got['hostname'], name))
    answer = nets.run('internal', PROBE + ['dns', got['dns'], name],
                      check=False)
    if answer.stdout.split() != [network.INTERNAL['client']]:
        raise Failed('DNS via %s answered %r for %s' % (
            got['dns'], answer.stdout.strip()
            or answer.stderr.strip()[-200:], name))
    ctx.lease = got
    return ('lease %s named %s from the agent\'s dnsmasq (router %s, route '
            '%s); its DNS answers %s -> %s' % (
                got['address'], name, got['router'], route['destination'],
                name, network.INTERNAL['client']))


def connection(nets, server_side, server_address, client_side, target,
               port, source=None):
    """A TCP connection ``client_side`` -> ``target``.

    Returns the peer the server saw (NAT shows there), or raises Failed.
    """
    server = nets.popen(server_side, PROBE + ['serve', server_address,
                                              str(port)])
    try:
        if server.stdout.readline().strip() != 'listening':
            raise Failed('test server did not start: %s'
                         % server.stderr.read()[-300:])
        command = PROBE + ['connect', target, str(port)]
        if source:
            command += [source]
        client = nets.run(client_side, command, check=False)
        if client.returncode != 0:
            raise Failed('%s could not reach %s:%d: %s' % (
                client_side, target, port, client.stderr.strip()[-300:]))
        return client.stdout.strip()
    finally:
        server.kill()
        server.communicate()


def snat(ctx, role='internal'):
    """A tenant host without a floating IP leaves as the router."""
    nets = _networks(ctx)
    source = {'internal': network.INTERNAL,
              'internal2': network.INTERNAL2}[role]['client']
    seen = connection(nets, 'external', network.EXTERNAL['host'], role,
                      network.EXTERNAL['host'], NAT_PORT, source)
    if seen != network.EXTERNAL['guest']:
        raise Failed('upstream saw %s from %s, not the router\'s address %s'
                     % (seen, source, network.EXTERNAL['guest']))
    return 'upstream saw %s as %s (SNAT)' % (source, seen)


def floating_ip(ctx, target=None):
    """Upstream reaches the floating IP's tenant host (DNAT)."""
    nets = _networks(ctx)
    target = target or router_config.VM1B
    role = [role for role, ports in router_config.TENANT_PORTS.items()
            if target in ports][0]
    fixed = target.fixed_ips[0][0]
    seen = connection(nets, role, fixed, 'external',
                      network.EXTERNAL['floating'], INBOUND_PORT)
    if seen != network.EXTERNAL['host']:
        raise Failed('tenant host %s saw %s, not upstream\'s %s'
                     % (fixed, seen, network.EXTERNAL['host']))
    back = connection(nets, 'external', network.EXTERNAL['host'], role,
                      network.EXTERNAL['host'], NAT_PORT, fixed)
    if back != network.EXTERNAL['floating']:
        raise Failed('upstream saw %s leave as %s, not as its floating IP '
                     '%s' % (fixed, back, network.EXTERNAL['floating']))
    return ('upstream reached %s through floating IP %s (DNAT); it leaves '
            'as %s' % (fixed, network.EXTERNAL['floating'], back))


def router_advertisements(ctx):
    nets = _networks(ctx)
    prefix = network.INTERNAL['net6'].split('::')[0] + ':'

    def slaac_address():
        text = nets.run('internal', ['ip', '-6', '-o', 'addr', 'show', 'dev',
                                     network.BRIDGE, 'scope', 'global'
                                     ]).stdout
        return [w for w in text.split() if w.startswith(prefix)]

    found = wait_for(slaac_address, 60, 'an address from the router\'s RA')
    return 'tenant host configured %s from the router\'s RA' % found[0]


def metadata_proxy(ctx):
    """A tenant's 169.254.169.254 request reaches the orchestrator.

    It goes through the agent's metadata proxy, which adds the instance,
    tenant and network headers.
    """
    nets = _networks(ctx)
    server = nets.popen('mgmt', PROBE + [
        'metadata', network.ORCHESTRATOR,
        str(router_config.ORCHESTRATOR_METADATA_PORT)])
    try:
        if server.stdout.readline().strip() != 'listening':
            raise Failed('metadata stand-in did not start: %s'
                         % server.stderr.read()[-300:])
        answer = nets.run('internal', PROBE + [
            'http', 'GET', '169.254.169.254', '80', METADATA_PATH],
            check=False, timeout=60)
    finally:
        server.kill()
        server.communicate()
    try:
        reply = json.loads(answer.stdout)
        body = json.loads(reply['body'])
    except (ValueError, KeyError):
        raise Failed('no metadata answer: %s' % (
            answer.stdout.strip() or answer.stderr.strip())[-300:])
    wanted = {'path': METADATA_PATH,
              'X-Forwarded-For': network.INTERNAL['client'],
              'X-Instance-ID': router_config.VM1.device_id,
              'X-Tenant-ID': router_config.TENANT_ID,
              'X-Quantum-Network-ID': router_config.VM1.network_id}
    wrong = {k: body.get(k) for k, v in wanted.items() if body.get(k) != v}
    if reply.get('status') != 200 or wrong:
        raise Failed('metadata proxy answered %s %s' % (
            reply.get('status'), wrong or body))
    return ('tenant %s asked 169.254.169.254; the proxy forwarded it to the '
            'orchestrator as instance %s' % (network.INTERNAL['client'],
                                             body['X-Instance-ID']))


def changed_config(ctx):
    """A second PUT: tenant network added, floating IP moved; no reboot."""
    config = router_config.tenant_router(
        ctx.ifnames, qemu.MACS, tenants=('internal', 'internal2'),
        floating_to=router_config.VM2)
    push(ctx, config)
    got = lease(ctx, 'internal2')
    if got['address'] != network.INTERNAL2['client']:
        raise Failed('second tenant network leased %s' % got['address'])
    moved = floating_ip(ctx, router_config.VM2)
    still = snat(ctx)
    return 'second tenant network leased %s; %s; %s' % (got['address'],
                                                        moved, still)


MALFORMED = (
    # (what, body, content type is JSON)
    ('not JSON', '{"asn": 64512, "networks": [', True),
    ('a network with no interface', 'config:no-interface', True),
    ('an advanced service it does not run', 'config:services', True),
    ('no JSON content type', '{}', False),
)


def malformed(config):
    """The malformed payloads: (what, body text, json content type)."""
    no_interface = json.loads(json.dumps(config))
    del no_interface['networks'][-1]['interface']
    services = dict(config, services={'loadbalancer': {'id': 'lb'}})
    bodies = {'config:no-interface': json.dumps(no_interface),
              'config:services': json.dumps(services)}
    for what, body, is_json in MALFORMED:
        yield what, bodies.get(body, body), is_json


def malformed_config(ctx):
    """The agent answers 4xx and keeps routing with the config it had."""
    answers = []
    for what, body, is_json in malformed(ctx.config):
        if is_json:
            status, text = ctx.agent.request('PUT', '/v1/system/config', body)
        else:
            status, text = ctx.agent.request('PUT', '/v1/system/config',
                                             body, content_type='text/plain')
        if not 400 <= status < 500:
            raise Failed('%s: the agent answered %d, not 4xx: %s'
                         % (what, status, text.strip()[:300]))
        answers.append('%s %d' % (what, status))
    problems = differences(ctx.config, ctx.agent.config())
    if problems:
        raise Failed('config changed after the refused PUTs: %s'
                     % '; '.join(problems))
    snat(ctx)
    floating_ip(ctx, _floating_target(ctx.config))
    return ('refused: %s; the applied config stands and traffic flows'
            % ', '.join(answers))


def _floating_target(config):
    fixed = config['floating_ips'][0]['fixed_ip']
    for ports in router_config.TENANT_PORTS.values():
        for port in ports:
            if port.fixed_ips[0][0] == fixed:
                return port
    raise Failed('no tenant port holds %s' % fixed)


def reload(ctx):
    """Reboot: the agent comes back, the re-pushed config routes again."""
    before = ctx.ssh.check('cat /proc/sys/kernel/random/boot_id').strip()
    ctx.ssh.run('sudo systemctl reboot', timeout=20)
    started = time.monotonic()
    deadline = started + ctx.boot_timeout
    probe = ('test "$(cat /proc/sys/kernel/random/boot_id)" != %s'
             % checks.q(before))
    if not ctx.ssh.wait_ready(deadline, ctx.machine.alive, probe=probe):
        panic = ctx.machine.panic()
        if panic:
            raise Failed('guest kernel panic after the reboot: %s' % panic)
        raise Failed('no SSH on the management network within %d s of the '
                     'reboot' % ctx.boot_timeout)
    took = ctx.agent.wait_alive(ALIVE_TIMEOUT)
    if took is None:
        raise Failed('the agent did not come back after the reboot; its '
                     'journal: %s' % agent_journal(ctx))
    ready = time.monotonic() - started
    checks.boot_clean(ctx)
    push(ctx, ctx.config)
    lease(ctx, 'internal')
    snat(ctx)
    floating_ip(ctx, _floating_target(ctx.config))
    return ('rebooted; agent back in %.1f s; the re-pushed config routes '
            '(SNAT, floating IP)' % ready)
