"""Differential fuzzing: the recommends policy against apt's own autoremove.

From the Debian Packages index of RELEASE (fetched with apt from the
host's mirror into a private apt tree), generate consistent installed sets
and write each as a target: a dpkg status with random auto marks, holds,
selection of Priority required packages, extra versioned kernels,
apt.conf NeverAutoRemove patterns, and in half the cases a source whose
Packages index (plain, gzip or xz) disagrees with the status file on
Priority, flags or hard relations, as the archive's overrides do. Then
compare our removal set with ``apt-get -s autoremove`` (Recommends and
Suggests not important) run on the same files, package for package.

Two generators: apt's own simulated install of a few random packages into
an empty status (a set apt resolved), and a quick closure over the index
(every hard dependency met, some Recommends/Suggests and OR alternatives
added at random). The seed is printed; set AKANDA_SLIM_FUZZ_SEED to
replay a run, AKANDA_SLIM_FUZZ_CASES for more cases.
"""

import functools
import gzip
import lzma
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import testtools

from akanda_slim.debian import consistency
from akanda_slim.debian import mirrors
from akanda_slim.debian import relations
from akanda_slim.debian import target
from akanda_slim import errors
from akanda_slim.slim import policy
from tests.functional import debian_roots

RELEASE = debian_roots.RELEASE
CASES = int(os.environ.get('AKANDA_SLIM_FUZZ_CASES', '220'))
APT_SETS = 12           # sets apt itself resolves (2-3 s each)
VARIANTS_PER_APT_SET = 5
ARCH = 'amd64'
KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
DROPPED_FIELDS = {'filename', 'size', 'md5sum', 'sha256', 'sha1',
                  'description-md5', 'tag', 'msdos-filename'}
AUTOREMOVE_CONF = '''APT {
  NeverAutoRemove { "^firmware-linux.*"; "^linux-firmware$";
    "^linux-image-[a-z0-9]*$"; "^linux-image-[a-z0-9]*-[a-z0-9]*$"; };
  VersionedKernelPackages { "linux-.*"; "kfreebsd-.*"; "gnumach-.*";
    ".*-modules"; ".*-kernel"; };
};
'''


def why_not_runnable():
    for tool in ('apt-get', 'dpkg'):
        if not shutil.which(tool):
            return '%s is not installed' % tool
    if not os.path.exists(KEYRING):
        return '%s is missing (package debian-archive-keyring)' % KEYRING
    return None


SKIP_REASON = why_not_runnable()


def _apt_env(conf):
    return dict(os.environ, APT_CONFIG=conf, LC_ALL='C',
                SOURCE_DATE_EPOCH='1')


@functools.lru_cache(maxsize=None)
def index_tree():
    """A private apt tree holding RELEASE's Packages index; its apt.conf."""
    work = tempfile.mkdtemp(prefix='akanda-slim-fuzz-', dir='/var/tmp')
    tree = os.path.join(work, 'tree')
    for sub in ('etc/apt/apt.conf.d', 'etc/apt/sources.list.d',
                'etc/apt/preferences.d', 'var/lib/dpkg',
                'var/lib/apt/lists/partial', 'var/cache/apt/archives/partial'):
        os.makedirs(os.path.join(tree, sub))
    open(os.path.join(tree, 'var/lib/dpkg/status'), 'w').close()
    with open(os.path.join(tree, 'etc/apt/sources.list'), 'w') as sources:
        sources.write('deb [signed-by=%s] %s %s main\n'
                      % (KEYRING, mirrors.debian_mirror(), RELEASE))
    conf = os.path.join(work, 'apt.conf')
    with open(conf, 'w') as out:
        out.write('Dir "%s/";\nAPT::Architecture "%s";\n'
                  'APT::Architectures { "%s"; };\n'
                  'Acquire::Languages "none";\n' % (tree, ARCH, ARCH))
    subprocess.run(['apt-get', 'update', '-q', '-o',
                    'APT::Sandbox::User=root'], env=_apt_env(conf),
                   check=True, stdout=subprocess.DEVNULL)
    return work, conf


