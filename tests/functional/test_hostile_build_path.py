"""Differential hostile-tree test of the DIB build path.

Generated target trees have directories (and some files) on the build path
(everything prune, the slim report and the slim element's hooks touch)
replaced at random by absolute, relative and climbing symlinks to a
sentinel directory outside the tree, which holds a copy of the same tree.
Each case runs the build path's modules in-process; every tenth also runs
the element's hooks themselves (bash, a fake sudo). After each, the
sentinel must be unchanged, and each step must end with a result or a
one-line refusal (never an internal error or a traceback).

The cases are seeded: AKANDA_SLIM_HOSTILE_SEED repeats a run, and
AKANDA_SLIM_HOSTILE_CASES sets how many there are (default 300). The
seed is printed on stderr and named in every failure.
"""

import contextlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import time

import fixtures
import testtools

from akanda_slim.dib import slim_element
from akanda_slim.footprint import image_report
from akanda_slim.slim import boot_files
from akanda_slim.slim import root_edit
from akanda_slim.slim import unit_masks
from tests.unit import test_slim_hooks

STATUS = ''.join(
    'Package: %s\nStatus: install ok installed\nVersion: 1.0\n'
    'Architecture: amd64\nInstalled-Size: 10\n\n' % name
    for name in ('dpkg', 'bash', 'systemd', 'linux-image-cloud-amd64'))
EXCLUDES = ('path-exclude=/usr/share/doc/*\n'
            'path-include=/usr/share/doc/*/copyright\n'
            'path-exclude=/usr/share/locale/*\n'
            'path-include=/usr/share/locale/en/*\n'
            'path-exclude=/usr/lib/modules/*/kernel/fs/xfs/*\n')
FILES = {
    'var/lib/dpkg/status': STATUS,
    'var/lib/dpkg/status-old': STATUS,
    'var/lib/apt/extended_states': '',
    'etc/dpkg/dpkg.cfg.d/00slim-path-exclude': EXCLUDES,
    'etc/dpkg/dpkg.cfg.d/01slim-build-only':
        'path-exclude=/usr/share/perl/*\n',
    'etc/apt/apt.conf.d/00slim-no-recommends': 'x\n',
    'usr/share/doc/bash/README': 'doc\n',
    'usr/share/doc/bash/copyright': 'copyright\n',
    'usr/share/locale/de/LC_MESSAGES/bash.mo': 'mo\n',
    'usr/share/locale/en/LC_MESSAGES/bash.mo': 'mo\n',
    'usr/lib/modules/6.1/kernel/fs/xfs/xfs.ko': 'ko\n',
    'var/log/dpkg.log': 'log\n',
    'var/log/apt/history.log': 'log\n',
    'var/log/journal/x/system.journal': 'journal\n',
    'var/lib/apt/lists/mirror_Packages': 'Package: x\n',
    'var/cache/apt/pkgcache.bin': 'cache\n',
    'var/cache/apt/archives/x.deb': 'deb\n',
    'var/cache/debconf/templates.dat-old': 'old\n',
    'etc/udev/hwdb.bin': 'hwdb\n',
    'usr/lib/udev/hwdb.bin': 'hwdb\n',
    'usr/lib/python3/dist-packages/m/__pycache__/m.cpython-311.pyc': 'pyc',
    'usr/lib/systemd/system/getty-static.service': '[Unit]\n',
    'usr/lib/systemd/system/e2scrub_reap.service': '[Unit]\n',
    'usr/lib/systemd/system-generators/systemd-ssh-generator': '#!/bin/sh\n',
    'etc/systemd/system/multi-user.target.wants/ssh.service': '[Unit]\n',
    'etc/dib-manifests/img.slim.json': '{}\n',
    'etc/dib-manifests/img.slim.txt': 'report\n',
    'etc/tiny-initramfs/hooks.middle/slim-uncompressed-modules': 'x\n',
    'etc/initramfs-tools/hooks/slim-modules': 'x\n',
    'etc/initramfs-tools/conf.d/slim': 'MODULES=list\n',
    'etc/cloud/cloud.cfg': 'cloud_init_modules: [growpart, resizefs]\n',
    'boot/vmlinuz-6.1': 'kernel\n',
    'boot/initrd.img-6.1': 'initrd\n',
    'boot/config-6.1': 'config\n',
}
LINKS = {'vmlinuz': 'boot/vmlinuz-6.1', 'var/run': '/run'}
MASKS = 'getty-static.service e2scrub_reap.service systemd-ssh-generator'
PACKAGES_RESULT = {'policy': 'recommends', 'applied': False,
                   'totals': {'installed': {'packages': 4,
                                            'installed_size_kib': 40}}}
DEFAULT_CASES = 300
HOOK_EVERY = 10


