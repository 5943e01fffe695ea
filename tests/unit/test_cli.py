import io
import json
import os
import subprocess
import sys
from unittest import mock

import fixtures
import testtools

from akanda_slim import cli
from akanda_slim import commands
from tests.unit import base

S = base.stanza


class CliTest(base.RootTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.make_root(
            S('dpkg', Priority='required', Essential='yes'),
            S('app', Recommends='docs', Depends='lib'),
            S('lib', Installed_Size='100'), S('docs', Installed_Size='2048'),
            auto=['lib', 'docs'])

    def main(self, *argv):
        out = self.useFixture(fixtures.MonkeyPatch('sys.stdout',
                                                   io.StringIO())).new_value
        err = self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                                   io.StringIO())).new_value
        code = cli.main(list(argv))
        return code, out.getvalue(), err.getvalue()

    def test_plan_table(self):
        code, out, _err = self.main('plan', '--root', self.root)
        self.assertEqual(0, code)
        self.assertIn('docs', out)
        self.assertIn('only recommended by app', out)
        self.assertIn('remove:', out)

    def test_plan_json_schema(self):
        code, out, _err = self.main('plan', '--root', self.root, '--json')
        data = json.loads(out)
        self.assertEqual(0, code)
        self.assertEqual('akanda-slim', data['tool'])
        self.assertEqual('recommends', data['policy'])
        self.assertEqual([{'package': 'docs', 'version': '1.0',
                           'installed_size_kib': 2048,
                           'reason': 'only recommended by app',
                           'reason_code': 'recommended-only'}],
                         data['remove'])
        self.assertEqual(['app', 'dpkg', 'lib'], data['keep'])
        self.assertEqual({'packages': 1, 'installed_size_kib': 2048},
                         data['totals']['remove'])
        self.assertIn('version', data)
        self.assertIn('roots', data)

    def test_why(self):
        code, out, _err = self.main('why', 'lib', '--root', self.root)
        self.assertEqual(0, code)
        self.assertEqual('app  (root: manually installed)\n'
                         '  lib  (app Depends: lib)\n', out)
        code, out, _err = self.main('why', 'docs', '--root', self.root)
        self.assertIn('docs is removed by policy recommends', out)

    def test_user_errors_are_one_line_without_traceback(self):
        for argv in (('plan', '--root', '/nonexistent'),
                     ('why', 'nope', '--root', self.root),
                     ('plan', '--root', self.root, '--remove', 'lib')):
            code, out, err = self.main(*argv)
            self.assertNotEqual(0, code)
            self.assertEqual(1, len(err.strip().splitlines()), err)
            self.assertIn('akanda-slim: error:', err)
            self.assertNotIn('Traceback', err)

    def test_malformed_status_is_an_error(self):
        root = self.make_root(raw='Package: x\nStatus: install ok installed'
                                  '\nVersion: 1\nDepends: a (>>)\n')
        code, _out, err = self.main('plan', '--root', root)
        self.assertEqual(2, code)
        self.assertIn("status:4: 'Depends' field, reference to 'a'", err)

    def test_warning_for_pattern_matching_nothing(self):
        code, _out, err = self.main('plan', '--root', self.root,
                                    '--keep', 'nothing-*')
        self.assertEqual(0, code)
        self.assertIn('--keep nothing-* matches no installed package', err)

    def test_version_with_a_space_is_refused_cleanly(self):
        root = self.make_root(raw='Package: x\nStatus: install ok installed'
                                  '\nVersion: 1 2\n')
        code, _out, err = self.main('plan', '--root', root)
        self.assertEqual(2, code)
        self.assertEqual(1, len(err.strip().splitlines()), err)
        self.assertIn('status:3', err)

    def test_fifo_status_is_refused(self):
        os.remove(os.path.join(self.root, 'var/lib/dpkg/status'))
        os.mkfifo(os.path.join(self.root, 'var/lib/dpkg/status'))
        code, _out, err = self.main('plan', '--root', self.root)
        self.assertEqual(2, code)
        self.assertIn('akanda-slim: error:', err)

    def test_unexpected_exception_is_one_line_exit_1(self):
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.slim.policy_options.read_and_decide',
            mock.Mock(side_effect=KeyError('boom'))))
        code, _out, err = self.main('plan', '--root', self.root)
        self.assertEqual(1, code)
        self.assertEqual("akanda-slim: error: internal error: KeyError: "
                         "'boom'\n", err)
        code, _out, err = self.main('-v', 'plan', '--root', self.root)
        self.assertEqual(1, code)
        self.assertIn('Traceback', err)

    def test_broken_pipe_is_quiet(self):
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.slim.policy_options.read_and_decide',
            mock.Mock(side_effect=BrokenPipeError())))
        code, _out, err = self.main('plan', '--root', self.root)
        self.assertEqual(141, code)
        self.assertEqual('', err)

    def test_interrupt_exits_130(self):
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.slim.policy_options.read_and_decide',
            mock.Mock(side_effect=KeyboardInterrupt())))
        code, _out, _err = self.main('plan', '--root', self.root)
        self.assertEqual(130, code)


class LazyCommandsTest(testtools.TestCase):

    def test_every_command_has_a_literal_help(self):
        for name, module_name in commands.names().items():
            self.assertEqual(commands.load(module_name).HELP,
                             commands.help_text(module_name), name)

    def test_only_the_chosen_command_is_imported(self):
        script = ('import sys; from akanda_slim import cli; '
                  'cli.build_parser(["plan", "--root", "/"]); '
                  'print(sorted(m for m in sys.modules '
                  'if m.startswith("akanda_slim.commands.")))')
        out = subprocess.run([sys.executable, '-c', script], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        self.assertEqual("['akanda_slim.commands.plan']\n", out)

    def test_top_level_help_lists_every_command(self):
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.assertRaises(SystemExit, cli.main, ['--help'])
        for name in commands.names():
            self.assertIn(name, out.getvalue())

    def test_command_after_global_flag(self):
        self.assertEqual('plan', cli.chosen_command(['-v', 'plan'],
                                                    {'plan': 'plan'}))
        self.assertIsNone(cli.chosen_command(['-h', 'plan'],
                                             {'plan': 'plan'}))

    def test_version(self):
        out = io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', out))
        exc = self.assertRaises(SystemExit, cli.main, ['--version'])
        self.assertEqual(0, exc.code)
        self.assertRegex(out.getvalue(), r'^akanda-slim \S+\n$')


class UnfinishedDpkgTest(base.RootTestCase):

    def test_plan_refuses_with_the_command_that_finishes_it(self):
        root = self.make_root(S('a'), S('b', status='install ok unpacked'))
        code, _out, err = CliTest.main(self, 'plan', '--root', root)
        self.assertEqual(1, code)
        self.assertIn('dpkg --configure', err)
        root = self.make_root(S('a'))
        os.makedirs(os.path.join(root, 'var/lib/dpkg/updates'))
        with open(os.path.join(root, 'var/lib/dpkg/updates/0001'), 'w') as j:
            j.write('Package: a\n')
        code, _out, err = CliTest.main(self, 'plan', '--root', root)
        self.assertEqual(1, code)
        self.assertIn('dpkg --configure -a', err)
