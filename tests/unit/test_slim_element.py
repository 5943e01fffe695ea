"""The slim element's helpers: options for the core, file pruning."""

import io
import json
import os
import signal
import subprocess
import sys
import time

import fixtures
import testtools

from akanda_slim.debian import target
from akanda_slim.dib import slim_element
from akanda_slim import dib_entry
from akanda_slim import errors
from akanda_slim.slim import policy as policy_mod
from akanda_slim.slim import prune_files
from tests.unit import base

HOOK = os.path.join(os.path.dirname(__file__), '..', '..', 'elements',
                    'slim', 'post-root.d', '20-slim-packages')


def installs(root, phases):
    os.makedirs(os.path.join(root, 'tmp'), exist_ok=True)
    path = os.path.join(root, slim_element.PACKAGE_INSTALLS_JSON)
    with open(path, 'w') as out:
        json.dump(phases, out)


class OptionsTest(base.RootTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.make_root(
            base.stanza('linux-image-amd64'),
            base.stanza('linux-image-6.12.1-amd64'),
            base.stanza('linux-image-6.12.1-cloud-amd64'),
            base.stanza('linux-image-cloud-amd64'),
            base.stanza('openssh-server'), base.stanza('dnsmasq'))
        installs(self.root, {
            'install.d': {
                'install': [['dnsmasq', 'akanda-appliance'],
                            ['gcc', 'akanda-appliance'],
                            ['less', 'debian'],
                            ['linux-image-cloud-amd64', 'slim']],
                'uninstall': [['gcc', 'akanda-appliance']]}})
        self.env = {'DIB_SLIM_APPLIANCE_ELEMENTS': ' akanda-appliance'}

    def pairs(self, words):
        return [(words[i], words[i + 1]) for i in range(0, len(words), 2)]

    def test_package_installs_leave_build_only_out(self):
        self.assertEqual(
            {'akanda-appliance': ['dnsmasq'], 'debian': ['less'],
             'slim': ['linux-image-cloud-amd64']},
            slim_element.package_installs_by_element(self.root))

    def test_appliance_policy_keeps_declared_and_drops_generic_kernel(self):
        pairs = self.pairs(slim_element.options(self.root, self.env))
        self.assertIn(('--policy', 'appliance'), pairs)
        self.assertIn(('--keep', 'dnsmasq'), pairs)
        self.assertIn(('--keep', 'linux-image-cloud-amd64'), pairs)
        self.assertIn(('--keep', 'openssh-server'), pairs)
        self.assertNotIn(('--keep', 'less'), pairs)
        self.assertEqual(
            [('--remove', 'linux-image-6.12.1-amd64'),
             ('--remove', 'linux-image-amd64')],
            [p for p in pairs if p[0] == '--remove'])

    def test_recommends_without_appliance_elements(self):
        pairs = self.pairs(slim_element.options(self.root, {}))
        self.assertIn(('--policy', 'recommends'), pairs)
        self.assertNotIn(('--keep', 'dnsmasq'), pairs)

    def test_generic_kernel_and_user_patterns(self):
        env = dict(self.env, DIB_SLIM_KERNEL='generic',
                   DIB_SLIM_POLICY='recommends', DIB_SLIM_KEEP='a b*',
                   DIB_SLIM_REMOVE='c', IMAGE_ELEMENT='debian vm slim')
        pairs = self.pairs(slim_element.options(self.root, env))
        self.assertIn(('--policy', 'recommends'), pairs)
        self.assertIn(('--keep', 'linux-image-amd64'), pairs)
        self.assertIn(('--keep', 'b*'), pairs)
        # boot-critical patterns are kept when installed: no grub here
        self.assertNotIn(('--keep', 'grub-pc'), pairs)
        self.assertEqual([('--remove', 'c')],
                         [p for p in pairs if p[0] == '--remove'])

    def test_boot_critical_from_the_one_definition(self):
        self.assertEqual(['cloud-guest-utils', 'grub-efi-amd64-bin',
                          'openssh-server'],
                         slim_element.boot_keep({
                             'cloud-guest-utils', 'grub-efi-amd64-bin',
                             'openssh-server', 'linux-image-amd64', 'less'}))

    def test_cloud_kernel_missing_is_an_error(self):
        root = self.make_root(base.stanza('dpkg', Architecture='arm64'),
                              base.stanza('linux-image-arm64',
                                          Architecture='arm64'),
                              base.stanza('openssh-server',
                                          Architecture='arm64'))
        exc = self.assertRaises(errors.UsageError, slim_element.options, root,
                                {})
        self.assertIn('linux-image-cloud-arm64 is not installed', str(exc))
        self.assertIn('DIB_SLIM_KERNEL=generic', str(exc))

    def test_plan_action_prints_the_plan_json(self):
        out = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out.stream))
        self.useFixture(fixtures.EnvironmentVariable(
            'DIB_SLIM_APPLIANCE_ELEMENTS', 'akanda-appliance'))
        self.assertEqual(0, slim_element.main(['plan', self.root]))
        out.stream.seek(0)
        data = json.loads(out.stream.read())
        self.assertEqual('appliance', data['policy'])
        self.assertIn('linux-image-amd64',
                      [r['package'] for r in data['remove']])

    def test_apply_action_reads_the_database_once_before_purging(self):
        reads = []
        real_parse = target.parse_status

        def counting_parse(text, where, *args, **kwargs):
            reads.append(where)
            return real_parse(text, where, *args, **kwargs)

        def fake_apply(root, policy):
            plan = policy_mod.decide(target.read_target(root), policy)
            return plan, None

        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.debian.target.parse_status', counting_parse))
        self.useFixture(fixtures.MonkeyPatch('akanda_slim.slim.purge.apply',
                                             fake_apply))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        self.assertEqual(0, slim_element.main(['apply', self.root]))
        self.assertEqual(1, len(reads))
        self.assertEqual({}, target._REUSE)

    def test_hook_fails_when_its_helper_fails(self):
        bin_dir = self.useFixture(fixtures.TempDir()).path
        with open(os.path.join(bin_dir, 'sudo'), 'w') as sudo:
            sudo.write('#!/bin/sh\n[ "$1" = -E ] && shift\nexec "$@"\n')
        os.chmod(os.path.join(bin_dir, 'sudo'), 0o755)
        build = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(build, 'slim'))
        env = dict(os.environ, TMP_MOUNT_PATH=self.root,
                   TMP_BUILD_DIR=build, DIB_PYTHON_EXEC=sys.executable,
                   DIB_SLIM_DRY_RUN='1',
                   DIB_SLIM_APPLIANCE_ELEMENTS='akanda-appliance',
                   PATH=bin_dir + os.pathsep + os.environ['PATH'])
        for kernel, expected in (('bogus', 2), ('generic', 0)):
            env['DIB_SLIM_KERNEL'] = kernel
            result = subprocess.run(['bash', HOOK], env=env,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)
            self.assertEqual(expected, result.returncode, result.stdout)
            if expected:
                self.assertIn('DIB_SLIM_KERNEL must be cloud or generic',
                              result.stdout)
        with open(os.path.join(build, 'slim', 'packages.json')) as plan:
            self.assertEqual('appliance', json.load(plan)['policy'])

    def test_bad_kernel_flavour(self):
        self.assertRaises(errors.UsageError, slim_element.options, self.root,
                          {'DIB_SLIM_KERNEL': 'rt'})

    def test_main_prints_one_word_a_line(self):
        out = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out.stream))
        self.useFixture(fixtures.EnvironmentVariable(
            'DIB_SLIM_APPLIANCE_ELEMENTS', 'akanda-appliance'))
        self.assertEqual(0, slim_element.main(['options', self.root]))
        out.stream.seek(0)
        self.assertIn('--policy\nappliance\n', out.stream.read())


