#!/usr/bin/env python3
"""Feed every akanda-slim command hostile inputs and faults; count results.

Usage (as root, from the project's environment):

    python tools/hostile_inputs.py [--debian-root ROOT | --bootstrap]
        [--only plan,apply,...] [--timeout SECONDS] [--json]

Each case runs ``python -m akanda_slim ...`` in its own process group,
with a time-out, its own TMPDIR, and its working directory inside one
temporary directory; hostile symlinks point at a sentinel directory there.
Per case it prints the exit code, whether stderr holds a traceback,
whether the run hung, started heavy work (disk-image-create, QEMU) on
input that can never succeed, or left something behind (a mount under the
work directory, a changed sentinel, files in its TMPDIR, a process still
running, akanda-slim's policy-rc.d or run record in a target). Totals at
the end. With a real Debian root (``--debian-root``, or ``--bootstrap``
with mmdebstrap/debootstrap) it also signals ``apply`` mid-run.

Safe by construction: ``apply --root /`` is only tried with ``--keep '*'``
(nothing would be removed even if the refusal were missing); build cases
are killed the moment disk-image-create starts, verify and usage cases the
moment QEMU starts; everything mounted below the work directory is
unmounted and the directory removed (never across a mount) at the end.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

try:
    from akanda_slim.bootcheck import network
    from akanda_slim.slim.root_processes import processes_in
except ImportError as missing:  # not akanda-slim's Python
    sys.exit('%s: %s; run it as ./tools/akanda-slim-venv python %s'
             % (os.path.basename(sys.argv[0]), missing, ' '.join(sys.argv)))

HEAVY_PROGRAMS = ('disk-image-create', 'dib-run-parts', 'mmdebstrap',
                  'debootstrap', 'qemu-system-x86_64', 'qemu-system-aarch64')
TRACEBACK = 'Traceback (most recent call last)'
GRACE_SECONDS = 10
MINIMAL_STATUS = '''Package: base-files
Status: install ok installed
Priority: required
Essential: yes
Version: 13.8
Architecture: amd64

Package: hello
Status: install ok installed
Priority: optional
Version: 2.10-3
Architecture: amd64
'''


@dataclasses.dataclass
class Case:
    """One hostile run: a command line and what counts as right."""

    command: str
    label: str
    argv: list
    accept_success: bool = False  # exit 0 is right too (input is valid)
    signal_after: float = None    # send a signal this long after start
    signal_number: int = signal.SIGTERM
    close_stdout: bool = False    # as ``| head -0`` would
    setup: object = None          # called before the run
    teardown: object = None       # called after it
    leaves_mounts: bool = False   # SIGKILL: the next case cleans up


@dataclasses.dataclass
class Outcome:
    """What one case did; ``verdict()`` classifies it."""

    case: Case
    returncode: int = None
    stderr: str = ''
    hung: bool = False
    heavy: list = dataclasses.field(default_factory=list)
    left: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def verdict(self):
        return classify(self)


def error_lines(stderr):
    """Lines saying what went wrong, as akanda-slim or argparse says it."""
    return [line for line in stderr.splitlines()
            if line.startswith('akanda-slim') and ': error: ' in line]


def classify(outcome):
    """The verdict on one outcome, as a word.

    traceback, hung, heavy, left behind, refused, accepted, not refused
    (exit 0 where a refusal was expected), or unclear (a failure without a
    one-line error, or killed by a signal). A traceback, a
    hang, heavy work started or anything left behind wins over how the
    process exited.
    """
    if TRACEBACK in outcome.stderr:
        return 'traceback'
    if outcome.hung:
        return 'hung'
    if outcome.heavy:
        return 'heavy'
    if outcome.left:
        return 'left behind'
    code = outcome.returncode
    case = outcome.case
    said = [line for line in outcome.stderr.splitlines()
            if line.startswith('akanda-slim')]
    if code == 0 and case.accept_success:
        return 'accepted'
    if case.signal_after is not None:
        if code == 128 + case.signal_number and said:
            return 'refused'  # stopped by the signal and said so
        if code == -signal.SIGKILL == -case.signal_number:
            return 'refused'  # SIGKILL cannot be answered
    if code in (1, 2) and error_lines(outcome.stderr):
        return 'refused'
    if case.close_stdout and code in (0, 1) and not outcome.stderr.strip():
        return 'refused'  # a closed pipe ended it quietly
    return 'not refused' if code == 0 else 'unclear'


GOOD = ('refused', 'accepted')
# Verdicts that make the run fail; 'not refused' (exit 0 on input the
# case expected refused) is listed for a human to judge.
BAD = ('traceback', 'hung', 'heavy', 'left behind', 'unclear')


# ---------------------------------------------------------------- the world

class World:
    """The work directory: fake roots, hostile files, the sentinel."""

    def __init__(self, base, debian_root=None):
        self.base = base
        self.sentinel = os.path.join(base, 'sentinel')
        os.makedirs(os.path.join(self.sentinel, 'proc'))
        for name in ('sys', 'dev', 'etc'):
            os.makedirs(os.path.join(self.sentinel, name))
        self.write(os.path.join(self.sentinel, 'status'), MINIMAL_STATUS)
        self.write(os.path.join(self.sentinel, 'etc', 'passwd'), 'x\n')
        self.debian_root = debian_root
        self.count = 0

    def path(self, name):
        return os.path.join(self.base, name)

    @staticmethod
    def write(path, text, mode='w'):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as stream:
            stream.write(text)
        return path

    def root(self, name, status=MINIMAL_STATUS,
             dirs=('proc', 'sys', 'dev', 'usr/sbin')):
        """A fake target root with a dpkg status (None: no status file)."""
        root = self.path('roots/%s' % name)
        os.makedirs(os.path.join(root, 'var/lib/dpkg'))
        os.makedirs(os.path.join(root, 'var/lib/apt'))
        os.makedirs(os.path.join(root, 'etc/apt/apt.conf.d'))
        for directory in dirs:
            os.makedirs(os.path.join(root, directory), exist_ok=True)
        if status is not None:
            self.write(os.path.join(root, 'var/lib/dpkg/status'), status)
        return root

    def special(self, name, kind):
        path = self.path('files/%s' % name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if kind == 'fifo':
            os.mkfifo(path)
        elif kind == 'dir':
            os.makedirs(path)
        elif kind == 'sparse':
            with open(path, 'wb') as stream:
                stream.truncate(300 * 1024 * 1024)
        else:
            self.write(path, kind)
        return path

    def sentinel_digest(self):
        digest = hashlib.sha256()
        for directory, dirs, files in sorted(os.walk(self.sentinel)):
            dirs.sort()
            for name in sorted(dirs + files):
                full = os.path.join(directory, name)
                info = os.lstat(full)
                digest.update(('%s %o %d\n' % (full, info.st_mode,
                                               info.st_size)).encode())
                if stat.S_ISREG(info.st_mode):
                    with open(full, 'rb') as stream:
                        digest.update(stream.read())
        return digest.hexdigest()


# ---------------------------------------------------------------- mounts

def mounts_under(path):
    path = os.path.realpath(path).rstrip('/') + '/'
    found = []
    with open('/proc/self/mountinfo') as stream:
        for line in stream:
            point = line.split(' ')[4].replace('\\040', ' ')
            if (point + '/').startswith(path):
                found.append(point)
    return found


def release_mounts(path):
    for point in reversed(mounts_under(path)):
        subprocess.run(['umount', '--lazy', point],
                       stderr=subprocess.DEVNULL)


def group_members(pgid):
    """(pid, program name) of processes in process group ``pgid``."""
    members = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % name) as stream:
                text = stream.read()
        except OSError:
            continue  # it ended meanwhile
        comm = text[text.index('(') + 1:text.rindex(')')]
        fields = text[text.rindex(')') + 2:].split()
        if int(fields[2]) == pgid:
            members.append((int(name), comm))
    return members


def _kill_group(pgid, signum):
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        pass  # the group has ended


def _heavy_in(members):
    return sorted({comm for _, comm in members
                   if any(comm.startswith(p[:15]) for p in HEAVY_PROGRAMS)})


# ---------------------------------------------------------------- running

def run_case(world, case, timeout):
    """Run ``case`` with every guard; an Outcome."""
    world.count += 1
    tmpdir = world.path('tmp/%d' % world.count)
    os.makedirs(tmpdir)
    env = dict(os.environ, TMPDIR=tmpdir, DIB_NO_TMPFS='1',
               LC_ALL='C.UTF-8')
    if case.setup is not None:
        case.setup()
    before = world.sentinel_digest()
    marks_before = akanda_marks(world)
    networks_before = network.existing()
    started = time.monotonic()
    err_path = world.path('tmp/%d.err' % world.count)
    with open(err_path, 'w') as err:
        child = subprocess.Popen(
            [sys.executable, '-m', 'akanda_slim'] + case.argv, env=env,
            cwd=world.base, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=err, start_new_session=True)
    outcome = Outcome(case)
    if case.close_stdout:
        child.stdout.close()
    else:
        os.set_blocking(child.stdout.fileno(), False)
    signalled = False
    while child.poll() is None:
        elapsed = time.monotonic() - started
        heavy = _heavy_in(group_members(child.pid))
        if heavy:
            outcome.heavy = heavy
            break
        if elapsed > timeout:
            outcome.hung = True
            break
        if (case.signal_after is not None and not signalled
                and elapsed >= case.signal_after):
            os.kill(child.pid, case.signal_number)
            signalled = True
        if not case.close_stdout:
            child.stdout.read(65536)  # keep the pipe from filling up
        time.sleep(0.05)
    if child.poll() is None:
        _kill_group(child.pid, signal.SIGTERM)
        try:
            child.wait(GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(child.pid, signal.SIGKILL)
            child.wait()
    outcome.seconds = time.monotonic() - started
    outcome.returncode = child.returncode
    if not case.close_stdout:
        child.stdout.close()
    with open(err_path, errors='replace') as err:
        outcome.stderr = err.read()
    if not case.leaves_mounts:
        outcome.left = left_behind(world, child.pid, tmpdir, before,
                                   networks_before,
                                   marks_before)
    if case.teardown is not None:
        case.teardown()
    return outcome


def akanda_marks(world):
    """(file, root name) of akanda-slim's policy-rc.d or run record."""
    marks = set()
    roots = world.path('roots')
    for name in (os.listdir(roots) if os.path.isdir(roots) else ()):
        for relative in ('usr/sbin/policy-rc.d',
                         'var/lib/akanda-slim/apply-run.json'):
            path = os.path.join(roots, name, relative)
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, 'rb') as stream:
                    text = stream.read(4096)
                if b'akanda-slim' in text or relative.endswith('.json'):
                    marks.add((relative, name))
    return marks


