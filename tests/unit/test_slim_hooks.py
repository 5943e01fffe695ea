"""The slim element's hooks, run with a fake sudo against scratch roots.

Each hook that changes the target is run as DIB runs it (the element's
environment.d sourced first), with ``sudo`` a script that runs its command
as the current user and ``DIB_PYTHON_EXEC`` this Python. Hostile targets
have their directories replaced by absolute and relative symlinks to a
sentinel directory outside the root: the sentinel must not change.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import time

import fixtures
import testtools

SOURCE = os.path.realpath(os.path.join(os.path.dirname(__file__), '..', '..'))
ELEMENT = os.path.join(SOURCE, 'elements', 'slim')
ENVIRONMENT = os.path.join(ELEMENT, 'environment.d', '10-slim.bash')
FAKE_SUDO = '#!/bin/sh\n[ "$1" = -E ] && shift\nexec "$@"\n'


def snapshot(top):
    """{relative path: (mode, content or link target)} of a tree."""
    found = {}
    for path, dirs, files in os.walk(top):
        for name in dirs + files:
            full = os.path.join(path, name)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                data = os.readlink(full)
            elif stat.S_ISREG(info.st_mode):
                with open(full, 'rb') as f:
                    data = f.read()
            else:
                data = None
            found[os.path.relpath(full, top)] = (info.st_mode, data)
    return found


class HookCase(testtools.TestCase):
    """Scratch root, sentinel, fake sudo; ``run_hook`` runs one hook."""

    def setUp(self):
        super().setUp()
        self.base = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        self.root = os.path.join(self.base, 'root')
        self.sentinel = os.path.join(self.base, 'sentinel')
        self.build = os.path.join(self.base, 'build')
        for path in (self.root, self.sentinel, self.build + '/slim'):
            os.makedirs(path, exist_ok=True)
        for name in ('host.service', 'conf.d/slim', 'hooks/slim-modules',
                     'hooks.middle/x', 'apt.conf.d/00slim-no-recommends',
                     'vmlinuz-1', 'systemd-update-done'):
            path = os.path.join(self.sentinel, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write('host file\n')
            os.chmod(path, 0o755)
        self.before = snapshot(self.sentinel)
        bin_dir = os.path.join(self.base, 'bin')
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, 'sudo'), 'w') as sudo:
            sudo.write(FAKE_SUDO)
        os.chmod(os.path.join(bin_dir, 'sudo'), 0o755)
        self.env = dict(
            os.environ, TARGET_ROOT=self.root, TMP_MOUNT_PATH=self.root,
            TMP_BUILD_DIR=self.build, DIB_PYTHON_EXEC=sys.executable,
            IMAGE_ELEMENT='debian baremetal slim', DIB_SLIM_DRY_RUN='0',
            IMAGE_NAME=os.path.join(self.base, 'out', 'img'),
            DIB_MANIFEST_IMAGE_DIR='/etc/dib-manifests',
            PYTHONPATH=SOURCE,
            PATH=bin_dir + os.pathsep + os.environ['PATH'])

    def run_hook(self, hook, **env):
        environ = dict(self.env, **env)
        return subprocess.run(
            ['bash', '-c', 'set -a; . "$1"; set +a; exec bash "$2"',
             'hook', ENVIRONMENT, os.path.join(ELEMENT, hook)],
            env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=120)

    def link(self, path, target):
        """Make ``path`` in the root a symlink to ``target``."""
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        elif os.path.lexists(full):
            os.unlink(full)
        os.symlink(target, full)

    def hostile_targets(self, path):
        """Absolute and relative links from ``path`` to the sentinel."""
        depth = path.count('/') + 1
        return (self.sentinel,
                '../' * (depth + 1) + 'sentinel',
                '../' * (depth + 8) + self.sentinel.lstrip('/'))

    def assertSentinelUnchanged(self):
        self.assertEqual(self.before, snapshot(self.sentinel))

    def read(self, path):
        with open(os.path.join(self.root, path)) as f:
            return f.read()


class RootHooksTest(HookCase):
    """root.d: configuration written before the first install."""

    def test_files_written(self):
        for hook in ('root.d/60-slim-apt-no-recommends',
                     'root.d/61-slim-dpkg-excludes',
                     'root.d/62-slim-perl-modules',
                     'root.d/63-slim-initramfs-modules'):
            result = self.run_hook(hook, DIB_SLIM_LOCALES='en de_CH')
            self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual('APT::Install-Recommends "0";\n'
                         'APT::Install-Suggests "0";\n', self.read(
                             'etc/apt/apt.conf.d/00slim-no-recommends'))
        excludes = self.read('etc/dpkg/dpkg.cfg.d/00slim-path-exclude')
        for line in ('path-include=/usr/share/locale/de_CH/*',
                     'path-include=/usr/share/i18n/locales/i18n*',
                     'path-include=/usr/lib/modules/*/kernel/net/*',
                     'path-exclude=/usr/lib/modules/*/kernel/fs/xfs/*',
                     'path-exclude=/usr/lib/udev/hwdb.d/*'):
            self.assertIn(line + '\n', excludes)
        self.assertIn('path-exclude=/usr/share/perl/*', self.read(
            'etc/dpkg/dpkg.cfg.d/01slim-build-only'))
        self.assertIn('INCLUDE_MODULES="virtio_pci,virtio_blk,', self.read(
            'etc/tiny-initramfs/tiny-initramfs.conf'))
        self.assertIn('slim_decompress()', self.read(
            'etc/tiny-initramfs/hooks.middle/slim-uncompressed-modules'))

    def test_initramfs_tools(self):
        result = self.run_hook('root.d/63-slim-initramfs-modules',
                               IMAGE_ELEMENT='debian vm slim',
                               DIB_SLIM_INITRAMFS_MODULES='virtio_blk sd_mod')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual('MODULES=list\n', self.read(
            'etc/initramfs-tools/conf.d/slim'))
        self.assertEqual('COMPRESS=xz\nCOMPRESSLEVEL=2e\n', self.read(
            'etc/initramfs-tools/conf.d/slim-compress'))
        self.assertEqual('virtio_blk\nsd_mod\n', self.read(
            'etc/initramfs-tools/slim-modules'))
        hook = os.path.join(self.root, 'etc/initramfs-tools/hooks',
                            'slim-modules')
        self.assertEqual(0o755, os.stat(hook).st_mode & 0o777)

    def test_initramfs_hook_adds_the_listed_modules(self):
        # The static initramfs-tools hook, run as mkinitramfs runs it.
        functions = os.path.join(self.base, 'hook-functions')
        with open(functions, 'w') as f:
            f.write('manual_add_modules() { echo "added $1"; }\n')
        hook = os.path.join(ELEMENT, 'slim-files/etc/initramfs-tools/hooks',
                            'slim-modules')
        with open(hook) as f:
            text = f.read().replace('/usr/share/initramfs-tools/'
                                    'hook-functions', functions)
        text = text.replace('/etc/initramfs-tools/slim-modules',
                            os.path.join(self.base, 'modules'))
        with open(os.path.join(self.base, 'modules'), 'w') as f:
            f.write('virtio_blk\nsd_mod\n')
        result = subprocess.run(['sh', '-c', text, 'slim-modules'],
                                stdout=subprocess.PIPE, text=True)
        self.assertEqual('added virtio_blk\nadded sd_mod\n', result.stdout)

    def test_symlinked_directories_stay_inside(self):
        cases = (
            ('root.d/60-slim-apt-no-recommends', 'etc/apt/apt.conf.d', {}),
            ('root.d/60-slim-apt-no-recommends', 'etc/apt', {}),
            ('root.d/61-slim-dpkg-excludes', 'etc/dpkg/dpkg.cfg.d', {}),
            ('root.d/62-slim-perl-modules', 'etc/dpkg', {}),
            ('root.d/63-slim-initramfs-modules', 'etc/tiny-initramfs', {}),
            ('root.d/63-slim-initramfs-modules',
             'etc/tiny-initramfs/hooks.middle', {}),
            ('root.d/63-slim-initramfs-modules', 'etc/initramfs-tools',
             {'IMAGE_ELEMENT': 'debian vm slim'}),
            ('root.d/63-slim-initramfs-modules', 'etc/initramfs-tools/hooks',
             {'IMAGE_ELEMENT': 'debian vm slim'}),
            ('root.d/63-slim-initramfs-modules', 'etc',
             {'IMAGE_ELEMENT': 'debian vm slim'}),
        )
        for hook, directory, env in cases:
            for target in self.hostile_targets(directory):
                self.link(directory, target)
                result = self.run_hook(hook, **env)
                self.assertEqual(0, result.returncode, result.stdout)
                self.assertSentinelUnchanged()
                shutil.rmtree(self.root)
                os.makedirs(self.root)


class PostRootHooksTest(HookCase):
    """post-root.d: the slim step on the built tree."""

    def ship(self, path):
        full = os.path.join(self.root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as f:
            f.write('[Unit]\n')

    def test_masks_go_into_the_target(self):
        self.ship('usr/lib/systemd/system/getty-static.service')
        self.ship('usr/lib/systemd/system/e2scrub_reap.service')
        self.ship('usr/lib/systemd/system-generators/systemd-ssh-generator')
        for hook in ('post-root.d/35-slim-getty-static',
                     'post-root.d/36-slim-mask-units'):
            result = self.run_hook(hook)
            self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('slim: masked getty-static.service (no dbus',
                      result.stdout + self.run_hook(
                          'post-root.d/35-slim-getty-static').stdout)
        for mask in ('etc/systemd/system/getty-static.service',
                     'etc/systemd/system/e2scrub_reap.service',
                     'etc/systemd/system-generators/systemd-ssh-generator'):
            self.assertEqual('/dev/null', os.readlink(
                os.path.join(self.root, mask)))
        self.assertIn('slim: WARNING: systemd-binfmt.service is not in the '
                      'image; not masked', result.stdout)

    def test_no_mask_with_dbus_or_in_a_dry_run(self):
        self.ship('usr/lib/systemd/system/getty-static.service')
        self.ship('usr/bin/dbus-daemon')
        self.ship('usr/lib/systemd/system/e2scrub_reap.service')
        self.run_hook('post-root.d/35-slim-getty-static')
        self.run_hook('post-root.d/36-slim-mask-units', DIB_SLIM_DRY_RUN='1')
        self.assertFalse(os.path.lexists(os.path.join(
            self.root, 'etc/systemd/system')))

    def test_mask_hooks_stay_inside(self):
        for directory in ('etc/systemd/system', 'etc/systemd', 'etc'):
            for target in self.hostile_targets(directory):
                self.ship('usr/lib/systemd/system/getty-static.service')
                self.ship('usr/lib/systemd/system/e2scrub_reap.service')
                self.link(directory, target)
                for hook in ('post-root.d/35-slim-getty-static',
                             'post-root.d/36-slim-mask-units'):
                    result = self.run_hook(
                        hook, DIB_SLIM_MASK_UNITS='host.service '
                        'e2scrub_reap.service')
                    self.assertEqual(0, result.returncode, result.stdout)
                self.assertSentinelUnchanged()
                shutil.rmtree(self.root)
                os.makedirs(self.root)

    def test_shipped_unit_through_a_link_is_read_inside(self):
        # usr/lib/systemd/system -> the sentinel, which has host.service:
        # resolved in the root, the unit is not there.
        self.link('usr/lib/systemd/system', self.sentinel)
        result = self.run_hook('post-root.d/36-slim-mask-units',
                               DIB_SLIM_MASK_UNITS='host.service')
        self.assertIn('host.service is not in the image', result.stdout)
        self.assertSentinelUnchanged()

    def test_start_records_time_and_tree_size(self):
        root = os.path.join(self.base, 'built root')
        state = os.path.join(self.base, 'build state')
        os.makedirs(root)
        env = dict(TMP_MOUNT_PATH=root, TMP_BUILD_DIR=state)

        def recorded():
            with open(os.path.join(state, 'slim', 'started')) as f:
                started = float(f.read())
            with open(os.path.join(state, 'slim', 'tree-kib-before')) as f:
                return started, int(f.read())

        before = time.time()
        result = self.run_hook('post-root.d/10-slim-start', **env)
        self.assertEqual(0, result.returncode, result.stdout)
        started, empty_kib = recorded()
        self.assertTrue(before <= started <= time.time(), started)
        size = 4 * 1048576
        with open(os.path.join(root, 'payload'), 'wb') as f:
            f.write(os.urandom(size))
        self.run_hook('post-root.d/10-slim-start', **env)
        self.assertGreaterEqual(recorded()[1] - empty_kib, size // 1024)

    def test_start_refuses_an_empty_tree_path(self):
        result = self.run_hook('post-root.d/10-slim-start', TMP_MOUNT_PATH='')
        self.assertNotEqual(0, result.returncode)
        self.assertFalse(os.path.exists(os.path.join(self.build, 'slim',
                                                     'started')))

    def test_build_only_excludes_removed_with_a_space_in_the_path(self):
        root = os.path.join(self.base, 'build root')
        os.makedirs(os.path.join(root, 'etc/dpkg/dpkg.cfg.d'))
        conf = os.path.join(root, 'etc/dpkg/dpkg.cfg.d/01slim-build-only')
        with open(conf, 'w') as f:
            f.write('path-exclude=/usr/share/perl/*\n')
        unrelated = os.path.join(self.base, 'build')
        shutil.rmtree(unrelated)
        with open(unrelated, 'w') as f:
            f.write('unrelated\n')
        os.makedirs(os.path.join(self.base, 'state', 'slim'))
        result = self.run_hook('post-root.d/30-slim-files',
                               TMP_MOUNT_PATH=root, DIB_SLIM_DRY_RUN='1',
                               TMP_BUILD_DIR=os.path.join(self.base,
                                                          'state'))
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertTrue(os.path.exists(unrelated))
        self.assertFalse(os.path.exists(conf))

    def test_build_only_excludes_through_a_link_stay_inside(self):
        self.link('etc/dpkg/dpkg.cfg.d', self.sentinel)
        with open(os.path.join(self.sentinel, '01slim-build-only'), 'w'):
            pass
        self.before = snapshot(self.sentinel)
        result = self.run_hook('post-root.d/30-slim-files',
                               DIB_SLIM_DRY_RUN='1')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertSentinelUnchanged()

    def test_update_done_through_a_link_is_not_run(self):
        self.link('usr/lib/systemd', self.sentinel)
        result = self.run_hook('post-root.d/37-slim-update-done')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertNotIn('stamped', result.stdout)
        self.assertSentinelUnchanged()

    def test_report_into_manifests_stays_inside(self):
        status = os.path.join(self.root, 'var/lib/dpkg/status')
        os.makedirs(os.path.dirname(status))
        with open(status, 'w') as f:
            f.write('Package: dpkg\nStatus: install ok installed\n'
                    'Version: 1\nArchitecture: amd64\n')
        with open(os.path.join(self.build, 'slim', 'packages.json'),
                  'w') as f:
            json.dump({'policy': 'recommends', 'applied': False,
                       'totals': {'installed': {
                           'packages': 1, 'installed_size_kib': 1}}}, f)
        host_json = os.path.join(self.sentinel, 'host.service')
        self.link('etc/dib-manifests/img.slim.json', host_json)
        self.link('etc/dib-manifests/img.slim.txt',
                  os.path.join(self.sentinel, 'new-file'))
        result = self.run_hook('post-root.d/40-slim-report')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertSentinelUnchanged()
        self.assertTrue(os.path.isfile(self.env['IMAGE_NAME']
                                       + '.slim.json'))
        for target in self.hostile_targets('etc/dib-manifests'):
            self.link('etc/dib-manifests', target)
            result = self.run_hook('post-root.d/40-slim-report')
            self.assertEqual(0, result.returncode, result.stdout)
            self.assertSentinelUnchanged()


class BootFilesTest(HookCase):
    """cleanup.d/99-slim-boot-files: /boot's kernel and initrd removed."""

    def setUp(self):
        super().setUp()
        os.makedirs(os.path.dirname(self.env['IMAGE_NAME']))
        for suffix in ('.vmlinuz', '.initrd'):
            with open(self.env['IMAGE_NAME'] + suffix, 'w') as f:
                f.write('x' * 100)

    def test_removed_with_their_links(self):
        os.makedirs(os.path.join(self.root, 'boot'))
        for name in ('vmlinuz-6.1', 'initrd.img-6.1', 'config-6.1'):
            with open(os.path.join(self.root, 'boot', name), 'w') as f:
                f.write('y' * 1048576)
        os.symlink('boot/vmlinuz-6.1', os.path.join(self.root, 'vmlinuz'))
        os.symlink('initrd.img-6.1', os.path.join(self.root, 'boot',
                                                  'initrd.img'))
        result = self.run_hook('cleanup.d/99-slim-boot-files')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual(['config-6.1'],
                         os.listdir(os.path.join(self.root, 'boot')))
        self.assertFalse(os.path.lexists(os.path.join(self.root,
                                                      'vmlinuz')))
        self.assertIn('slim: removed /boot/initrd.img-6.1, /boot/vmlinuz-6.1'
                      ' (2.0 MiB); the image boots with', result.stdout)

    def test_symlinked_boot_stays_inside(self):
        for target in self.hostile_targets('boot'):
            self.link('boot', target)
            os.symlink(os.path.join(self.sentinel, 'vmlinuz-1'),
                       os.path.join(self.root, 'vmlinuz'))
            result = self.run_hook('cleanup.d/99-slim-boot-files')
            self.assertEqual(0, result.returncode, result.stdout)
            self.assertSentinelUnchanged()
            self.assertFalse(os.path.lexists(os.path.join(self.root,
                                                          'vmlinuz')))
