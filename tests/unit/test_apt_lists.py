"""apt's cache view of a target: Priority and flags from its indexes."""

import bz2
import gzip
import json
import os
import shutil
import subprocess
import sys

from akanda_slim.debian import apt_lists
from akanda_slim.debian import decompress
from akanda_slim.debian import target
from akanda_slim import errors
from akanda_slim.slim import policy
from tests.unit import base

S = base.stanza
SOURCE = 'deb [signed-by=/k.gpg] http://mirror.example/debian fuzz main\n'
LIST = 'mirror.example_debian_dists_fuzz_main_binary-amd64_Packages'


def index_stanza(name, version='1.0', **fields):
    """A Packages index stanza (no Status; Filename and Size as archives)."""
    text = S(name, version, **fields).replace(
        'Status: install ok installed\n', '')
    return text + 'Filename: pool/%s.deb\nSize: 1000\n' % name


class IndexRootCase(base.RootTestCase):
    """Builds roots with apt sources and one index."""

    def make(self, status, index, sources=SOURCE, list_name=LIST,
             compress=False):
        root = self.make_root(*status, auto=[s.split('\n')[0][9:]
                                             for s in status])
        os.makedirs(os.path.join(root, 'var/lib/apt/lists'))
        with open(os.path.join(root, 'etc/apt/sources.list'), 'w') as out:
            out.write(sources)
        data = '\n'.join(index).encode()
        path = os.path.join(root, 'var/lib/apt/lists', list_name)
        if compress:
            data, path = gzip.compress(data), path + '.gz'
        with open(path, 'wb') as out:
            out.write(data)
        return root