def make_tree(top):
    """The generated target tree at ``top``."""
    for path, text in FILES.items():
        full = os.path.join(top, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as f:
            f.write(text)
    for path, target in LINKS.items():
        os.symlink(target, os.path.join(top, path))


def build_path_dirs():
    """Every directory on the build path, parents first."""
    found = set()
    for path in FILES:
        parts = path.split('/')[:-1]
        for depth in range(1, len(parts) + 1):
            found.add('/'.join(parts[:depth]))
    return sorted(found)


class HostileBuildPathTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.seed = int(os.environ.get('AKANDA_SLIM_HOSTILE_SEED')
                        or random.SystemRandom().randrange(2 ** 32))
        self.cases = int(os.environ.get('AKANDA_SLIM_HOSTILE_CASES')
                         or DEFAULT_CASES)
        sys.stderr.write('hostile build path: seed %d, %d cases\n'
                         % (self.seed, self.cases))
        self.addDetail('seed', testtools.content.text_content(
            str(self.seed)))
        self.useFixture(fixtures.FakeLogger())
        for name, value in (('DIB_SLIM_MASK_UNITS', MASKS),
                            ('DIB_SLIM_DRY_RUN', '0'),
                            ('DIB_SLIM_PYCACHE', 'remove'),
                            ('DIB_SLIM_KERNEL', 'cloud'),
                            ('DIB_SLIM_GROWROOT', 'cloud-init'),
                            ('DIB_SLIM_UDEV_HWDB', 'remove'),
                            ('IMAGE_ELEMENT', 'debian baremetal slim')):
            self.useFixture(fixtures.EnvironmentVariable(name, value))

    # One case -----------------------------------------------------------

    def hostile_link(self, rng, path, sentinel, base):
        """A symlink target for ``path`` leading into ``sentinel``."""
        depth = path.count('/') + 1
        inside = rng.choice(('', path, os.path.dirname(path)))
        absolute = os.path.join(sentinel, inside).rstrip('/')
        relative = os.path.relpath(absolute, os.path.join(
            base, 'root', os.path.dirname(path)))
        climbing = '../' * (depth + rng.randrange(1, 6)) + absolute[1:]
        missing = os.path.join(sentinel, 'missing-%d' % rng.randrange(9))
        return rng.choice((absolute, relative, climbing, missing))

    def make_case(self, rng, base):
        """Root and sentinel of one case; returns what was linked."""
        root = os.path.join(base, 'root')
        sentinel = os.path.join(base, 'sentinel')
        make_tree(root)
        make_tree(sentinel)
        changed = []
        dirs = build_path_dirs()
        for path in rng.sample(dirs, rng.randint(1, 3)):
            full = os.path.join(root, path)
            if not os.path.lexists(full) or os.path.islink(full):
                continue  # under a directory already replaced
            target = self.hostile_link(rng, path, sentinel, base)
            shutil.rmtree(full)
            os.symlink(target, full)
            changed.append('%s -> %s' % (path, target))
        for path in rng.sample(sorted(FILES), rng.randint(0, 2)):
            full = os.path.join(root, path)
            if os.path.isfile(full) and not os.path.islink(full):
                target = os.path.join(sentinel, path)
                os.unlink(full)
                os.symlink(target, full)
                changed.append('%s -> %s' % (path, target))
        if rng.random() < 0.1:
            conf = os.path.join(root, 'etc/dpkg/dpkg.cfg.d/99hostile')
            if os.path.isdir(os.path.dirname(conf)) and not os.path.islink(
                    os.path.dirname(conf)):
                with open(conf, 'w') as f:
                    f.write('path-exclude=/../%s/*\n'
                            % sentinel.strip('/'))
                changed.append('path-exclude with ..')
        return root, sentinel, changed

    def call(self, main, argv, stdin=b''):
        """(exit code, stderr) of a module's main() in-process."""
        out, err = io.StringIO(), io.StringIO()
        fake_stdin = io.TextIOWrapper(io.BytesIO(stdin))
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err), \
                fixtures.MonkeyPatch('sys.stdin', fake_stdin):
            code = main(argv)
        return code, err.getvalue()

    def steps(self, root, work):
        """(name, main, argv, stdin) of the build path, in build order."""
        packages = os.path.join(work, 'packages.json')
        with open(packages, 'w') as f:
            json.dump(PACKAGES_RESULT, f)
        image = os.path.join(work, 'img')
        for suffix in ('.vmlinuz', '.initrd'):
            with open(image + suffix, 'w') as f:
                f.write('beside\n')
        return (
            ('60', root_edit.main, ['write', root, 'etc/apt/apt.conf.d/'
                                    '00slim-no-recommends'], b'APT\n'),
            ('61', root_edit.main, ['write', root, 'etc/dpkg/dpkg.cfg.d/'
                                    '00slim-path-exclude'],
             EXCLUDES.encode()),
            ('63', root_edit.main, ['write', root, 'etc/initramfs-tools/'
                                    'hooks/slim-modules', '0755'], b'#\n'),
            ('options', slim_element.main, ['options', root], b''),
            ('plan', slim_element.main, ['plan', root], b''),
            ('prune', slim_element.main, ['prune', root], b''),
            ('30', root_edit.main, ['remove', root, 'etc/dpkg/dpkg.cfg.d/'
                                    '01slim-build-only'], b''),
            ('35', unit_masks.main, ['getty-static', root], b''),
            ('36', unit_masks.main, [root], b''),
            ('37', root_edit.main, ['test', root, '-x',
                                    '/usr/lib/systemd/systemd-update-done'],
             b''),
            ('report', image_report.main, [
                '--root', root, '--packages-json', packages,
                '--state-dir', work, '--image-name', image,
                '--manifest-dir', '/etc/dib-manifests'], b''),
            ('boot', boot_files.main, [root, image], b''),
        )

    def check_outcome(self, name, code, err, where):
        lines = [line for line in err.splitlines()
                 if line.startswith('akanda-slim: error')]
        self.assertNotIn('Traceback', err, '%s %s' % (name, where))
        if code == 0:
            self.assertEqual([], lines, '%s %s' % (name, where))
            return
        self.assertEqual(1, len(lines), '%s %s: %s' % (name, where, err))
        self.assertNotIn('internal error', lines[0], '%s %s' % (name, where))

    def run_hooks(self, root, work):
        """The element's own hooks on the tree, with a fake sudo."""
        bin_dir = os.path.join(work, 'bin')
        os.makedirs(bin_dir, exist_ok=True)
        with open(os.path.join(bin_dir, 'sudo'), 'w') as sudo:
            sudo.write(test_slim_hooks.FAKE_SUDO)
        os.chmod(os.path.join(bin_dir, 'sudo'), 0o755)
        os.makedirs(os.path.join(work, 'slim'), exist_ok=True)
        shutil.copy(os.path.join(work, 'packages.json'),
                    os.path.join(work, 'slim', 'packages.json'))
        env = dict(os.environ, TARGET_ROOT=root, TMP_MOUNT_PATH=root,
                   TMP_BUILD_DIR=work, DIB_PYTHON_EXEC=sys.executable,
                   IMAGE_NAME=os.path.join(work, 'img'),
                   DIB_MANIFEST_IMAGE_DIR='/etc/dib-manifests',
                   PYTHONPATH=test_slim_hooks.SOURCE,
                   PATH=bin_dir + os.pathsep + os.environ['PATH'])
        for hook in ('root.d/60-slim-apt-no-recommends',
                     'root.d/61-slim-dpkg-excludes',
                     'root.d/62-slim-perl-modules',
                     'root.d/63-slim-initramfs-modules',
                     'post-root.d/30-slim-files',
                     'post-root.d/35-slim-getty-static',
                     'post-root.d/36-slim-mask-units',
                     'post-root.d/37-slim-update-done',
                     'post-root.d/40-slim-report',
                     'cleanup.d/99-slim-boot-files'):
            result = subprocess.run(
                ['bash', '-c', 'set -a; . "$1"; set +a; exec bash "$2"',
                 'hook', test_slim_hooks.ENVIRONMENT,
                 os.path.join(test_slim_hooks.ELEMENT, hook)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, timeout=120)
            yield hook, result.returncode, result.stdout
            if result.returncode:
                return  # DIB stops at a failed hook

    def test_sentinel_unchanged_and_one_line_outcomes(self):
        rng = random.Random(self.seed)
        started = time.monotonic()
        outcomes = {'result': 0, 'refusal': 0}
        top = os.path.realpath(self.useFixture(fixtures.TempDir()).path)
        for number in range(self.cases):
            base = os.path.join(top, 'case-%d' % number)
            root, sentinel, changed = self.make_case(rng, base)
            before = test_slim_hooks.snapshot(sentinel)
            where = '(seed %d, case %d: %s)' % (
                self.seed, number, '; '.join(changed))
            work = os.path.join(base, 'work')
            os.makedirs(work)
            for name, main, argv, stdin in self.steps(root, work):
                code, err = self.call(main, argv, stdin)
                self.check_outcome(name, code, err, where)
                outcomes['result' if code == 0 else 'refusal'] += 1
                self.assertEqual(before, test_slim_hooks.snapshot(sentinel),
                                 '%s changed the sentinel %s'
                                 % (name, where))
            if number % HOOK_EVERY == 0:
                for hook, code, output in self.run_hooks(root, work):
                    self.check_outcome(hook, code, output, where)
                    self.assertEqual(
                        before, test_slim_hooks.snapshot(sentinel),
                        '%s changed the sentinel %s' % (hook, where))
            shutil.rmtree(base)
        sys.stderr.write('hostile build path: %d cases in %.0f s, %d '
                         'results, %d one-line refusals\n' % (
                             self.cases, time.monotonic() - started,
                             outcomes['result'], outcomes['refusal']))
