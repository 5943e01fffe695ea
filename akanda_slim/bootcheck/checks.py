"""The router's standard operations, each a named check.

A check is a function of a ``Context``; it returns a one-line detail when
it passes and raises ``Failed`` (or any SlimError) when it does not, or
``NotRun`` when this host cannot run it (which is never a pass). A check
whose prerequisite did not pass is not run. Guest commands go through SSH
the way the appliance's agent issues them: ``sudo`` plus the tool.
"""

import dataclasses
import json
import logging
import os
import re
import shlex
import subprocess
import sys
import time
import urllib.request

from akanda_slim import appliance
from akanda_slim.bootcheck import guest_config as config
from akanda_slim.bootcheck import metadata_server
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import package_update as updates
from akanda_slim.bootcheck import qemu
from akanda_slim import errors
from akanda_slim import termination

LOG = logging.getLogger(__name__)

PASS, FAIL, NOT_RUN = 'pass', 'fail', 'not run'
GUEST_UPDATE_DIR = '/tmp/akanda-update'


class Failed(errors.VerificationError):
    """A check found the router not doing its job."""


class NotRun(Exception):
    """A check that this host cannot run; the message says why."""


@dataclasses.dataclass
class Context:
    ssh: object
    machine: object
    networks: object = None
    workdir: str = '.'
    nics: dict = dataclasses.field(default_factory=dict)
    lease: dict = dataclasses.field(default_factory=dict)
    boot_timeout: int = 600
    seed: object = None


@dataclasses.dataclass
class Result:
    name: str
    status: str
    detail: str
    seconds: float

    def to_dict(self):
        return dataclasses.asdict(self)


def put(ctx, path, text, mode='0644'):
    """Write ``text`` to ``path`` in the guest as root."""
    ctx.ssh.check('sudo install -D -m %s /dev/stdin %s'
                  % (shlex.quote(mode), shlex.quote(path)), input=text)


def q(value):
    """``value`` quoted for the guest's shell."""
    return shlex.quote(str(value))


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failed('%s: not within %d s' % (what, timeout))
        time.sleep(1)


def guest_links(ctx):
    return json.loads(ctx.ssh.check('ip -j addr show'))


def login(ctx):
    user = ctx.ssh.check('id -un').strip()
    if ctx.ssh.check('sudo -n id -u').strip() != '0':
        raise Failed('sudo does not give root')
    return 'logged in as %s with the injected key; sudo gives root' % user


def datasource(ctx):
    """cloud-init took this instance's data from the expected source."""
    if ctx.seed is None:
        raise NotRun('no instance data known to compare with')
    result = json.loads(ctx.ssh.check(
        'sudo cat /run/cloud-init/result.json')).get('v1', {})
    used = result.get('datasource') or ''
    wanted = ctx.seed.cloud_init_name
    if not re.match(r'DataSource%s(Local)?\b' % wanted, used):
        raise Failed('cloud-init used %r, not %s' % (used, wanted))
    if result.get('errors'):
        raise Failed('cloud-init reported errors: %s'
                     % '; '.join(map(str, result['errors']))[:400])
    instance_id = ctx.ssh.check(
        'sudo cat /var/lib/cloud/data/instance-id').strip()
    if instance_id != ctx.seed.instance_id:
        raise Failed('instance id %r, not the seed\'s %r'
                     % (instance_id, ctx.seed.instance_id))
    detail = '%s (instance %s)' % (used, instance_id)
    if ctx.seed.metadata_answers:
        log = os.path.join(os.path.dirname(ctx.seed.metadata_answers),
                           metadata_server.REQUESTS_LOG)
        asked = open(log).read() if os.path.exists(log) else ''
        # cloud-init asks for the newest version it knows, not "latest".
        if not re.search(r'GET /openstack/[^/ ]+/meta_data\.json ', asked):
            raise Failed('the metadata service was not asked for '
                         'meta_data.json (requests: %s)' % asked[-300:])
        detail += '; %d requests to the metadata service' % len(
            asked.splitlines())
    return detail


