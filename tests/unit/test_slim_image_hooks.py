"""The slim element's in-image hooks (post-install.d, finalise.d).

DIB runs them inside the image as root. Here each runs in a private mount
namespace whose /etc, /usr and /var are overlays on the host's (writes go
to a scratch directory, the host's files stay as they are), with a fake
``systemctl`` that records what it was asked. The Python files they run
(slim-python/) are tested directly.
"""

import os
import shutil
import subprocess
import sys

import fixtures
import testtools

from akanda_slim.dib import element_python
from tests.unit import test_slim_hooks

OVERLAID = ('etc', 'usr', 'var')


def _namespace_reason():
    if os.geteuid() != 0:
        return 'needs root (a mount namespace with overlays)'
    if not shutil.which('unshare'):
        return 'needs unshare (util-linux)'
    return None


class ImageHookCase(testtools.TestCase):
    """Runs one in-image hook of ``element`` after sourcing ``environment``."""

    element = test_slim_hooks.ELEMENT
    environment = test_slim_hooks.ENVIRONMENT

    def setUp(self):
        super().setUp()
        reason = _namespace_reason()
        if reason:
            self.skipTest(reason)
        self.scratch = os.path.realpath(
            self.useFixture(fixtures.TempDir()).path)
        bin_dir = os.path.join(self.scratch, 'bin')
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, 'systemctl'), 'w') as fake:
            fake.write('#!/bin/sh\necho "$@" >> %s/systemctl.log\n'
                       % self.scratch)
        os.chmod(os.path.join(bin_dir, 'systemctl'), 0o755)
        self.path = bin_dir + os.pathsep + os.environ['PATH']

    def run_hook(self, hook, prepare='', **env):
        """Run ``hook``; ``prepare`` is shell run in the namespace first."""
        mounts = []
        for top in OVERLAID:
            for part in ('up', 'work'):
                os.makedirs(os.path.join(self.scratch, top + '-' + part),
                            exist_ok=True)
            mounts.append(
                'mount -t overlay overlay -o lowerdir=/{0},upperdir={1}/'
                '{0}-up,workdir={1}/{0}-work /{0}'.format(top, self.scratch))
        script = ' && '.join(mounts + [prepare or 'true']) + (
            ' && set -a && . "$1" && set +a && exec bash "$2"')
        result = subprocess.run(
            ['unshare', '--mount', '--propagation', 'private', 'bash', '-c',
             script, 'hook', self.environment,
             os.path.join(self.element, hook)],
            env=dict(os.environ, PATH=self.path, **env),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=120)
        return result

    def written(self, path):
        """The content the hook wrote to ``path`` (absolute), or None."""
        top, _, rest = path.lstrip('/').partition('/')
        full = os.path.join(self.scratch, top + '-up', rest)
        if not os.path.isfile(full):
            return None
        with open(full) as f:
            return f.read()

    def mode(self, path):
        top, _, rest = path.lstrip('/').partition('/')
        return os.stat(os.path.join(self.scratch, top + '-up',
                                    rest)).st_mode & 0o777

    def enabled(self):
        log = os.path.join(self.scratch, 'systemctl.log')
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return f.read().splitlines()