def left_behind(world, pgid, tmpdir, sentinel_before, networks_before,
                marks_before):
    """What the case left: each a short text. Cleans it up after."""
    left = []
    time.sleep(0.1)
    stragglers = group_members(pgid)
    if stragglers:
        left.append('processes still running: %s' % ', '.join(
            comm for _, comm in stragglers))
        _kill_group(pgid, signal.SIGKILL)
    mounted = mounts_under(world.base)
    if mounted:
        left.append('mounted: %s' % ', '.join(mounted))
        release_mounts(world.base)
    if world.sentinel_digest() != sentinel_before:
        left.append('the sentinel outside the target changed')
    if os.listdir(tmpdir):
        left.append('left in TMPDIR: %s' % ', '.join(sorted(
            os.listdir(tmpdir))[:5]))
    left += ['%s in %s' % marker for marker in
             sorted(akanda_marks(world) - marks_before)]
    networks = network.existing()
    for kind in ('netns', 'taps'):
        new = sorted(set(networks[kind]) - set(networks_before[kind]))
        if new:
            left.append('%s left: %s' % (kind, ', '.join(new)))
    return left


# ---------------------------------------------------------------- the cases

def root_cases(world, command, extra=()):
    """Hostile --root values and hostile files inside roots."""
    w = world
    fifo_status = w.root('%s-fifo-status' % command, status=None)
    os.mkfifo(os.path.join(fifo_status, 'var/lib/dpkg/status'))
    zero_abs = w.root('%s-status-dev-zero' % command, status=None)
    os.symlink('/dev/zero', os.path.join(zero_abs, 'var/lib/dpkg/status'))
    zero_rel = w.root('%s-status-dev-zero-relative' % command, status=None)
    os.symlink('../../../../../../../../dev/zero',
               os.path.join(zero_rel, 'var/lib/dpkg/status'))
    host_status = w.root('%s-status-host-link' % command, status=None)
    os.symlink(os.path.join(w.sentinel, 'status'),
               os.path.join(host_status, 'var/lib/dpkg/status'))
    dir_status = w.root('%s-status-directory' % command, status=None)
    os.makedirs(os.path.join(dir_status, 'var/lib/dpkg/status'))
    big = w.root('%s-status-sparse-300M' % command, status=None)
    with open(os.path.join(big, 'var/lib/dpkg/status'), 'wb') as stream:
        stream.truncate(300 * 1024 * 1024)
    ext_fifo = w.root('%s-extended-states-fifo' % command)
    os.mkfifo(os.path.join(ext_fifo, 'var/lib/apt/extended_states'))
    ext_zero = w.root('%s-extended-states-dev-zero' % command)
    os.symlink('/dev/zero', os.path.join(ext_zero,
                                         'var/lib/apt/extended_states'))
    conf_fifo = w.root('%s-apt-conf-fifo' % command)
    os.mkfifo(os.path.join(conf_fifo, 'etc/apt/apt.conf.d/99fifo'))
    conf_bad = w.root('%s-apt-conf-garbage' % command)
    w.write(os.path.join(conf_bad, 'etc/apt/apt.conf.d/99bad'),
            'APT::NeverAutoRemove { "unterminated\n')
    lists = {}
    for label, kind in (('index-fifo', 'fifo'), ('index-dev-zero', 'zero'),
                        ('index-gz-garbage', 'garbage'),
                        ('index-host-link', 'host'),
                        ('sources-fifo', 'sources-fifo')):
        root = lists[label] = w.root('%s-%s' % (command, label))
        sources = os.path.join(root, 'etc/apt/sources.list')
        index = os.path.join(root, 'var/lib/apt/lists',
                             'mirror.example_d_dists_s_main_binary-amd64_'
                             'Packages')
        os.makedirs(os.path.dirname(index), exist_ok=True)
        if kind == 'sources-fifo':
            os.mkfifo(sources)
            continue
        w.write(sources, 'deb http://mirror.example/d s main\n')
        if kind == 'fifo':
            os.mkfifo(index)
        elif kind == 'zero':
            os.symlink('/dev/zero', index)
        elif kind == 'garbage':
            w.write(index + '.gz', 'not gzip\n')
        else:
            os.symlink(os.path.join(w.sentinel, 'status'), index)
    half = w.root('%s-half-configured' % command,
                  status=MINIMAL_STATUS.replace(
                      'Package: hello\nStatus: install ok installed',
                      'Package: hello\nStatus: install ok half-configured'))
    journal = w.root('%s-updates-journal' % command)
    w.write(os.path.join(journal, 'var/lib/dpkg/updates/0001'),
            'Package: hello\nStatus: install ok half-installed\n\n')
    comma = w.root('%s-comma,name' % command)
    newline = w.root('%s-new\nline' % command)
    statuses = {
        'status-binary': '\x00\x01\x02garbage\xff',
        'status-no-colon': 'Package: a\nStatus: install ok installed\nX\n',
        'status-duplicate-field': ('Package: a\nPackage: a\n'
                                   'Status: install ok installed\n'),
        'status-bad-state': 'Package: a\nStatus: install ok bogus\n',
        'status-version-space': ('Package: a\nStatus: install ok installed'
                                 '\nVersion: 1 2\n'),
        'status-size-1e400': ('Package: a\nStatus: install ok installed\n'
                              'Version: 1\nInstalled-Size: 1e400\n'),
        'status-depends-garbage': ('Package: a\nStatus: install ok '
                                   'installed\nVersion: 1\n'
                                   'Depends: ((( , |\n'),
        'status-empty': '',
    }
    roots = [
        ('missing root', w.path('does/not/exist')),
        ('root is a file', w.special('%s-plain-file' % command, 'text\n')),
        ('root is /dev/null', '/dev/null'),
        ('root is a FIFO', w.special('%s-fifo' % command, 'fifo')),
        ('root is an empty directory', w.special('%s-empty' % command,
                                                 'dir')),
        ('status is a FIFO', fifo_status),
        ('status -> /dev/zero (absolute)', zero_abs),
        ('status -> ../../dev/zero (relative)', zero_rel),
        ('status -> a host file', host_status),
        ('status is a directory', dir_status),
        ('status is a 300 MB sparse file', big),
        ('extended_states is a FIFO', ext_fifo),
        ('extended_states -> /dev/zero', ext_zero),
        ('apt.conf.d holds a FIFO', conf_fifo),
        ('apt.conf.d holds garbage', conf_bad),
        ('apt index is a FIFO', lists['index-fifo']),
        ('apt index -> /dev/zero', lists['index-dev-zero']),
        ('apt index .gz is garbage', lists['index-gz-garbage']),
        ('apt index -> a host file', lists['index-host-link']),
        ('sources.list is a FIFO', lists['sources-fifo']),
        ('a half-configured package', half),
        ('a dpkg updates journal', journal),
        ('a path with a comma', comma),
        ('a path with a newline', newline),
        ('root is -', '-'),
        ('root is empty', ''),
    ]
    for name, text in statuses.items():
        roots.append((name, w.root('%s-%s' % (command, name),
                                   status=text)))
    # Valid inputs, or ones a command may rightly read past.
    acceptable = ('a path with a comma', 'a path with a newline',
                  'status -> a host file', 'status-empty',
                  'apt.conf.d holds a FIFO', 'apt index -> a host file',
                  'apt index -> /dev/zero',
                  'sources.list is a FIFO')
    return [Case(command, '--root: %s' % label,
                 [command, '--root', root] + list(extra),
                 accept_success=label in acceptable)
            for label, root in roots]