def configure_interfaces(ctx):
    """Set addresses as the agent does: ip link/addr per NIC, by MAC."""
    by_mac = {link['address']: link['ifname'] for link in guest_links(ctx)}
    for role, mac in qemu.MACS.items():
        if mac not in by_mac:
            raise Failed('no guest NIC with MAC %s (%s)' % (mac, role))
        ctx.nics[role] = by_mac[mac]
    ext, int_ = network.EXTERNAL, network.INTERNAL
    nic = {role: q(name) for role, name in ctx.nics.items()}
    commands = [
        'ip link set %s up' % nic['external'],
        'ip link set %s up' % nic['internal'],
        'ip addr replace %s/%d dev %s' % (ext['guest'], ext['prefix'],
                                          nic['external']),
        'ip -6 addr replace %s/64 dev %s nodad' % (ext['guest6'],
                                                   nic['external']),
        'ip addr replace %s/%d dev %s' % (int_['guest'], int_['prefix'],
                                          nic['internal']),
        'ip -6 addr replace %s/64 dev %s nodad' % (int_['guest6'],
                                                   nic['internal']),
        'ip -6 addr replace %s/64 dev %s nodad' % (network.MGMT6,
                                                   nic['mgmt']),
    ]
    ctx.ssh.check('; '.join('sudo ' + c for c in commands) + '; true')


def forwarding_state(ctx):
    """['1', '1'] when IPv4 and IPv6 forwarding are on (read from /proc)."""
    return ctx.ssh.check('cat /proc/sys/net/ipv4/ip_forward '
                         '/proc/sys/net/ipv6/conf/all/forwarding').split()


def interfaces(ctx):
    configure_interfaces(ctx)
    problems = []
    for link in guest_links(ctx):
        if link['ifname'] not in ctx.nics.values():
            continue
        families = {a['family'] for a in link.get('addr_info', [])
                    if a.get('scope') == 'global'}
        if 'UP' not in link.get('flags', []) or 'LOWER_UP' not in link.get(
                'flags', []):
            problems.append('%s is not up' % link['ifname'])
        for family in ('inet', 'inet6'):
            if family not in families:
                problems.append('%s has no global %s address'
                                % (link['ifname'], family))
    forwarding = forwarding_state(ctx)
    if forwarding != ['1', '1']:
        problems.append('forwarding is %s, not on for IPv4 and IPv6'
                        % '/'.join(forwarding))
    if problems:
        raise Failed('; '.join(problems))
    return ('mgmt %(mgmt)s, external %(external)s, internal %(internal)s: '
            'up, IPv4 and IPv6, forwarding on' % ctx.nics)


def firewall(ctx):
    put(ctx, '/etc/iptables/rules.v4', config.iptables_v4(ctx.nics))
    put(ctx, '/etc/iptables/rules.v6', config.iptables_v6(ctx.nics))
    ctx.ssh.check('sudo iptables-restore < /etc/iptables/rules.v4 && '
                  'sudo ip6tables-restore < /etc/iptables/rules.v6')
    return rules_active(ctx)


def rules_active(ctx):
    v4 = ctx.ssh.check('sudo iptables-save')
    v6 = ctx.ssh.check('sudo ip6tables-save')
    wanted = [('--to-source %s' % network.EXTERNAL['guest'], v4),
              (':FORWARD DROP', v4), (':FORWARD DROP', v6),
              ('-i %s -o %s' % (ctx.nics['internal'], ctx.nics['external']),
               v6)]
    missing = [rule for rule, text in wanted if rule not in text]
    if missing:
        raise Failed('rules not active: %s' % ', '.join(missing))
    return 'NAT and filter rules active (iptables-save, ip6tables-save)'