def _split_stanza(text):
    """[(field-lowercase, whole field text with continuation lines)]."""
    fields = []
    for line in text.split('\n'):
        if not line:
            continue
        if line[0] in ' \t' and fields:
            fields[-1][1].append(line)
        else:
            fields.append((line.split(':', 1)[0].lower(), [line]))
    return [(name, '\n'.join(lines)) for name, lines in fields]


class Index:
    """The Packages index: name -> fields, and who provides what."""

    def __init__(self, path):
        self.stanzas = {}
        self.providers = {}
        with open(path, encoding='utf-8', errors='surrogateescape') as data:
            for text in data.read().split('\n\n'):
                fields = _split_stanza(text)
                if not fields:
                    continue
                values = {name: line.split(':', 1)[1].strip()
                          for name, line in fields}
                name = values.get('package')
                if not name or name in self.stanzas:
                    continue
                self.stanzas[name] = (fields, values)
                for group in self.relations(name, 'provides'):
                    for rel in group:
                        self.providers.setdefault(rel.name, []).append(name)
        self.names = sorted(self.stanzas)
        self.required = sorted(n for n in self.names if self.stanzas[n][1]
                               .get('priority') == 'required')

    @functools.lru_cache(maxsize=None)
    def relations(self, name, field):
        text = self.stanzas[name][1].get(field, '')
        return relations.parse_field(text, field, name) if text else []

    def satisfier(self, rel):
        """An index package meeting ``rel``, real ones first, or None."""
        if rel.name in self.stanzas and relations.version_satisfies(
                self.stanzas[rel.name][1].get('version'), rel.op,
                rel.version):
            return rel.name
        for name in self.providers.get(rel.name, ()):
            for group in self.relations(name, 'provides'):
                for provided in group:
                    if provided.name == rel.name and (
                            rel.op is None or relations.version_satisfies(
                                provided.version, rel.op, rel.version)):
                        return name
        return None

    def status_stanza(self, name, want):
        fields, _values = self.stanzas[name]
        lines = []
        for field, text in fields:
            if field in DROPPED_FIELDS:
                continue
            lines.append(text)
            if field == 'package':
                lines.append('Status: %s ok installed' % want)
        return '\n'.join(lines) + '\n'


def closure(index, rng, seeds):
    """Names closed under hard dependencies; Recommends etc. at random."""
    chosen, queue = set(), list(seeds)
    recommends = rng.random() * 0.8
    while queue:
        name = queue.pop()
        if name in chosen:
            continue
        chosen.add(name)
        groups = [('hard', g) for f in ('pre-depends', 'depends')
                  for g in index.relations(name, f)]
        groups += [('soft', g) for f in ('recommends', 'suggests')
                   for g in index.relations(name, f)
                   if rng.random() < recommends / (1 if f == 'recommends'
                                                   else 4)]
        for kind, group in groups:
            found = [index.satisfier(rel) for rel in group]
            found = [n for n in found if n]
            if not found:
                if kind == 'hard':
                    return None
                continue
            queue.append(found[0])
            if len(found) > 1 and rng.random() < 0.3:
                queue.append(rng.choice(found[1:]))
    return chosen