def option_cases(world, command, extra=()):
    root = world.root('%s-options' % command)
    base = [command, '--root', root] + list(extra)
    return [
        Case(command, '--policy bogus', base + ['--policy', 'bogus']),
        Case(command, '--remove base-files (essential)',
             base + ['--remove', 'base-files']),
        Case(command, '--keep "["', base + ['--keep', '['],
             accept_success=True),
        Case(command, '--remove 10000 stars',
             base + ['--remove', '*' * 10000],
             accept_success=command != 'apply'),
        Case(command, '--keep non-UTF-8', base + ['--keep', '\udcff'],
             accept_success=True),
        Case(command, 'unknown option', base + ['--bogus']),
    ]


def plan_cases(world):
    cases = root_cases(world, 'plan') + option_cases(world, 'plan')
    root = world.root('plan-pipe')
    cases.append(Case('plan', 'stdout closed (| head -0)',
                      ['plan', '--root', root], close_stdout=True))
    cases.append(Case('plan', 'stdout closed, --json',
                      ['plan', '--root', root, '--json'], close_stdout=True))
    cases.append(Case('plan', 'SIGINT after 0.3 s', ['plan', '--root', root],
                      signal_after=0.3, signal_number=signal.SIGINT,
                      accept_success=True))
    return cases