def routing(ctx):
    put(ctx, '/etc/bird/bird.conf', config.bird(ctx.nics))
    ctx.ssh.check('sudo bird -p -c /etc/bird/bird.conf')
    ctx.ssh.check('sudo systemctl restart bird')

    def protocols_up():
        text = ctx.ssh.run('sudo birdc show protocols').stdout
        states = {line.split()[0]: line.split()[3] for line in
                  text.splitlines()[2:] if len(line.split()) > 3}
        names = ('static4', 'static6', 'kernel4', 'kernel6', 'radv6')
        return states if all(states.get(n) == 'up' for n in names) else None

    wait_for(protocols_up, 30, 'bird protocols up')
    route = wait_for(
        lambda: ctx.ssh.check('ip route show %s' % q(config.STATIC_ROUTE4))
        .strip(), 20, 'static route in the kernel')
    if 'proto bird' not in route:
        raise Failed('route %s not from bird: %s' % (config.STATIC_ROUTE4,
                                                     route))
    return 'birdc: static4/6, kernel4/6, radv6 up; %s' % route


def _namespace_or_not_run(ctx):
    if ctx.networks is None:
        raise NotRun(network.why_not_available() or 'no host networks')
    return ctx.networks


DHCP_SCRIPT = '''#!/bin/sh
# udhcpc event handler: apply the lease, remember it.
if [ "$1" = bound ] || [ "$1" = renew ]; then
    ip addr replace "$ip/$mask" dev "$interface"
    ip route replace default via "$router"
    echo "$ip $router $dns" > "%s"
fi
'''


def dhcp_dns_nat(ctx):
    nets = _namespace_or_not_run(ctx)
    put(ctx, '/etc/dnsmasq.d/akanda.conf', config.dnsmasq(ctx.nics))
    ctx.ssh.check('sudo dnsmasq --test && sudo systemctl restart dnsmasq')
    lease_file = os.path.join(ctx.workdir, 'lease')
    script = os.path.join(ctx.workdir, 'udhcpc.sh')
    with open(script, 'w') as out:
        out.write(DHCP_SCRIPT % lease_file)
    os.chmod(script, 0o755)
    tap = nets.taps['internal']
    got = nets.run('internal', ['busybox', 'udhcpc', '-i', tap, '-f', '-q',
                                '-n', '-t', '10', '-T', '3', '-s', script],
                   timeout=90, check=False)
    if got.returncode != 0 or not os.path.exists(lease_file):
        raise Failed('no DHCP lease on the internal network: %s'
                     % (got.stderr or got.stdout).strip()[-300:])
    with open(lease_file) as text:
        address, router, dns = text.read().split()[:3]
    ctx.lease = {'address': address, 'router': router, 'dns': dns}
    answer = nets.run('internal', [sys.executable, '-m',
                                   'akanda_slim.bootcheck.probe', 'dns', dns,
                                   config.DNS_NAME], check=False)
    if answer.stdout.strip() != network.EXTERNAL['host']:
        raise Failed('DNS via %s answered %r for %s' % (
            dns, answer.stdout.strip() or answer.stderr.strip()[-200:],
            config.DNS_NAME))
    seen_as = nat_connection(nets)
    if seen_as != network.EXTERNAL['guest']:
        raise Failed('upstream saw %s, not the router\'s NAT address %s'
                     % (seen_as, network.EXTERNAL['guest']))
    # conntrack prints its summary line on stderr.
    flows = ctx.ssh.check('sudo conntrack -L -p tcp --dport %d 2>/dev/null'
                          % config.NAT_TEST_PORT)
    if 'src=%s' % address not in flows or (
            'dst=%s' % network.EXTERNAL['guest']) not in flows:
        raise Failed('conntrack does not show the NAT flow: %s'
                     % flows.strip()[:300])
    return ('lease %s from dnsmasq; DNS %s -> %s; upstream saw %s (NAT); '
            'conntrack shows the flow' % (address, config.DNS_NAME,
                                          network.EXTERNAL['host'], seen_as))