class GrowrootTest(base.RootTestCase):
    """DIB_SLIM_GROWROOT: cloud-init grows the root instead of the initrd."""

    CLOUD_CFG = ('cloud_init_modules:\n - seed_random\n - growpart\n'
                 ' - resizefs\ncloud_config_modules:\n - runcmd\n')

    def setUp(self):
        super().setUp()
        self.root = self.make_root(
            base.stanza('linux-image-cloud-amd64'),
            base.stanza('cloud-initramfs-growroot'),
            base.stanza('cloud-guest-utils'), base.stanza('xz-utils'))
        installs(self.root, {
            'pre-install.d': {'install': [['xz-utils', 'slim']]},
            'install.d': {'install': [
                ['cloud-initramfs-growroot', 'debian'],
                ['linux-image-cloud-amd64', 'slim']]}})
        self.write('etc/cloud/cloud.cfg', self.CLOUD_CFG)

    def write(self, path, text):
        path = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as out:
            out.write(text)

    def pairs(self, environ):
        words = slim_element.options(self.root, environ)
        return [(words[i], words[i + 1]) for i in range(0, len(words), 2)]

    def test_removed_when_cloud_init_grows_the_root(self):
        pairs = self.pairs({})
        self.assertIn(('--remove', 'cloud-initramfs-growroot'), pairs)
        self.assertNotIn(('--keep', 'cloud-initramfs-growroot'), pairs)
        # growpart itself (cloud-guest-utils) stays for cloud-init
        self.assertIn(('--keep', 'cloud-guest-utils'), pairs)

    def test_kept_with_initramfs(self):
        pairs = self.pairs({'DIB_SLIM_GROWROOT': 'initramfs'})
        self.assertIn(('--keep', 'cloud-initramfs-growroot'), pairs)
        self.assertNotIn(('--remove', 'cloud-initramfs-growroot'), pairs)

    def test_refused_when_cloud_init_does_not_grow_the_root(self):
        # a later cloud.cfg.d list replaces cloud.cfg's, as in cloud-init
        self.write('etc/cloud/cloud.cfg.d/95-slim.cfg',
                   'cloud_init_modules: [seed_random, growpart]\n')
        exc = self.assertRaises(errors.UsageError, slim_element.options,
                                self.root, {})
        self.assertIn('resizefs', str(exc))
        self.assertIn('DIB_SLIM_GROWROOT=initramfs', str(exc))

    def test_bad_value(self):
        self.assertRaises(errors.UsageError, slim_element.options, self.root,
                          {'DIB_SLIM_GROWROOT': 'yes'})

    def test_not_yaml_is_an_input_error(self):
        self.write('etc/cloud/cloud.cfg.d/10-bad.cfg', 'a: [\n')
        self.assertRaises(errors.InputError, slim_element.options,
                          self.root, {})

    def test_module_names_from_lists_and_pairs(self):
        self.write('etc/cloud/cloud.cfg.d/20.cfg',
                   'cloud_final_modules:\n - [scripts-user, always]\n')
        self.assertEqual({'seed_random', 'growpart', 'resizefs', 'runcmd',
                          'scripts_user'},
                         slim_element.cloud_init_modules(self.root))

    def test_packages_the_slim_element_asked_for_stay(self):
        self.assertIn(('--keep', 'xz-utils'), self.pairs({}))