def why_cases(world):
    root = world.root('why-names')
    names = ['', '-', 'x' * 10000, '../../etc/passwd', 'a\nb', 'nope',
             '\udcff', '*']
    return (root_cases(world, 'why', ['hello'])
            + [Case('why', 'package %r' % name[:20],
                    ['why', '--root', root, '--', name],
                    accept_success=False) for name in names])


def apply_cases(world):
    cases = root_cases(world, 'apply') + option_cases(world, 'apply')
    for root in ('/', '/.', '//', '/usr/..'):
        cases.append(Case('apply', '--root %s (running system)' % root,
                          ['apply', '--root', root, '--keep', '*',
                           '--lock-timeout', '0']))
    for name in ('proc', 'sys', 'dev'):
        root = world.root('apply-%s-symlink' % name)
        os.rmdir(os.path.join(root, name))
        os.symlink(os.path.join(world.sentinel, name),
                   os.path.join(root, name))
        cases.append(Case('apply', '%s -> the sentinel (absolute)' % name,
                          ['apply', '--root', root, '--remove', 'hello']))
    root = world.root('apply-policy-rc-d-dangling')
    os.symlink(os.path.join(world.sentinel, 'policy-rc.d'),
               os.path.join(root, 'usr/sbin/policy-rc.d'))
    cases.append(Case('apply', 'policy-rc.d -> a host path (dangling)',
                      ['apply', '--root', root, '--remove', 'hello']))
    root = world.root('apply-run-record-garbage')
    world.write(os.path.join(root, 'var/lib/akanda-slim/apply-run.json'),
                '{"pid": 1, "mounts": [{"name": "../../etc"}]}')
    cases.append(Case('apply', 'a forged run record',
                      ['apply', '--root', root]))
    record = ('{"pid": %s, "started": 1, "boot_id": '
              '"0b7e4ec4-52a5-4ad4-9e0c-7d5bb0e8a1f3", "nonce": "%s", '
              '"mounts": %s, "policy_rc_d": null, "purge": %s}')
    for label, text in (
            ('pid Infinity', record % ('Infinity', '5f' * 16, '[]', 'null')),
            ('mount_id 1e999', record % (
                '1', '5f' * 16, '[{"name": "proc", "mount_id": 1e999}]',
                'null')),
            ('nested 30000 deep', record % (
                '1', '5f' * 16, '[]', '[' * 30000 + ']' * 30000)),
            ('purge a string', record % ('1', '5f' * 16, '[]', '"bash"'))):
        root = world.root('apply-run-record-%s' % label.replace(' ', '-'))
        world.write(os.path.join(root, 'var/lib/akanda-slim/apply-run.json'),
                    text)
        cases.append(Case('apply', 'a run record with %s' % label,
                          ['apply', '--root', root, '--remove', 'hello']))
    root = world.root('apply-dpkg-lock-device')
    os.mknod(os.path.join(root, 'var/lib/dpkg/lock'),
             0o600 | stat.S_IFCHR, os.makedev(1, 3))
    cases.append(Case('apply', 'var/lib/dpkg/lock is a device node',
                      ['apply', '--root', root, '--remove', 'hello']))
    root = world.root('apply-run-record-link')
    os.makedirs(os.path.join(root, 'var/lib'), exist_ok=True)
    os.symlink(world.sentinel, os.path.join(root, 'var/lib/akanda-slim'))
    cases.append(Case('apply', 'var/lib/akanda-slim -> the sentinel',
                      ['apply', '--root', root, '--remove', 'hello']))
    for value in ('-1', 'nan', '1e400', 'x'):
        cases.append(Case('apply', '--lock-timeout %s' % value,
                          ['apply', '--root', world.root(
                              'apply-timeout-%s' % value),
                           '--lock-timeout', value]))
    if world.debian_root:
        cases += apply_fault_cases(world)
    return cases