class IndexMergeTest(IndexRootCase):

    def removals(self, root):
        return policy.decide(target.read_target(root),
                             policy.Policy()).remove_names

    def test_index_priority_replaces_the_status_one(self):
        # The archive's override made it important; dpkg still says
        # required. apt removes it (sensible-utils in bookworm, 2026).
        root = self.make([S('sensible-utils', Priority='required')],
                         [index_stanza('sensible-utils',
                                       Priority='important')])
        package = target.read_target(root).packages['sensible-utils']
        self.assertEqual(('important', LIST),
                         (package.priority, package.priority_from))
        self.assertEqual(['sensible-utils'], sorted(self.removals(root)))

    def test_index_required_makes_a_root_and_says_where(self):
        root = self.make([S('lib', Priority='optional')],
                         [index_stanza('lib', Priority='required')],
                         compress=True)
        result = policy.decide(target.read_target(root), policy.Policy())
        self.assertEqual([], sorted(result.remove_names))
        self.assertEqual("Priority: required (in apt's index %s.gz)" % LIST,
                         result.roots['lib'])

    def test_components_are_read_in_the_sources_order(self):
        # contrib's list sorts first by name, but apt reads main first:
        # contrib's "no" is the last word on the flag.
        sources = SOURCE.replace('main', 'main contrib')
        root = self.make([S('c')], [index_stanza('c', Protected='yes')],
                         sources=sources)
        with open(os.path.join(root, 'var/lib/apt/lists', LIST.replace(
                '_main_', '_contrib_')), 'w') as out:
            out.write(index_stanza('c', Protected='no'))
        self.assertFalse(target.read_target(root).packages['c'].protected)

    def test_version_as_the_last_field_of_a_stanza(self):
        for ending in ('', '\n', '\n\n'):
            root = self.make([S('a', Priority='required'),
                              S('b', Priority='required')],
                             ['Package: a\nPriority: optional\nArchitecture: '
                              'amd64\nVersion: 1.0\n', 'Package: b\nPriority: '
                              'optional\nArchitecture: amd64\nVersion: 1.0'
                              + ending])
            packages = target.read_target(root).packages
            self.assertEqual(('optional', 'optional'), (
                packages['a'].priority, packages['b'].priority), ending)

    def test_different_hard_relations_are_another_version(self):
        root = self.make([S('lib', Priority='required', Depends='a')],
                         [index_stanza('lib', Priority='optional',
                                       Depends='b')])
        self.assertEqual('required',
                         target.read_target(root).packages['lib'].priority)

    def test_another_version_in_the_index_changes_nothing(self):
        root = self.make([S('lib', Priority='required')],
                         [index_stanza('lib', '2.0', Priority='optional')])
        self.assertEqual([], sorted(self.removals(root)))

    def test_list_no_source_names_is_ignored(self):
        root = self.make([S('lib', Priority='required')],
                         [index_stanza('lib', Priority='optional')],
                         list_name='other.example_dists_x_main_binary-'
                                   'amd64_Packages')
        self.assertEqual('required',
                         target.read_target(root).packages['lib'].priority)

    def test_deb822_sources(self):
        sources = ('Types: deb\nURIs: http://mirror.example/debian\n'
                   'Suites: fuzz\nComponents: main\n')
        root = self.make([S('lib', Priority='required')],
                         [index_stanza('lib', Priority='optional')],
                         sources='')
        os.makedirs(os.path.join(root, 'etc/apt/sources.list.d'),
                    exist_ok=True)
        with open(os.path.join(root, 'etc/apt/sources.list.d/d.sources'),
                  'w') as out:
            out.write(sources)
        self.assertEqual('optional',
                         target.read_target(root).packages['lib'].priority)

    def test_flags_fold_over_index_then_status(self):
        root = self.make(
            [S('a'), S('b', Essential='no'), S('c', Protected='yes')],
            [index_stanza('a', Essential='yes'),
             index_stanza('b', Essential='yes'),
             index_stanza('c', '2.0', Important='no')])
        packages = target.read_target(root).packages
        self.assertEqual((True, False, True), (
            packages['a'].essential, packages['b'].essential,
            packages['c'].protected))

    def test_a_broken_compressed_index_is_bad_input(self):
        root = self.make([S('lib')], [index_stanza('lib')])
        with open(os.path.join(root, 'var/lib/apt/lists', LIST + '.gz'),
                  'wb') as out:
            out.write(b'not gzip')
        os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST))
        self.assertRaises(errors.InputError, target.read_target, root)

    def test_a_fifo_index_is_refused_not_waited_on(self):
        root = self.make([S('lib')], [index_stanza('lib')])
        path = os.path.join(root, 'var/lib/apt/lists', LIST)
        os.unlink(path)
        os.mkfifo(path)
        self.assertRaises(errors.InputError, target.read_target, root)

    def test_an_absolute_lists_symlink_stays_inside_the_root(self):
        outside = self.make([S('lib', Priority='required')],
                            [index_stanza('lib', Priority='optional')])
        root = self.make([S('lib', Priority='required')], [])
        lists = os.path.join(root, 'var/lib/apt/lists')
        os.unlink(os.path.join(lists, LIST))
        os.rmdir(lists)
        os.symlink(os.path.join(outside, 'var/lib/apt/lists'), lists)
        self.assertEqual('required',
                         target.read_target(root).packages['lib'].priority)

    def test_an_absolute_index_symlink_stays_inside_the_root(self):
        outside = self.make([S('lib', Priority='required')],
                            [index_stanza('lib', Priority='optional')])
        root = self.make([S('lib', Priority='required')], [])
        path = os.path.join(root, 'var/lib/apt/lists', LIST)
        os.unlink(path)
        os.symlink(os.path.join(outside, 'var/lib/apt/lists', LIST), path)
        self.assertEqual('required',
                         target.read_target(root).packages['lib'].priority)