def nat_connection(nets):
    """Connect from the internal side to the external one; the peer seen."""
    server = nets.popen('external', [
        sys.executable, '-m', 'akanda_slim.bootcheck.probe', 'serve',
        network.EXTERNAL['host'], str(config.NAT_TEST_PORT)])
    try:
        if server.stdout.readline().strip() != 'listening':
            raise Failed('upstream test server did not start: %s'
                         % server.stderr.read()[-300:])
        client = nets.run('internal', [
            sys.executable, '-m', 'akanda_slim.bootcheck.probe', 'connect',
            network.EXTERNAL['host'], str(config.NAT_TEST_PORT)],
            check=False)
        if client.returncode != 0:
            raise Failed('internal client could not reach %s: %s' % (
                network.EXTERNAL['host'], client.stderr.strip()[-300:]))
        return client.stdout.strip()
    finally:
        server.kill()
        server.communicate()


def router_advertisements(ctx):
    nets = _namespace_or_not_run(ctx)
    tap = nets.taps['internal']
    prefix = network.INTERNAL['guest6'].rsplit('::', 1)[0] + ':'

    def slaac_address():
        text = nets.run('internal', ['ip', '-6', '-o', 'addr', 'show', 'dev',
                                     tap, 'scope', 'global']).stdout
        return [w for w in text.split() if w.startswith(prefix)]

    found = wait_for(slaac_address, 30, 'an address from bird\'s RA')
    return 'internal client configured %s from bird\'s RA' % found[0]


def high_availability(ctx):
    put(ctx, '/etc/keepalived/keepalived.conf', config.keepalived(ctx.nics))
    put(ctx, '/etc/conntrackd/conntrackd.conf', config.conntrackd(ctx.nics))
    ctx.ssh.check('sudo keepalived -t -f /etc/keepalived/keepalived.conf')
    ctx.ssh.check('sudo systemctl restart keepalived conntrackd')
    states = ctx.ssh.run(
        'sudo systemctl is-active keepalived conntrackd').stdout
    if states.split() != ['active', 'active']:
        raise Failed('keepalived/conntrackd not active: %s' % states.split())
    wait_for(lambda: config.VIRTUAL_ADDRESS in ctx.ssh.check(
        'ip -4 addr show dev %s' % q(ctx.nics['internal'])), 20,
        'keepalived to take the virtual address')
    ctx.ssh.check('sudo conntrackd -C /etc/conntrackd/conntrackd.conf -s')
    return ('keepalived MASTER with %s; conntrackd answers its stats'
            % config.VIRTUAL_ADDRESS)


def agent_runtime(ctx):
    put(ctx, config.APP_DIR + '/verify_app.py', config.APP)
    ctx.ssh.check(
        'sudo systemd-run --unit akanda-verify-api --collect '
        '/usr/bin/gunicorn --bind [::]:%d --workers 1 --chdir %s '
        'verify_app:app' % (qemu.GUEST_APP_PORT, q(config.APP_DIR)))
    url = 'http://127.0.0.1:%d/v1/verify' % ctx.machine.app_port

    def fetch():
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return json.load(response)
        except (OSError, ValueError):
            return None

    answer = wait_for(fetch, 60, 'the Flask app under gunicorn')
    hostname = ctx.ssh.check('hostname').strip()
    if answer.get('hostname') != hostname:
        raise Failed('app answered %r' % answer)
    return 'gunicorn served the Flask app to the host: %s' % answer


def rootwrap(ctx):
    put(ctx, config.ROOTWRAP_CONF, config.ROOTWRAP)
    put(ctx, '/etc/akanda-verify/rootwrap.d/router.filters',
        config.ROOTWRAP_FILTERS)
    put(ctx, '/etc/sudoers.d/akanda-verify',
        config.sudoers(ctx.ssh.user), mode='0440')
    ctx.ssh.check('sudo visudo -c -f /etc/sudoers.d/akanda-verify')
    wrap = 'sudo -n /usr/bin/oslo-rootwrap %s ' % q(config.ROOTWRAP_CONF)
    links = ctx.ssh.check(wrap + 'ip -o link show')
    if ctx.nics['internal'] not in links:
        raise Failed('rootwrap ip listed no %s' % ctx.nics['internal'])
    refused = ctx.ssh.run(wrap + 'cat /etc/shadow')
    if refused.returncode == 0:
        raise Failed('rootwrap ran a command its filters do not allow')
    return 'oslo-rootwrap runs allowed ip, refuses cat (exit %d)' % (
        refused.returncode)