def settle(root, seconds=60):
    """Let what a killed apply left running in ``root`` end, or kill it."""
    deadline = time.monotonic() + seconds
    while processes_in(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in processes_in(root):
        os.kill(pid, signal.SIGKILL)


def remove_tree(path):
    release_mounts(path)
    if not mounts_under(path):
        subprocess.run(['rm', '-rf', '--one-file-system', path])


def apply_fault_cases(world):
    """Signals at several moments of a real apply (needs a real root)."""
    cases = []
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                   signal.SIGKILL):
        for moment in (0.5, 1.5, 3.0):
            name = signal.Signals(number).name
            root = world.path('roots/fault-%s-%s' % (name, moment))
            argv = ['apply', '--root', root, '--remove', 'nano',
                    '--remove', 'less']
            cases.append(Case(
                'apply', '%s after %.1f s on a real root' % (name, moment),
                argv, accept_success=True, signal_after=moment,
                signal_number=number,
                leaves_mounts=number == signal.SIGKILL,
                setup=lambda root=root: subprocess.run(
                    ['cp', '-a', world.debian_root, root], check=True)))
            cases.append(Case(
                'apply', 're-run after %s at %.1f s' % (name, moment),
                argv, accept_success=True,
                setup=lambda root=root: settle(root),
                teardown=lambda root=root: remove_tree(root)))
    return cases