class PruneTest(base.RootTestCase):

    def write(self, root, path, data='x' * 5000):
        path = os.path.join(root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as out:
            out.write(data)

    def test_prune_follows_dpkg_excludes_and_drops_caches(self):
        root = self.make_root(base.stanza('dpkg'))
        self.write(root, 'etc/dpkg/dpkg.cfg.d/00slim',
                   'path-exclude=/usr/share/doc/*\n'
                   'path-include=/usr/share/doc/*/copyright\n'
                   'path-exclude=/usr/share/locale/*\n'
                   'path-include=/usr/share/locale/en/*\n')
        for path in ('usr/share/doc/bash/README', 'usr/share/doc/bash/'
                     'copyright', 'usr/share/locale/de/LC_MESSAGES/x.mo',
                     'usr/share/locale/en/LC_MESSAGES/x.mo',
                     'var/lib/apt/lists/mirror_Packages',
                     'var/cache/apt/pkgcache.bin', 'var/log/dpkg.log',
                     'var/log/apt/history.log', 'etc/udev/hwdb.bin',
                     'var/lib/dpkg/status-old', 'var/lib/dpkg/status',
                     'var/cache/debconf/templates.dat-old',
                     'var/cache/debconf/templates.dat',
                     'usr/lib/python3/dist-packages/m/__pycache__/m.pyc'):
            self.write(root, path)
        os.makedirs(os.path.join(root, 'var/lib/apt/lists/partial'))
        freed = prune_files.prune(root, {'DIB_SLIM_PYCACHE': 'remove'})
        exists = lambda p: os.path.exists(os.path.join(root, p))  # noqa
        self.assertFalse(exists('usr/share/doc/bash/README'))
        self.assertTrue(exists('usr/share/doc/bash/copyright'))
        self.assertFalse(exists('usr/share/locale/de/LC_MESSAGES/x.mo'))
        self.assertTrue(exists('usr/share/locale/en/LC_MESSAGES/x.mo'))
        self.assertFalse(exists('var/lib/apt/lists/mirror_Packages'))
        self.assertTrue(exists('var/lib/apt/lists/partial'))
        self.assertFalse(exists('var/cache/apt/pkgcache.bin'))
        self.assertFalse(exists('var/log/dpkg.log'))
        self.assertFalse(exists('var/log/apt/history.log'))
        self.assertTrue(exists('var/log/apt'))
        self.assertFalse(exists('etc/udev/hwdb.bin'))
        self.assertFalse(exists('var/lib/dpkg/status-old'))
        self.assertTrue(exists('var/lib/dpkg/status'))
        self.assertFalse(exists('var/cache/debconf/templates.dat-old'))
        self.assertTrue(exists('var/cache/debconf/templates.dat'))
        self.assertFalse(exists('usr/lib/python3/dist-packages/m/'
                                '__pycache__'))
        self.assertEqual({'apt lists and caches', 'build logs',
                          'database backups', 'dpkg path excludes',
                          'python bytecode caches', 'udev hwdb'}, set(freed))
        self.assertGreater(freed['dpkg path excludes'], 0)

    def test_apt_lists_stay_for_the_bootloader_element(self):
        root = self.make_root(base.stanza('dpkg'))
        self.write(root, 'var/lib/apt/lists/mirror_Packages')
        environ = {'IMAGE_ELEMENT': 'debian vm bootloader slim'}
        freed = prune_files.prune(root, environ)
        self.assertNotIn('apt lists and caches', freed)
        self.assertTrue(os.path.exists(os.path.join(
            root, 'var/lib/apt/lists/mirror_Packages')))

    def test_pycache_kept_by_default(self):
        root = self.make_root(base.stanza('dpkg'))
        self.write(root, 'usr/lib/python3/dist-packages/m/__pycache__/m.pyc')
        freed = prune_files.prune(root, {})
        self.assertNotIn('python bytecode caches', freed)
        self.assertTrue(os.path.exists(os.path.join(
            root, 'usr/lib/python3/dist-packages/m/__pycache__/m.pyc')))


class PruneConfinedTest(base.RootTestCase):
    """prune never follows a target symlink or ``..`` onto the host."""

    def setUp(self):
        super().setUp()
        self.root = self.make_root(base.stanza('dpkg'))
        self.sentinel = self.useFixture(fixtures.TempDir()).path
        for name in ('README', 'journal/system.journal', 'dpkg.log',
                     'hwdb.bin', 'status-old', 'templates.dat-old',
                     'X/file', 'apt/history.log', 'lists/m_Packages'):
            PruneTest.write(self, self.sentinel, name)
        self.before = self.snapshot()

    def snapshot(self):
        found = []
        for top, dirs, files in os.walk(self.sentinel):
            found += [os.path.join(top, n) for n in dirs + files]
        return sorted(found)

    def link(self, path, target):
        path = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)
        os.symlink(target, path)

    def excludes(self, *patterns):
        PruneTest.write(self, self.root, 'etc/dpkg/dpkg.cfg.d/00slim',
                        ''.join('path-exclude=%s\n' % p for p in patterns))

    def test_symlinked_doc_directory(self):
        self.excludes('/usr/share/doc/*')
        for link in (self.sentinel, '../../..' + self.sentinel):
            self.link('usr/share/doc', link)
            prune_files.prune(self.root, {'DIB_SLIM_PYCACHE': 'remove'})
            self.assertEqual(self.before, self.snapshot())
            os.unlink(os.path.join(self.root, 'usr/share/doc'))

    def test_dotdot_in_a_pattern_is_refused(self):
        self.excludes('/../%s/X/*' % self.sentinel.strip('/'))
        exc = self.assertRaises(errors.InputError, prune_files.prune,
                                self.root, {})
        self.assertIn('".."', str(exc))
        self.assertEqual(self.before, self.snapshot())

    def test_symlinked_log_udev_dpkg_and_cache_directories(self):
        self.excludes('/usr/share/doc/*')
        os.unlink(os.path.join(self.root, 'var/lib/dpkg/status'))
        os.rmdir(os.path.join(self.root, 'var/lib/dpkg'))
        for path in ('var/log', 'etc/udev', 'var/lib/dpkg', 'var/cache',
                     'var/lib/apt/lists', 'usr/lib/python3'):
            self.link(path, self.sentinel)
        freed = prune_files.prune(self.root, {'DIB_SLIM_PYCACHE': 'remove'})
        self.assertEqual(self.before, self.snapshot())
        self.assertEqual(0, sum(freed.values()))

    def test_slim_element_prune_refuses_in_one_line(self):
        self.excludes('/usr/../etc/*')
        err = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err.stream))
        self.assertEqual(2, slim_element.main(['prune', self.root]))
        err.stream.seek(0)
        self.assertEqual(1, len(err.stream.read().splitlines()))


class EntryBoundaryTest(testtools.TestCase):
    """The hooks' modules end in one line and an exit code, as the CLI."""

    def run_entry(self, function):
        err = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err.stream))
        code = dib_entry.run(function)
        err.stream.seek(0)
        return code, err.stream.read().splitlines()

    def test_internal_error_is_one_line_exit_1(self):
        code, lines = self.run_entry(lambda: {}['missing'])
        self.assertEqual(1, code)
        self.assertEqual(["akanda-slim: error: internal error: KeyError: "
                          "'missing'"], lines)

    def test_ctrl_c_is_130(self):
        def interrupted():
            raise KeyboardInterrupt()
        self.assertEqual((130, ['akanda-slim: interrupted']),
                         self.run_entry(interrupted))

    def test_sigterm_unwinds_as_one_line(self):
        def terminated():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        code, lines = self.run_entry(terminated)
        self.assertEqual(128 + signal.SIGTERM, code)
        self.assertEqual(['akanda-slim: error: interrupted by SIGTERM'],
                         lines)
