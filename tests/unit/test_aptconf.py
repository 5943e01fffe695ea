import os

import fixtures
import testtools

from akanda_slim.debian import aptconf
from akanda_slim import errors


class AptConfTest(testtools.TestCase):

    def test_block_and_append_syntax(self):
        config = aptconf.parse('''
            // comment
            APT {
              NeverAutoRemove { "^linux-image-.*"; "^foo$"; };
            };
            # comment
            APT::NeverAutoRemove:: "^bar$";
            /* block
               comment */
            APT::Install-Recommends "false";
            ''', {})
        self.assertEqual(['^linux-image-.*', '^foo$', '^bar$'],
                         aptconf.get_list(config, 'apt::neverautoremove'))
        self.assertEqual(['false'],
                         aptconf.get_list(config, 'APT::Install-Recommends'))

    def test_clear(self):
        config = aptconf.parse('APT::NeverAutoRemove:: "a";\n'
                               '#clear APT::NeverAutoRemove;\n'
                               'APT::NeverAutoRemove:: "b";\n', {})
        self.assertEqual(['b'],
                         aptconf.get_list(config, 'APT::NeverAutoRemove'))

    def test_unbalanced_is_an_error(self):
        self.assertRaises(errors.StatusError, aptconf.parse,
                          'APT { Foo "1";', {})
        self.assertRaises(errors.StatusError, aptconf.parse, '};', {})

    def test_reads_parts_like_apt(self):
        root = self.useFixture(fixtures.TempDir()).path
        parts = os.path.join(root, 'etc/apt/apt.conf.d')
        os.makedirs(parts)
        for name, value in (('10a', 'a'), ('20b.conf', 'b'),
                            ('30c.dpkg-old', 'c'), ('40d.disabled', 'd'),
                            ('50e.txt', 'e')):
            with open(os.path.join(parts, name), 'w') as part:
                part.write('APT::NeverAutoRemove:: "%s";' % value)
        with open(os.path.join(root, 'etc/apt/apt.conf'), 'w') as main:
            main.write('APT::NeverAutoRemove:: "z";')
        config = aptconf.read_config(root)
        self.assertEqual(['a', 'b', 'z'],
                         aptconf.get_list(config, 'APT::NeverAutoRemove'))

    def test_symlinks_resolve_inside_the_root_and_fifos_are_refused(self):
        root = self.useFixture(fixtures.TempDir()).path
        parts = os.path.join(root, 'etc/apt/apt.conf.d')
        os.makedirs(parts)
        with open(os.path.join(root, 'inside.conf'), 'w') as conf:
            conf.write('APT::NeverAutoRemove:: "^inside$";\n')
        # absolute: the root's /inside.conf, never the host's
        os.symlink('/inside.conf', os.path.join(parts, '10link'))
        self.assertEqual(['^inside$'], aptconf.get_list(
            aptconf.read_config(root), 'APT::NeverAutoRemove'))
        os.mkfifo(os.path.join(parts, '20fifo'))
        exc = self.assertRaises(errors.InputError, aptconf.read_config,
                                root)
        self.assertIn('not a regular file', str(exc))