def json_file(world, name, text):
    return world.write(world.path('files/%s.slim.json' % name), text)


def report_cases(world, command, extra=()):
    """Hostile report files and roots as the inputs of diff/picture."""
    good = world.root('%s-good-root' % command)
    w = world
    inputs = [
        ('missing file', w.path('no/such.slim.json')),
        ('/dev/zero', '/dev/zero'),
        ('a FIFO', w.special('%s-fifo.slim.json' % command, 'fifo')),
        ('a directory, not a root', w.special('%s-dir' % command, 'dir')),
        ('JSON that is broken', json_file(w, command + '-broken', '{')),
        ('JSON that is a list', json_file(w, command + '-list', '[]')),
        ('JSON without keys', json_file(w, command + '-empty', '{}')),
        ('JSON with 1e400', json_file(w, command + '-huge',
                                      '{"packages": [{"package": "a", '
                                      '"installed_size_kib": 1e400}]}')),
        ('JSON nested 100000 deep', json_file(w, command + '-deep',
                                              '[' * 100000)),
        ('a 300 MB sparse file', w.special('%s-sparse.slim.json' % command,
                                           'sparse')),
        ('text, not JSON', w.special('%s-text.slim.json' % command,
                                     'hello\n')),
    ]
    cases = []
    for label, path in inputs:
        cases.append(Case(command, 'first input: %s' % label,
                          [command] + list(extra) + [path, good]))
        cases.append(Case(command, 'second input: %s' % label,
                          [command] + list(extra) + [good, path]))
    return cases