def package_update(ctx):
    """Install a new package and update one from the image's release."""
    release = ctx.ssh.check('. /etc/os-release && echo "$VERSION_CODENAME"'
                            ).strip()
    if not re.match(r'^[a-z]+$', release):
        raise Failed('no release codename in /etc/os-release: %r' % release)
    listing = ctx.ssh.check(
        "dpkg-query -W -f '${binary:Package} ${db:Status-Status}\\n'")
    installed = {line.split()[0].split(':')[0]
                 for line in listing.splitlines()
                 if line.endswith(' installed')}
    names = updates.choose(installed)
    debs = updates.download(
        release, names, os.path.join(ctx.workdir, 'package-update'))
    ctx.ssh.check('rm -rf %s && mkdir %s' % (q(GUEST_UPDATE_DIR),
                                             q(GUEST_UPDATE_DIR)))
    ctx.ssh.copy_to(debs, GUEST_UPDATE_DIR + '/')
    # apt takes a .deb given by a path (apt-get install ./x.deb).
    local = ' '.join(q(GUEST_UPDATE_DIR + '/' + os.path.basename(deb))
                     for deb in debs)
    ctx.ssh.check('sudo env DEBIAN_FRONTEND=noninteractive apt-get install '
                  '-y -q %s' % local, timeout=600)
    audit = ctx.ssh.run('sudo dpkg --audit')
    if audit.returncode != 0 or audit.stdout.strip():
        raise Failed('dpkg --audit: %s' % (audit.stdout.strip()
                                           or audit.stderr.strip())[:400])
    ctx.ssh.check('sudo apt-get check -q')
    versions = []
    for name, deb in zip(names, debs):
        wanted = updates.version_of(deb)
        now = ctx.ssh.check("dpkg-query -W -f '${Version} "
                            "${db:Status-Status}' %s" % q(name)).strip()
        if now != '%s installed' % wanted:
            raise Failed('%s is %r after the install, not %s installed'
                         % (name, now, wanted))
        versions.append('%s %s' % (name, wanted))
    ctx.ssh.check('rm -rf %s' % q(GUEST_UPDATE_DIR))
    return ('%s: apt installed %s from the host\'s mirror; dpkg --audit '
            'and apt-get check clean' % (release, ', '.join(versions)))


def boot_clean(ctx):
    state = ctx.ssh.run('sudo systemctl is-system-running --wait',
                        timeout=300).stdout.strip()
    failed = ctx.ssh.check('sudo systemctl list-units --failed --plain '
                           '--no-legend').strip()
    if state != 'running' or failed:
        units = [line.split()[0] for line in failed.splitlines()
                 if line.split()]
        raise Failed('system %s; failed units: %s' % (
            state, '; '.join(_why_failed(ctx, unit) for unit in units)
            or '-'))
    return 'systemd: running, no failed units'


def _why_failed(ctx, unit):
    # systemd's Result tells exit-code, timeout, oom-kill and signal apart.
    quoted = shlex.quote(unit)
    answer = ctx.ssh.run(
        'systemctl show -p Result -p ExecMainStatus %s && echo --- && '
        'sudo journalctl -b -u %s -n 2 -o cat --no-pager' % (quoted, quoted),
        timeout=60)
    lines = answer.stdout.splitlines()
    if answer.returncode != 0 or '---' not in lines:
        return '%s (why not read: exit %d %s)' % (
            unit, answer.returncode, answer.stderr.strip()[-200:])
    split = lines.index('---')
    fields = dict(line.partition('=')[::2] for line in lines[:split])
    said = ' / '.join(line.strip() for line in lines[split + 1:]
                      if line.strip())
    return '%s (result %s, status %s; last logged: %s)' % (
        unit, fields.get('Result') or '-', fields.get('ExecMainStatus') or '-',
        said[-300:] or '-')