class SwapHooksTest(ImageHookCase):

    def test_zram_swap(self):
        result = self.run_hook('post-install.d/74-slim-zram-swap')
        self.assertEqual(0, result.returncode, result.stdout)
        unit = self.written('/etc/systemd/system/slim-zram-swap.service')
        self.assertIn('EnvironmentFile=/etc/default/slim-zram-swap\n', unit)
        self.assertTrue(unit.endswith('[Unit]\nConditionMemory=<512M\n'
                                      'ConditionMemory=>=64M\n'), unit)
        self.assertEqual('SLIM_ZRAM_SWAP_PERCENT=150\n',
                         self.written('/etc/default/slim-zram-swap'))
        self.assertEqual(0o755, self.mode('/usr/local/libexec/'
                                          'slim-zram-swap'))
        self.assertEqual(['enable slim-zram-swap.service'], self.enabled())

    def test_zram_swap_settings(self):
        result = self.run_hook('post-install.d/74-slim-zram-swap',
                               DIB_SLIM_ZRAM_SWAP_BELOW='',
                               DIB_SLIM_SWAP_FILE='')
        self.assertEqual(0, result.returncode, result.stdout)
        unit = self.written('/etc/systemd/system/slim-zram-swap.service')
        self.assertNotIn('ConditionMemory', unit)
        result = self.run_hook('post-install.d/74-slim-zram-swap',
                               DIB_SLIM_ZRAM_SWAP='lots')
        self.assertEqual(1, result.returncode)
        self.assertIn('must be a percentage', result.stdout)
        self.run_hook('post-install.d/74-slim-zram-swap',
                      DIB_SLIM_ZRAM_SWAP='')
        self.assertEqual(['enable slim-zram-swap.service'], self.enabled())

    def test_swap_file(self):
        result = self.run_hook('post-install.d/76-slim-swap-file',
                               DIB_SLIM_SWAP_FILE='48')
        self.assertEqual(0, result.returncode, result.stdout)
        unit = self.written('/etc/systemd/system/slim-swap-file.service')
        self.assertIn('EnvironmentFile=/etc/default/slim-swap-file\n', unit)
        self.assertTrue(unit.endswith('[Unit]\nConditionMemory=<64M\n'))
        self.assertEqual('SLIM_SWAP_FILE_MIB=48\n',
                         self.written('/etc/default/slim-swap-file'))
        self.assertEqual(['enable slim-swap-file.service'], self.enabled())
        result = self.run_hook('post-install.d/76-slim-swap-file',
                               DIB_SLIM_SWAP_FILE_BELOW='0')
        self.assertEqual(1, result.returncode)
        self.assertIn("DIB_SLIM_SWAP_FILE_BELOW must be MiB", result.stdout)

    def test_swap_scripts_read_their_environment_file(self):
        # The static scripts with their settings from the environment,
        # against fake tools: the arithmetic the units used to inline.
        bin_dir = os.path.join(self.scratch, 'tools')
        os.makedirs(bin_dir)
        for tool, body in (('df', 'echo h; echo "x 1 2 1000 x /"'),
                           ('fallocate', 'echo "fallocate $*" >&2'),
                           ('mkswap', 'true'), ('swapon', 'true'),
                           ('chmod', 'true'), ('mv', 'true'),
                           ('mkdir', 'true'), ('rm', 'true')):
            with open(os.path.join(bin_dir, tool), 'w') as f:
                f.write('#!/bin/sh\n%s\n' % body)
            os.chmod(os.path.join(bin_dir, tool), 0o755)
        script = os.path.join(test_slim_hooks.ELEMENT, 'slim-files/usr/local/'
                              'libexec/slim-swap-file')
        with open(script) as f:
            text = f.read().replace('/proc/sys/vm/swappiness', '/dev/null')
        result = subprocess.run(
            ['sh', '-c', text], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, SLIM_SWAP_FILE_MIB='64',
                     PATH=bin_dir + os.pathsep + os.environ['PATH']))
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('fallocate -l 64M /var/lib/slim-swap/swapfile.new',
                      result.stdout)
        result = subprocess.run(['sh', '-c', text], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                env={'PATH': os.environ['PATH']})
        self.assertNotEqual(0, result.returncode)
        self.assertIn('SLIM_SWAP_FILE_MIB', result.stdout)


class ConfigHooksTest(ImageHookCase):

    def test_ssh_host_key_types(self):
        result = self.run_hook(
            'post-install.d/71-slim-ssh-host-keys',
            prepare='mkdir -p /etc/cloud/cloud.cfg.d /usr/lib/systemd/system'
            ' && touch /usr/lib/systemd/system/sshd-keygen.service',
            DIB_SLIM_SSH_HOST_KEY_TYPES='ed25519 ecdsa')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('ssh_genkeytypes: [ed25519, ecdsa]', self.written(
            '/etc/cloud/cloud.cfg.d/95-slim-ssh-host-keys.cfg'))
        self.assertIn('HostKey /etc/ssh/ssh_host_ecdsa_key\n', self.written(
            '/etc/ssh/sshd_config.d/slim-host-keys.conf'))
        dropin = self.written('/etc/systemd/system/sshd-keygen.service.d/'
                              'slim-key-types.conf')
        self.assertEqual(3, dropin.count('ExecStart='), dropin)

    def test_transparent_hugepage(self):
        result = self.run_hook('post-install.d/73-slim-transparent-hugepage')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('transparent_hugepage/enabled - - - - never',
                      self.written('/etc/tmpfiles.d/'
                                   'slim-transparent-hugepage.conf'))

    def test_machine_id(self):
        result = self.run_hook(
            'finalise.d/99-slim-machine-id',
            prepare='echo uninitialized > /etc/machine-id && mkdir -p '
            '/usr/lib/systemd/system && touch '
            '/usr/lib/systemd/system/sshd-keygen.service')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual('', self.written('/etc/machine-id'))
        self.assertIn('ConditionFirstBoot=\n', self.written(
            '/etc/systemd/system/sshd-keygen.service.d/slim-any-boot.conf'))

    def test_apt_lists(self):
        result = self.run_hook(
            'finalise.d/99-slim-apt-lists',
            prepare='mkdir -p /var/lib/apt/lists/partial /var/cache/apt && '
            'touch /var/lib/apt/lists/lock /var/lib/apt/lists/m_Packages '
            '/var/cache/apt/pkgcache.bin')
        self.assertEqual(0, result.returncode, result.stdout)
        upper = os.path.join(self.scratch, 'var-up')
        for path, regular in (('lib/apt/lists/m_Packages', False),
                              ('cache/apt/pkgcache.bin', False),
                              ('lib/apt/lists/lock', True)):
            full = os.path.join(upper, path)
            self.assertEqual(regular, os.path.isfile(full), path)


