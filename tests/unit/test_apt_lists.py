"""apt's cache view of a target: Priority and flags from its indexes."""

import gzip
import os

from akanda_slim import apt_lists
from akanda_slim import errors
from akanda_slim import policy
from akanda_slim import target
from tests.unit import base

S = base.stanza
SOURCE = 'deb [signed-by=/k.gpg] http://mirror.example/debian fuzz main\n'
LIST = 'mirror.example_debian_dists_fuzz_main_binary-amd64_Packages'


def index_stanza(name, version='1.0', **fields):
    """A Packages index stanza (no Status; Filename and Size as archives)."""
    text = S(name, version, **fields).replace(
        'Status: install ok installed\n', '')
    return text + 'Filename: pool/%s.deb\nSize: 1000\n' % name


class IndexMergeTest(base.RootTestCase):

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
