from akanda_slim.debian import target
from akanda_slim import errors
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

    def test_malformed_stanzas_refused_as_dpkg_does(self):
        cases = {
            'Status: install ok installed\nVersion: 1\n':
                "status:1: missing 'Package' field",
            'Package: a\nStatus: install ok installed\n':
                "status:1: missing 'Version' field",
            'Package: a\nStatus: installed\nVersion: 1\n':
                "second (error) word in 'Status' field: has invalid "
                "value 'ed'",
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Depends: b (>> )\n': "version '': version string is empty",
            'Package: a\nVersion: 1 2\n':
                'version string has embedded spaces',
            'Package: a\nFoo\n': "status:2: newline in field name 'Foo'",
            'Package: a\nPackage: b\n':
                "duplicate value for 'Package' field",
            ' x\nPackage: a\n': 'status:1: empty field name',
            'Package: a\nStatus: install ok bogus\nVersion: 1\n':
                "third (status) word in 'Status' field",
            'Package: a\nVersion: 1': 'missing final newline',
            'Package: a\nStatus: install ok installed\nVersion: a:any\n':
                'epoch in version is empty',
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Conffiles:\n /etc/a\n': "malformed line '/etc/a'",
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Conffiles:\n // 12\n': 'root or empty directory',
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Conffiles: x\n': "line starting with non-space 'x'",
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Descr': "end of file after field name 'Desc'",
            'Package: a\nStatus: install ok installed\nVersion: 1\n'
            'Description: x\n  ': 'missing final newline',
        }
        for text, message in cases.items():
            root = self.make_root(raw=text)
            exc = self.assertRaises(errors.StatusError, target.read_target,
                                    root)
            self.assertIn(message, str(exc))

    def test_accepted_as_dpkg_does(self):
        # dpkg keeps any Installed-Size text, and a stanza without Status
        # is a not-installed package.
        root = self.make_root(raw='Package: a\nVersion: 1\n\n'
                                  'Package: b\nStatus: install ok installed'
                                  '\nVersion: 1\nInstalled-Size: 1e400\n')
        read = target.read_target(root)
        self.assertEqual(['b'], sorted(read.packages))
        self.assertEqual(0, read.packages['b'].installed_size_kib)
        for size in ('\u00b2', '99999999999999999999', '-1', ''):
            root = self.make_root(raw='Package: b\nStatus: install ok '
                                      'installed\nVersion: 1\n'
                                      'Installed-Size: %s\n' % size)
            self.assertEqual(0, target.read_target(root).packages['b']
                             .installed_size_kib)

    def test_edges_dpkg_accepts(self):
        # measured with dpkg-query 1.21: the last byte of a file without a
        # final newline is never read; ^Z where a field would start ends
        # the stanza; a value ends at a NUL byte (a C string); a
        # two-byte field name is long enough
        head = 'Package: a\nStatus: install ok installed\nVersion: 1\n'
        for text in (head + 'D', head + 'Description: x\n ',
                     head + 'Description: x\n y\n\x1aPackage: b\n'
                     'Status: install ok installed\nVersion: 1\n',
                     head + 'Depends: b\0(>> )\n', head + '\xc4: x\n',
                     head + 'Conffiles:\n /etc/a 12 obsolete\n'
                     ' /etc/b 34 remove-on-upgrade\n'):
            target.read_target(self.make_root(raw=text))

    def test_duplicate_stanza(self):
        root = self.make_root(base.stanza('a'), base.stanza('a'))
        exc = self.assertRaises(errors.StatusError, target.read_target, root)
        self.assertIn('multiple non-coinstallable package instances',
                      str(exc))

    def test_never_autoremove_from_target_config(self):
        root = self.make_root(base.stanza('a'), apt_conf={
            '01autoremove': 'APT { NeverAutoRemove { "^a$"; }; };'})
        self.assertEqual(['^a$'], target.read_target(root).never_autoremove)