class CloudInitAndLocaleHooksTest(ImageHookCase):

    def test_cloud_init_modules(self):
        # python3 in the image: this Python (it has yaml, as cloud-init's).
        os.symlink(sys.executable, os.path.join(self.scratch, 'bin',
                                                'python3'))
        result = self.run_hook(
            'post-install.d/70-slim-cloud-init-modules',
            prepare='mkdir -p /etc/cloud/cloud.cfg.d && printf '
            '"cloud_init_modules:\\n - growpart\\n - ssh-import-id\\n"'
            ' > /etc/cloud/cloud.cfg',
            DIB_SLIM_CLOUD_INIT_MODULES_DROP='ssh_import_id puppet')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('cloud_init_modules: dropped ssh_import_id',
                      result.stdout)
        self.assertIn('cloud_init_modules:\n- growpart\n', self.written(
            '/etc/cloud/cloud.cfg.d/95-slim-cloud-init-modules.cfg'))

    def test_locale_gen_empty(self):
        if not shutil.which('debconf-set-selections'):
            self.skipTest('needs debconf-set-selections (debconf)')
        result = self.run_hook(
            'post-install.d/75-slim-locale-gen',
            prepare='printf "en_US.UTF-8 UTF-8\\n# de_DE ISO-8859-1\\n" '
            '> /etc/locale.gen')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual('# en_US.UTF-8 UTF-8\n# de_DE ISO-8859-1\n',
                         self.written('/etc/locale.gen'))


class CloudInitPythonTest(testtools.TestCase):
    """slim-python/slim_cloud_init.py: the override 70 writes."""

    def setUp(self):
        super().setUp()
        self.module = element_python.load('slim_cloud_init')

    def test_drop_modules(self):
        config = {'cloud_init_modules': ['seed_random',
                                         ['ssh-import-id', 'always']],
                  'cloud_final_modules': ['final-message'],
                  'other': 1}
        kept, gone = self.module.drop_modules(config, ['ssh_import_id'])
        self.assertEqual({'cloud_init_modules': ['seed_random'],
                          'cloud_config_modules': [],
                          'cloud_final_modules': ['final-message']}, kept)
        self.assertEqual(['ssh_import_id'], gone['cloud_init_modules'])

    def test_module_name(self):
        self.assertEqual('a_b', self.module.module_name(['a-b', 'always']))
        self.assertIsNone(self.module.module_name([]))
        self.assertIsNone(self.module.module_name(3))

    def test_main_writes_the_override(self):
        work = self.useFixture(fixtures.TempDir()).path
        source = os.path.join(work, 'cloud.cfg')
        with open(source, 'w') as f:
            f.write('cloud_config_modules:\n - locale\n - runcmd\n')
        target = os.path.join(work, '95.cfg')
        out = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out.stream))
        self.assertEqual(0, self.module.main([source, target, 'locale']))
        with open(target) as f:
            text = f.read()
        self.assertIn('cloud_config_modules:\n- runcmd\n', text)
        out.stream.seek(0)
        self.assertIn('cloud_config_modules: dropped locale',
                      out.stream.read())


class PycachePythonTest(testtools.TestCase):
    """slim-python/slim_pycache.py: bytecode kept for what was imported."""

    def setUp(self):
        super().setUp()
        sys.path.insert(0, os.path.dirname(element_python.path(
            'slim_cloud_init')))
        self.addCleanup(sys.path.remove, sys.path[0])
        self.module = element_python.load('slim_pycache')

    def test_expand_and_failures(self):
        self.assertEqual(['json'], self.module.expand('json'))
        self.assertIn('json.decoder', self.module.expand('json.de*'))
        failed = self.module.import_all(['json', 'no_such_module_here'])
        self.assertEqual(1, len(failed))
        self.assertIn('no_such_module_here', failed[0])

    def test_prune_keeps_only_imported_caches(self):
        work = self.useFixture(fixtures.TempDir()).path
        kept = os.path.join(work, 'lib/python3/a/__pycache__/a.pyc')
        gone = os.path.join(work, 'lib/python3/b/__pycache__/b.pyc')
        for path in (kept, gone):
            os.makedirs(os.path.dirname(path))
            open(path, 'w').close()
        counts = self.module.prune(
            {os.path.realpath(kept)},
            files=os.path.join(work, 'lib/python3*/**/__pycache__/*.pyc'),
            dirs=os.path.join(work, 'lib/python3*/**/__pycache__'))
        self.assertEqual((1, 1), counts)
        self.assertTrue(os.path.exists(kept))
        self.assertFalse(os.path.exists(os.path.dirname(gone)))