class HashTest(base.RootTestCase):

    def test_version_hash_text_as_apt(self):
        text = apt_lists.version_hash_text({
            'depends': 'Foo (>= 0:1.0), bar (<< 10:2)',
            'installed-size': '12'})
        self.assertEqual('12foo(>1.0),bar(<<12)', text)

    def test_uri_to_file_name(self):
        self.assertEqual(
            'mirror.example:8080_deb%5fian_dists_',
            apt_lists.uri_to_file_name(
                'http://user:pw@mirror.example:8080/deb_ian/dists/'))

    def test_unknown_priority_is_extra(self):
        self.assertEqual('extra', apt_lists.apt_priority('Bogus'))
        self.assertEqual('required', apt_lists.apt_priority(' Required '))


# Each hostile index below took apt_lists minutes or gigabytes; read or
# refused, a run must stay within these (machines of this project's kind
# run them in well under a tenth of the time).
MAX_SECONDS = 30
MAX_RSS_MIB = 120
CHILD_TIMEOUT = 120


class BoundedIndexTest(IndexRootCase):
    """Hostile indexes and sources: linear time, bounded memory, one line."""

    def measure(self, root, entry='cli'):
        """(exit code, error lines, seconds, peak MiB) of plan on ``root``."""
        argv = (['plan', '--root', root] if entry == 'cli'
                else ['plan', root])
        try:
            child = subprocess.run(
                [sys.executable, '-m', 'tests.unit.bounded_run', entry]
                + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True, timeout=CHILD_TIMEOUT,
                cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                    os.path.abspath(__file__)))))
        except subprocess.TimeoutExpired:
            self.fail('plan took over %d s' % CHILD_TIMEOUT)
        lines = child.stderr.strip().splitlines()
        self.assertNotIn('Traceback', child.stderr)
        figures = json.loads(lines[-1])
        errors_ = [line for line in lines[:-1] if 'error' in line]
        return (figures['code'], errors_, figures['seconds'],
                figures['max_rss_kib'] / 1024)

    def assert_bounded(self, root, refused=None, entry='cli'):
        code, errors_, seconds, mib = self.measure(root, entry)
        self.assertLess(seconds, MAX_SECONDS)
        self.assertLess(mib, MAX_RSS_MIB)
        if refused is None:
            self.assertEqual((0, []), (code, errors_))
        else:
            self.assertEqual(2, code, errors_)
            self.assertEqual(1, len(errors_), errors_)
            self.assertIn(refused, errors_[0])
        return seconds, mib

    def write_list(self, root, data, name=LIST):
        with open(os.path.join(root, 'var/lib/apt/lists', name), 'wb') as out:
            out.write(data)

    def test_a_10_mb_stanza_of_continuation_lines(self):
        root = self.make([S('bash')], [])
        self.write_list(root, b'Package: bash\nDescription: x\n'
                        + b' y\n' * (10 * 1024 * 1024 // 3))
        self.assert_bounded(root, refused='holds a stanza over 1 MiB')

    def test_a_280_kb_index_of_one_repeated_line(self):
        root = self.make([S('bash', Priority='required')], [])
        self.write_list(root, b'Package: bash\n' * 20000)
        self.assert_bounded(root)
        self.assertEqual('required',
                         target.read_target(root).packages['bash'].priority)

    def test_an_archless_mark_and_an_index_naming_bash_200000_times(self):
        root = self.make([S('bash')], [])
        with open(os.path.join(root, target.EXTENDED_STATES_FILE),
                  'w') as states:
            states.write('Package: bash\nAuto-Installed: 1\n')
        self.write_list(root, b'Package: bash\nDescription: x\n'
                        + b' bash' * 200000 + b'\n')
        self.assert_bounded(root)
        self.assertTrue(target.read_target(root).packages['bash'].auto)

    def test_an_archless_mark_and_400000_stanzas_naming_bash(self):
        root = self.make([S('bash')], [])
        with open(os.path.join(root, target.EXTENDED_STATES_FILE),
                  'w') as states:
            states.write('Package: bash\nAuto-Installed: 1\n')
        self.write_list(root, b''.join(
            b'Package: p%d\nDepends: bash\n\n' % n for n in range(400000)))
        self.assert_bounded(root)

    def test_a_sources_line_of_2000_components_and_2000_lists(self):
        components = ['c%d' % n for n in range(2000)]
        sources = 'deb http://mirror.example/debian fuzz %s\n' % ' '.join(
            components)
        root = self.make([S('lib', Priority='required')], [],
                         sources=sources)
        for component in components:
            self.write_list(root, index_stanza(
                'lib', Priority='optional').encode(),
                name=LIST.replace('_main_', '_%s_' % component))
        self.assert_bounded(root)
        self.assertEqual('optional',
                         target.read_target(root).packages['lib'].priority)

    def test_deb822_100_uris_100_suites_100_components(self):
        root = self.make([S('lib')], [index_stanza('lib')], sources='')
        os.makedirs(os.path.join(root, 'etc/apt/sources.list.d'))
        with open(os.path.join(root, 'etc/apt/sources.list.d/x.sources'),
                  'w') as out:
            out.write('Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n' % (
                ' '.join('http://m%d.example/' % n for n in range(100)),
                ' '.join('s%d' % n for n in range(100)),
                ' '.join('c%d' % n for n in range(100))))
        self.assert_bounded(root, refused='name more than 100000 indexes')

    def bomb(self, byte):
        """bzip2 of 1 GiB of ``byte``: 16 streams of 64 MiB, 1.3 KB."""
        return bz2.compress(byte * (64 * 1024 * 1024), 9) * 16

    def test_a_bz2_of_1_gib_of_zeros(self):
        root = self.make([S('bash')], [])
        os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST))
        data = self.bomb(b'\0')
        self.assertLess(len(data), 2048)
        self.write_list(root, data, name=LIST + '.bz2')
        self.assert_bounded(root, refused='holds a stanza over 1 MiB')

    def test_a_bz2_of_1_gib_of_empty_lines_is_refused_at_the_cap(self):
        root = self.make([S('bash')], [])
        os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST))
        self.write_list(root, self.bomb(b'\n'), name=LIST + '.bz2')
        self.assert_bounded(root, refused='expands past 512 MiB; refused')

    def test_a_corrupt_gz_index_is_one_line(self):
        root = self.make([S('bash')], [])
        os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST))
        data = gzip.compress(index_stanza('bash').encode() * 100)
        self.write_list(root, data[:40] + b'\xff' * 40 + data[80:],
                        name=LIST + '.gz')
        for entry in ('cli', 'slim_element'):
            self.assert_bounded(root, refused='is not valid gz data',
                                entry=entry)

    def test_a_corrupt_lz4_or_zstd_index_is_one_line_exit_2(self):
        if not os.path.exists(decompress.APT_HELPER):
            self.skipTest('no apt-helper: apt is not installed')
        root = self.make([S('bash')], [])
        os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST))
        for suffix in ('.lz4', '.zst'):
            self.write_list(root, b'not compressed at all' * 10,
                            name=LIST + suffix)
            self.assert_bounded(root, refused='cat-file failed')
            os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST + suffix))

    def test_a_zstd_bomb_is_streamed_through_apt_helper_and_refused(self):
        if not (os.path.exists(decompress.APT_HELPER)
                and shutil.which('zstd')):
            self.skipTest('needs apt-helper (apt) and zstd')
        root = self.make([S('bash')], [])
        os.unlink(os.path.join(root, 'var/lib/apt/lists', LIST))
        path = os.path.join(root, 'var/lib/apt/lists', LIST + '.zst')
        with open(path, 'wb') as out:
            compressor = subprocess.Popen(['zstd', '-q', '-c', '-3'],
                                          stdin=subprocess.PIPE, stdout=out)
            for _ in range(1024):
                compressor.stdin.write(b'\n' * (1024 * 1024))
            compressor.stdin.close()
            self.assertEqual(0, compressor.wait())
        self.assertLess(os.path.getsize(path), 1024 * 1024)
        self.assert_bounded(root, refused='expands past 512 MiB; refused')
