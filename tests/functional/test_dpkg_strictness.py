"""dpkg's strictness, tested against dpkg itself.

Real status files (this host's /var/lib/dpkg/status and a debootstrap
root's) are mutated at random: lines dropped, duplicated, truncated,
split or joined; field names and values mangled (spaces, case, bad
characters, huge numbers, empty values); bytes flipped; the file cut short.
On every mutation our reader (akanda_slim.debian.dpkg_status, through
target.read_target as every command reads a target) must accept exactly
what ``dpkg-query --admindir DIR -W`` accepts, and a refusal must name the
file and a line. Seeded: the seed is printed, AKANDA_SLIM_MUTATION_SEED
replays a run, AKANDA_SLIM_MUTATIONS sets the count per source file.
"""

import os
import random
import shutil
import subprocess
import tempfile
import time

import testtools

from akanda_slim.debian import target
from akanda_slim import errors
from tests.functional import debian_roots

MUTATIONS = int(os.environ.get('AKANDA_SLIM_MUTATIONS', '200'))
HOST_STATUS = '/var/lib/dpkg/status'
STATUS_FIELDS = ('Package', 'Status', 'Version', 'Architecture',
                 'Priority', 'Essential', 'Protected', 'Multi-Arch',
                 'Depends', 'Pre-Depends', 'Recommends', 'Provides',
                 'Conflicts', 'Breaks', 'Installed-Size', 'Config-Version',
                 'Conffiles', 'Source', 'Triggers-Pending', 'Filename',
                 'Description', 'X')
ODD_VALUES = ('', ' ', '1 2', '1e400', '-1', '99999999999999999999',
              'yes', 'no', 'maybe', 'install ok', 'install ok installed',
              'hold reinstreq half-installed', 'purge ok not-installed',
              'deinstall ok config-files', 'a (>> 1)', 'a (>>)', 'a | b',
              'a:any', 'a (= 1:2-3)', 'a, , b', 'Ä', '1:', ':1', '1-',
              'same', 'foreign', 'all', 'AMD64', 'x y', 'required',
              'install ok triggers-pending', 'trig', '0:0', '1.0~rc1')


def _lines(text):
    return text.split('\n')


def mutate(text, rng):
    """``text`` with one random mutation; a word saying which."""
    lines = _lines(text)
    at = rng.randrange(len(lines))
    kind = rng.choice(('drop', 'duplicate', 'truncate-line', 'blank',
                       'no-colon', 'continuation', 'field-name', 'value',
                       'new-field', 'flip-byte', 'cut-file', 'join',
                       'case', 'swap'))
    line = lines[at]
    if kind == 'drop':
        del lines[at]
    elif kind == 'duplicate':
        lines.insert(at, line)
    elif kind == 'truncate-line':
        lines[at] = line[:rng.randrange(len(line) + 1)]
    elif kind == 'blank':
        lines.insert(at, rng.choice(('', ' ', '\t')))
    elif kind == 'no-colon':
        lines.insert(at, rng.choice(('garbage', 'Package', 'a b c')))
    elif kind == 'continuation':
        lines.insert(at, rng.choice((' more', ' .', '\tx')))
    elif kind == 'field-name':
        name, sep, value = line.partition(':')
        junk = rng.choice(('-', ' ', 'Ä', 'x', '', '#', 'Package'))
        lines[at] = name + junk + sep + value if rng.random() < 0.5 \
            else junk + sep + value
    elif kind == 'value':
        name, sep, _value = line.partition(':')
        lines[at] = '%s: %s' % (name, rng.choice(ODD_VALUES))
    elif kind == 'new-field':
        lines.insert(at, '%s: %s' % (rng.choice(STATUS_FIELDS),
                                     rng.choice(ODD_VALUES)))
    elif kind == 'flip-byte':
        data = bytearray(text.encode('utf-8', 'surrogateescape'))
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)
        return data.decode('utf-8', 'surrogateescape'), kind
    elif kind == 'cut-file':
        return text[:rng.randrange(len(text))], kind
    elif kind == 'join' and at + 1 < len(lines):
        lines[at:at + 2] = [line + ' ' + lines[at + 1]]
    elif kind == 'case':
        lines[at] = line.upper() if rng.random() < 0.5 else line.lower()
    elif kind == 'swap' and at + 1 < len(lines):
        lines[at], lines[at + 1] = lines[at + 1], line
    return '\n'.join(lines), kind


