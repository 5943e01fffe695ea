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
import time

from akanda_slim.bootcheck import metadata_server
from akanda_slim.bootcheck import package_update as updates
from akanda_slim.dib import appliance
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
    agent: object = None
    ifnames: dict = dataclasses.field(default_factory=dict)
    config: dict = None


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


def rootwrap(ctx):
    """The agent's own privilege path: its user, sudo, its rootwrap."""
    wrap = ('sudo -n -u %s sudo -n %s %s ' % (
        appliance.AGENT_USER, appliance.ROOTWRAP, appliance.ROOTWRAP_CONF))
    links = ctx.ssh.check(wrap + 'ip -o link show')
    if 'eth0' not in links:
        raise Failed('rootwrap ip listed no eth0: %s' % links[:200])
    refused = ctx.ssh.run(wrap + 'cat /etc/shadow')
    if refused.returncode == 0:
        raise Failed('rootwrap ran a command its filters do not allow')
    return ('the agent\'s user runs ip through sudo and %s; cat is refused '
            '(exit %d)' % (appliance.ROOTWRAP, refused.returncode))


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


def _panic(ctx):
    machine = getattr(ctx, 'machine', None)
    return machine.panic() if machine is not None else None


def run_checks(ctx, checks=None):
    """Run checks in order, logging each result; yields the results.

    Once the guest kernel has panicked, the checks left are not run:
    each would only wait for SSH to time out.
    """
    if checks is None:
        from akanda_slim.bootcheck import check_sets
        checks = check_sets.DEFAULT
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
