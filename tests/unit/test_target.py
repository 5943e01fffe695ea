from akanda_slim import errors
from akanda_slim import target
from tests.unit import base


class ReadTargetTest(base.RootTestCase):

    def test_installed_config_files_and_auto_marks(self):
        root = self.make_root(
            base.stanza('dpkg', Priority='required'),
            base.stanza('a', Installed_Size='12', Important='yes'),
            base.stanza('old', status='deinstall ok config-files'),
            base.stanza('gone', status='purge ok not-installed'),
            auto=['a'])
        t = target.read_target(root)
        self.assertEqual(['a', 'dpkg'], sorted(t.packages))
        self.assertEqual(['old'], list(t.config_files))
        self.assertTrue(t.packages['a'].auto)
        self.assertFalse(t.packages['dpkg'].auto)
        self.assertTrue(t.packages['a'].protected)
        self.assertEqual(12, t.packages['a'].installed_size_kib)
        self.assertEqual('amd64', t.architecture)

    def test_foreign_architecture_is_keyed_with_arch(self):
        root = self.make_root(
            base.stanza('dpkg'), base.stanza('libc6', Multi_Arch='same'),
            base.stanza('libc6', Architecture='i386', Multi_Arch='same'))
        self.assertEqual(['dpkg', 'libc6', 'libc6:i386'],
                         sorted(target.read_target(root).packages))

    def test_unfinished_states_are_refused_by_name(self):
        for state in ('half-installed', 'unpacked', 'half-configured'):
            root = self.make_root(
                base.stanza('dpkg'),
                base.stanza('broken', status='install ok %s' % state))
            exc = self.assertRaises(errors.UnsafeStateError,
                                    target.read_target, root)
            self.assertIn('broken is %s' % state, str(exc))

    def test_missing_root_and_database(self):
        self.assertRaises(errors.TargetError, target.read_target,
                          '/nonexistent/root')
        root = self.make_root(base.stanza('dpkg'))
        exc = self.assertRaises(errors.TargetError, target.read_target,
                                root + '/etc')
        self.assertIn('no dpkg database', str(exc))

    def test_malformed_stanzas(self):
        cases = {
            'Status: install ok installed\nVersion: 1\n': 'without Package',
            'Package: a\nVersion: 1\n': 'without Status',
            'Package: a\nStatus: install ok installed\n':
                'installed without Version',
            'Package: a\nStatus: installed\nVersion: 1\n':
                'malformed Status',
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Installed-Size: big\n': 'malformed Installed-Size',
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Depends: b (>> )\n': 'malformed Depends',
        }
        for text, message in cases.items():
            root = self.make_root(raw=text)
            exc = self.assertRaises(errors.StatusError, target.read_target,
                                    root)
            self.assertIn(message, str(exc))

    def test_duplicate_stanza(self):
        root = self.make_root(base.stanza('a'), base.stanza('a'))
        exc = self.assertRaises(errors.StatusError, target.read_target, root)
        self.assertIn('duplicate stanza for a', str(exc))

    def test_never_autoremove_from_target_config(self):
        root = self.make_root(base.stanza('a'), apt_conf={
            '01autoremove': 'APT { NeverAutoRemove { "^a$"; }; };'})
        self.assertEqual(['^a$'], target.read_target(root).never_autoremove)