def diff_cases(world):
    root = world.root('diff-pipe')
    return report_cases(world, 'diff') + [
        Case('diff', 'stdout closed (| head -0)', ['diff', root, root],
             close_stdout=True)]


def picture_cases(world):
    good = world.root('picture-good')
    out_dir = world.path('picture-out')
    os.makedirs(out_dir)
    return report_cases(world, 'picture', ['-o', os.path.join(
        out_dir, 'p.svg')]) + [
        Case('picture', '-o in a missing directory',
             ['picture', '-o', world.path('no/dir/p.svg'), good, good]),
        Case('picture', '-o is a directory',
             ['picture', '-o', out_dir, good, good]),
        Case('picture', '--top -1', ['picture', '-o', os.path.join(
            out_dir, 'q.svg'), '--top', '-1', good, good]),
        Case('picture', '--top 1e400', ['picture', '-o', os.path.join(
            out_dir, 'r.svg'), '--top', '1e400', good, good]),
    ]


def image_cases(world, command):
    """Bad images for verify/usage: each must fail before QEMU starts."""
    w = world
    images = [
        ('missing image', w.path('no/such.qcow2')),
        ('a text file', w.special('%s-text.qcow2' % command, 'not a disk\n')),
        ('an empty file', w.special('%s-empty.qcow2' % command, '')),
        ('a FIFO', w.special('%s-fifo.qcow2' % command, 'fifo')),
        ('/dev/zero', '/dev/zero'),
        ('/dev/null', '/dev/null'),
        ('a directory', w.special('%s-dir.qcow2' % command, 'dir')),
        ('a path with a comma', w.special('%s-a,b.qcow2' % command,
                                          'not a disk\n')),
        ('a comma injecting a drive option',
         w.special('%s-x,file=,readonly=off.qcow2' % command, 'x\n')),
        ('a 300 MB sparse file of zeros', w.special(
            '%s-zeros.qcow2' % command, 'sparse')),
    ]
    text = w.special('%s-opts.qcow2' % command, 'not a disk\n')
    cases = [Case(command, 'image: %s' % label, [command, path])
             for label, path in images]
    for option, value in (('--memory', '0'), ('--memory', '-1'),
                          ('--memory', '1e400'), ('--boot-timeout', 'nan'),
                          ('--boot-timeout', '-5'), ('--boots', '0'),
                          ('--kernel', w.path('no/kernel'))):
        cases.append(Case(command, '%s %s' % (option, value),
                          [command, option, value, text]))
    return cases


def build_cases(world):
    out = world.path('build-out')
    os.makedirs(out)
    cases = []
    for label, argv in (
            ('--release bogus', ['--release', 'bogus']),
            ('--release ../etc', ['--release', '../etc']),
            ('--release empty', ['--release', '']),
            ('--name with a slash', ['--name', 'a/b']),
            ('--output-dir is a file', ['--output-dir', world.special(
                'build-file', 'x\n')]),
            ('--output-dir is /dev/null', ['--output-dir', '/dev/null'])):
        if '--output-dir' not in argv:
            argv = argv + ['--output-dir', out]
        cases.append(Case('build', label, ['build'] + argv))
    return cases


def available_commands():
    result = subprocess.run([sys.executable, '-m', 'akanda_slim', '--help'],
                            text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=60)
    return result.stdout