def apt_install_set(index, rng, conf):
    """Names apt's simulated install of random packages brings in."""
    seeds = rng.sample(index.names, rng.randint(1, 4))
    result = subprocess.run(
        ['apt-get', '-s', '-q', '-o', 'APT::Install-Recommends=%s'
         % rng.choice(['true', 'false'])] + ['install'] + seeds,
        env=_apt_env(conf), text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    if result.returncode:
        return None
    return set(re.findall(r'^Inst (\S+)', result.stdout, re.M))


def kernel_stanzas(rng):
    """1-3 extra versioned kernels (and their headers) with a meta-package."""
    stanzas = []
    abis = sorted(rng.sample(range(1, 9), rng.randint(1, 3)))
    for abi in abis:
        for kind in ('image', 'headers'):
            stanzas.append(
                'Package: linux-%s-6.1.0-%d-amd64\nStatus: install ok '
                'installed\nPriority: optional\nArchitecture: amd64\n'
                'Source: linux (6.1.%d-1)\nVersion: 6.1.%d-1\n'
                'Maintainer: m\nDescription: d\n' % (kind, abi, abi, abi))
    stanzas.append('Package: linux-image-amd64\nStatus: install ok '
                   'installed\nArchitecture: amd64\nVersion: 6.1.%d-1\n'
                   'Depends: linux-image-6.1.0-%d-amd64\nMaintainer: m\n'
                   'Description: d\n' % (abis[-1], abis[-1]))
    return stanzas


FUZZ_SOURCE = 'deb [trusted=yes] http://fuzz.invalid/debian fuzz main\n'
FUZZ_LIST = 'fuzz.invalid_debian_dists_fuzz_main_binary-amd64_Packages'
PRIORITY_WORDS = ('required', 'important', 'standard', 'optional', 'extra',
                  'Required', 'bogus')


def index_stanza(index, name, rng):
    """The index's stanza of ``name``, its Priority, flags or hash changed.

    As the archive's overrides do: the index's Priority may differ from the
    one dpkg recorded; sometimes Essential/Protected too, or a changed hard
    relation (then apt keeps two versions and the status one is current).
    """
    lines = [text for field, text in index.stanzas[name][0]
             if field not in ('priority', 'essential', 'protected')]
    lines.insert(1, 'Priority: %s' % rng.choice(PRIORITY_WORDS))
    if rng.random() < 0.05:
        lines.append('%s: %s' % (rng.choice(['Essential', 'Protected']),
                                 rng.choice(['yes', 'no'])))
    if rng.random() < 0.1:
        lines.append('Conflicts: fuzz-only-in-the-index')
    return '\n'.join(lines) + '\n'


def write_index(root, index, rng, names):
    """A source and its Packages index (maybe compressed) in the target."""
    with open(os.path.join(root, 'etc/apt/sources.list'), 'w') as out:
        out.write(FUZZ_SOURCE)
    share = rng.random()
    text = '\n'.join(index_stanza(index, name, rng) for name in sorted(names)
                     if name in index.stanzas and rng.random() < share)
    compress = rng.choice(['', '.gz', '.xz'])
    data = {'': bytes, '.gz': gzip.compress, '.xz': lzma.compress}[compress](
        text.encode('utf-8', 'surrogateescape'))
    path = os.path.join(root, 'var/lib/apt/lists', FUZZ_LIST + compress)
    with open(path, 'wb') as out:
        out.write(data)


def write_case(root, index, rng, names):
    """A target at ``root`` for ``names`` with random marks and settings."""
    for sub in ('var/lib/dpkg', 'var/lib/apt/lists', 'etc/apt/apt.conf.d',
                'etc/apt/sources.list.d', 'etc/apt/preferences.d', 'cache'):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    names = set(names)
    if rng.random() < 0.5:
        names.update(rng.sample(index.required, rng.randint(1, 5)))
    holds = rng.random() * 0.1
    stanzas = [index.status_stanza(n, 'hold' if rng.random() < holds
                                   else 'install') for n in sorted(names)]
    if rng.random() < 0.3:
        kernels = kernel_stanzas(rng)
        replaced = {text.split('\n', 1)[0] for text in kernels}
        stanzas = [text for text in stanzas
                   if text.split('\n', 1)[0] not in replaced] + kernels
    with open(os.path.join(root, 'var/lib/dpkg/status'), 'w',
              encoding='utf-8', errors='surrogateescape') as status:
        status.write('\n'.join(stanzas))
    if rng.random() < 0.5:
        write_index(root, index, rng, names)
    installed = [line[9:] for text in stanzas
                 for line in text.split('\n')[:1]]
    auto = rng.choice([0.5, 0.8, 0.95, 1.0])
    with open(os.path.join(root, 'var/lib/apt/extended_states'),
              'w') as states:
        for name in installed:
            if rng.random() < auto:
                arch = ('' if rng.random() < 0.5
                        else 'Architecture: %s\n' % ARCH)
                states.write('Package: %s\n%sAuto-Installed: 1\n\n'
                             % (name, arch))
    with open(os.path.join(root, 'etc/apt/apt.conf.d/01autoremove'),
              'w') as conf:
        conf.write(AUTOREMOVE_CONF)
    patterns = ['^%s' % re.escape(rng.choice(installed)[:rng.randint(2, 5)])
                for _ in range(rng.randint(0, 3))]
    with open(os.path.join(root, 'etc/apt/apt.conf.d/99fuzz'),
              'w') as conf:
        for pattern in patterns:
            conf.write('APT::NeverAutoRemove:: "%s";\n'
                       % pattern.replace('\\', '\\\\'))
    with open(os.path.join(root, 'apt.conf'), 'w') as conf:
        conf.write('Dir "%s/";\nDir::State::lists "%s/var/lib/apt/lists/";\n'
                   'Dir::Cache "%s/cache/";\nDir::Cache::pkgcache "";\n'
                   'Dir::Cache::srcpkgcache "";\nAPT::Architecture "%s";\n'
                   'APT::Architectures { "%s"; };\n'
                   % (root, root, root, ARCH, ARCH))


def apt_removals(root):
    result = subprocess.run(
        ['apt-get', '-s', '-q'] + debian_roots.OPT_NO_RECOMMENDS
        + ['autoremove'], env=_apt_env(os.path.join(root, 'apt.conf')),
        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode and 'E: Unmet dependencies' in result.stdout:
        return None  # Conflicts or Breaks inside the set: not a case
    if result.returncode:
        raise AssertionError('apt-get failed on %s:\n%s'
                             % (root, result.stdout))
    return sorted(re.findall(r'^Remv (\S+)', result.stdout, re.M))


def our_removals(root):
    read = target.read_target(root)
    if consistency.broken_dependencies(read):
        return None  # not a consistent set: not a case
    return sorted(policy.decide(read, policy.Policy()).remove_names)


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class AptAgreementTest(testtools.TestCase):
    """Our recommends removals equal apt's on hundreds of generated sets."""

    def test_agrees_with_apt_autoremove(self):
        seed = int(os.environ.get('AKANDA_SLIM_FUZZ_SEED')
                   or random.SystemRandom().randrange(2 ** 32))
        print('apt agreement fuzz: seed %d (AKANDA_SLIM_FUZZ_SEED=%d '
              'replays it)' % (seed, seed))
        rng = random.Random(seed)
        started = time.monotonic()
        work, conf = index_tree()
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        lists = os.path.join(work, 'tree/var/lib/apt/lists')
        index = Index(os.path.join(lists, next(
            n for n in os.listdir(lists) if n.endswith('_Packages'))))
        sets = []
        for _ in range(APT_SETS):
            names = apt_install_set(index, rng, conf)
            if names:
                sets += [('apt', names)] * VARIANTS_PER_APT_SET
        cases = agreements = 0
        disagreements = []
        attempts = 0
        while cases < CASES and attempts < CASES * 4:
            attempts += 1
            if sets:
                origin, names = sets.pop()
            else:
                origin = 'closure'
                names = closure(index, rng, rng.sample(
                    index.names, rng.randint(1, 5)))
                if not names:
                    continue
            root = os.path.join(work, 'case-%d' % attempts)
            write_case(root, index, rng, names)
            try:
                ours = our_removals(root)
            except errors.SlimError as exc:
                disagreements.append('case %d (%s): we refused: %s'
                                     % (attempts, origin, exc))
                continue
            if ours is None:
                shutil.rmtree(root)
                continue
            theirs = apt_removals(root)
            if theirs is None:
                shutil.rmtree(root)
                continue
            cases += 1
            if ours == theirs:
                agreements += 1
                shutil.rmtree(root)
            else:
                kept = '/var/tmp/akanda-slim-fuzz-seed%d-case%d' % (
                    seed, attempts)
                shutil.copytree(root, kept, symlinks=True)
                disagreements.append(
                    'case %d (%s, kept in %s): only we remove %s; only apt '
                    'removes %s' % (attempts, origin, kept,
                                    sorted(set(ours) - set(theirs)),
                                    sorted(set(theirs) - set(ours))))
        print('apt agreement fuzz: seed %d: %d cases, %d agreements, '
              '%.0f s' % (seed, cases, agreements,
                          time.monotonic() - started))
        self.assertEqual([], disagreements, 'seed %d' % seed)
        self.assertGreaterEqual(cases, min(CASES, 200))