def reload(ctx):
    """Reboot the guest; rules, forwarding and services come back."""
    ctx.ssh.check('sudo netfilter-persistent save')
    before = ctx.ssh.check('cat /proc/sys/kernel/random/boot_id').strip()
    ctx.ssh.run('sudo systemctl reboot', timeout=20)
    started = time.monotonic()
    deadline = started + ctx.boot_timeout
    probe = ('test "$(cat /proc/sys/kernel/random/boot_id)" != %s'
             % shlex.quote(before))
    if not ctx.ssh.wait_ready(deadline, ctx.machine.alive, probe=probe):
        panic = ctx.machine.panic()
        if panic:
            raise Failed('guest kernel panic after the reboot: %s' % panic)
        raise Failed('no SSH after the reboot within %d s'
                     % ctx.boot_timeout)
    ready = time.monotonic() - started
    boot_clean(ctx)
    rules_active(ctx)
    forwarding = forwarding_state(ctx)
    if forwarding != ['1', '1']:
        raise Failed('forwarding off after reboot')
    # The agent re-applies addresses and restarts its services.
    configure_interfaces(ctx)
    services = ' '.join(appliance.agent_services())
    ctx.ssh.check('sudo systemctl restart ' + services)
    states = ctx.ssh.run('sudo systemctl is-active ssh netfilter-persistent '
                         + services).stdout.split()
    if set(states) != {'active'}:
        raise Failed('services after reboot: %s' % ' '.join(states))
    return ('rebooted (SSH back in %.1f s); rules restored, forwarding on, '
            'services active' % ready)


CHECKS = (
    # name, function, prerequisites
    ('login', login, ()),
    ('datasource', datasource, ('login',)),
    ('boot-clean', boot_clean, ('login',)),
    ('interfaces', interfaces, ('login',)),
    ('firewall', firewall, ('interfaces',)),
    ('routing', routing, ('interfaces',)),
    ('dhcp-dns-nat', dhcp_dns_nat, ('firewall',)),
    ('router-advertisements', router_advertisements, ('routing',)),
    ('high-availability', high_availability, ('interfaces',)),
    ('agent-runtime', agent_runtime, ('login',)),
    ('rootwrap', rootwrap, ('interfaces',)),
    ('package-update', package_update, ('login',)),
    ('reload', reload, ('firewall', 'routing', 'high-availability')),
)


def _panic(ctx):
    machine = getattr(ctx, 'machine', None)
    return machine.panic() if machine is not None else None


def run_checks(ctx, checks=CHECKS):
    """Run checks in order, logging each result; yields the results.

    Once the guest kernel has panicked, the checks left are not run:
    each would only wait for SSH to time out.
    """
    results = {}
    for name, function, needs in checks:
        started = time.monotonic()
        unmet = [n for n in needs if results.get(n) != PASS]
        panic = _panic(ctx)
        if panic:
            result = Result(name, NOT_RUN, 'guest kernel panic: %s' % panic,
                            0)
        elif unmet:
            result = Result(name, NOT_RUN, 'needs %s' % ', '.join(unmet), 0)
        else:
            try:
                detail = function(ctx)
                status = PASS
            except NotRun as reason:
                status, detail = NOT_RUN, str(reason)
            except termination.Interrupted:
                raise
            except (errors.SlimError, subprocess.SubprocessError,
                    OSError) as failure:
                status, detail = FAIL, str(failure)
            result = Result(name, status, detail,
                            round(time.monotonic() - started, 1))
        results[name] = result.status
        LOG.info('check %-22s %s: %s', name, result.status, result.detail)
        yield result