BUILDERS = {
    'plan': plan_cases, 'why': why_cases, 'apply': apply_cases,
    'diff': diff_cases, 'picture': picture_cases,
    'verify': lambda world: image_cases(world, 'verify'),
    'usage': lambda world: image_cases(world, 'usage'),
    'build': build_cases,
}


# ---------------------------------------------------------------- main

def bootstrap(base):
    root = os.path.join(base, 'debian')
    tool = shutil.which('mmdebstrap') or shutil.which('debootstrap')
    if tool is None:
        raise SystemExit('hostile_inputs: --bootstrap needs mmdebstrap or '
                         'debootstrap')
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))
    from akanda_slim.debian import mirrors
    subprocess.run([tool, '--variant=minbase', '--include=nano,less',
                    os.environ.get('DIB_RELEASE', 'trixie'), root,
                    mirrors.debian_mirror()], check=True,
                   stdout=subprocess.DEVNULL)
    return root


def report(outcomes, as_json):
    totals = {'tried': len(outcomes)}
    for outcome in outcomes:
        verdict = outcome.verdict()
        totals[verdict] = totals.get(verdict, 0) + 1
    if as_json:
        json.dump({'totals': totals, 'cases': [
            {'command': o.case.command, 'input': o.case.label,
             'exit': o.returncode, 'verdict': o.verdict(),
             'traceback': TRACEBACK in o.stderr, 'hung': o.hung,
             'heavy': o.heavy, 'left': o.left,
             'seconds': round(o.seconds, 2),
             'stderr_tail': o.stderr.strip().splitlines()[-1:]}
            for o in outcomes]}, sys.stdout, indent=1)
        print()
    else:
        for o in outcomes:
            print('%-8s %-45.45s exit %-4s %-11s%s' % (
                o.case.command, o.case.label, o.returncode, o.verdict(),
                ('  ' + '; '.join(o.left + o.heavy)) if (o.left or o.heavy)
                else ''))
        print('tried %d, refused cleanly %d, accepted %d, not refused %d, '
              'tracebacks %d, hung %d, heavy work started %d, left behind '
              '%d, unclear %d' % tuple([totals['tried']] + [
                  totals.get(k, 0) for k in (
                      'refused', 'accepted', 'not refused', 'traceback',
                      'hung', 'heavy', 'left behind', 'unclear')]))
    return totals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--debian-root',
                        help='a real Debian root (copied, never changed) '
                             'for the apply signal cases')
    parser.add_argument('--bootstrap', action='store_true',
                        help='bootstrap a minbase root for those cases')
    parser.add_argument('--only', help='comma-separated commands to try')
    parser.add_argument('--timeout', type=float, default=30,
                        help='seconds a case may run (default 30)')
    parser.add_argument('--json', action='store_true')
    parser.add_argument('--list', action='store_true',
                        help='list the cases without running them')
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit('hostile_inputs: run as root (apply mounts)')
    known = available_commands()
    wanted = args.only.split(',') if args.only else list(BUILDERS)
    base = tempfile.mkdtemp(prefix='akanda-slim-hostile-', dir='/var/tmp')
    outcomes = []
    try:
        debian_root = args.debian_root
        if args.bootstrap and not debian_root:
            debian_root = bootstrap(base)
        world = World(base, debian_root)
        for command in wanted:
            if command not in BUILDERS:
                raise SystemExit('hostile_inputs: no cases for %s' % command)
            if not re.search(r'^\s+%s\s' % re.escape(command), known,
                             re.M):
                print('hostile_inputs: akanda-slim has no %s command; '
                      'skipped' % command, file=sys.stderr)
                continue
            for case in BUILDERS[command](world):
                if args.list:
                    print('%-8s %s' % (command, case.label))
                    continue
                outcomes.append(run_case(world, case, args.timeout))
                print('.', end='', file=sys.stderr, flush=True)
        print(file=sys.stderr)
    finally:
        release_mounts(base)
        if mounts_under(base):
            print('hostile_inputs: still mounted below %s; not removing it'
                  % base, file=sys.stderr)
        else:
            subprocess.run(['rm', '-rf', '--one-file-system', base])
    if args.list:
        return 0
    totals = report(outcomes, args.json)
    bad = sum(totals.get(k, 0) for k in BAD)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