def dpkg_accepts(admindir):
    """dpkg-query's verdict: (accepted, its message)."""
    result = subprocess.run(['dpkg-query', '--admindir', admindir, '-W'],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE,
                            env=dict(os.environ, LC_ALL='C'))
    return (result.returncode == 0,
            result.stderr.decode('utf-8', 'replace').strip())


def we_accept(root):
    """Our verdict through the reader every command uses."""
    try:
        target.read_target(root)
    except errors.StatusError as exc:
        return False, str(exc)
    except errors.UnsafeStateError:
        return True, 'unfinished dpkg run (parsed fine)'
    return True, ''


def why_not_runnable():
    if not shutil.which('dpkg-query'):
        return 'dpkg-query is not installed'
    if not os.path.exists(HOST_STATUS):
        return 'this host has no dpkg database'
    return debian_roots.why_not_runnable()


SKIP_REASON = why_not_runnable()


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class DpkgStrictnessTest(testtools.TestCase):
    """Our accept/refuse equals dpkg-query's on hundreds of mutations."""

    def setUp(self):
        super().setUp()
        self.work = tempfile.mkdtemp(prefix='akanda-slim-mutate-',
                                     dir='/var/tmp')
        self.addCleanup(shutil.rmtree, self.work, ignore_errors=True)
        self.root = os.path.join(self.work, 'root')
        self.admindir = os.path.join(self.root, 'var/lib/dpkg')
        os.makedirs(os.path.join(self.admindir, 'updates'))
        os.makedirs(os.path.join(self.root, 'var/lib/apt'))

    def check(self, source, rng, seed):
        with open(source, encoding='utf-8', errors='surrogateescape') as f:
            original = f.read()
        counts = {'accepted': 0, 'refused': 0}
        disagreements = []
        for number in range(MUTATIONS):
            text, kind = mutate(original, rng)
            with open(os.path.join(self.admindir, 'status'), 'w',
                      encoding='utf-8', errors='surrogateescape') as out:
                out.write(text)
            theirs, their_message = dpkg_accepts(self.admindir)
            ours, our_message = we_accept(self.root)
            if ours != theirs:
                kept = os.path.join(self.work, '..', 'akanda-slim-mutation-'
                                    '%d-%d' % (seed, number))
                shutil.copyfile(os.path.join(self.admindir, 'status'), kept)
                disagreements.append(
                    'seed %d, %s mutation %d (%s, kept as %s): dpkg %s '
                    '(%s), we %s (%s)' % (
                        seed, source, number, kind, os.path.normpath(kept),
                        'accepts' if theirs else 'refuses', their_message,
                        'accept' if ours else 'refuse', our_message))
            elif not ours:
                self.assertRegex(our_message, r'status:\d+: \S',
                                 'a refusal names file and line')
            counts['accepted' if theirs else 'refused'] += 1
        print('dpkg strictness: %s: %d mutations, dpkg accepted %d and '
              'refused %d, we agreed on %d' % (
                  source, MUTATIONS, counts['accepted'], counts['refused'],
                  MUTATIONS - len(disagreements)))
        return disagreements, counts

    def test_mutations_agree_with_dpkg_query(self):
        seed = int(os.environ.get('AKANDA_SLIM_MUTATION_SEED')
                   or random.SystemRandom().randrange(2 ** 32))
        print('dpkg strictness: seed %d (AKANDA_SLIM_MUTATION_SEED=%d '
              'replays it)' % (seed, seed))
        rng = random.Random(seed)
        started = time.monotonic()
        sources = [HOST_STATUS, os.path.join(debian_roots.base_root(),
                                             'var/lib/dpkg/status')]
        disagreements = []
        for source in sources:
            found, counts = self.check(source, rng, seed)
            disagreements += found
            self.assertGreater(counts['refused'], MUTATIONS // 10,
                               'mutations too tame to test refusals')
            self.assertGreater(counts['accepted'], MUTATIONS // 10,
                               'mutations too wild to test acceptance')
        print('dpkg strictness: %.0f s' % (time.monotonic() - started))
        self.assertEqual([], disagreements)
