"""Real DIB builds of the baseline and the slim appliance image.

Needs root, diskimage-builder and the Debian mirror of the host's apt
sources; in CI all of them are there.
"""

import os
import subprocess
import tempfile

import testtools
from testtools import content
import yaml

from tests.functional import images

SKIP_REASON = images.why_not_runnable()
APPLIANCE_PACKAGES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))),
    'elements', 'akanda-appliance', 'package-installs.yaml')
SLIM_ENVIRONMENT = os.path.join(os.path.dirname(os.path.dirname(
    APPLIANCE_PACKAGES)), 'slim', 'environment.d', '10-slim.bash')
TARGETS = ('targets: slim qcow2 <= 100 MiB, <= 0.30 of the baseline, '
           'slim step <= 10 % of the build time')


def declared_packages():
    with open(APPLIANCE_PACKAGES) as data:
        return sorted(yaml.safe_load(data))


def default_masked_units():
    """DIB_SLIM_MASK_UNITS as the slim element defaults it."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith('DIB_SLIM_')}
    return subprocess.run(
        ['bash', '-c', 'source "$0"; echo $DIB_SLIM_MASK_UNITS',
         SLIM_ENVIRONMENT], env=environ, check=True, text=True,
        stdout=subprocess.PIPE).stdout.split()


def comparison_table(baseline, slim):
    """The measured comparison, as text."""
    rows = [
        ('qcow2 bytes', baseline.qcow2_bytes, slim.qcow2_bytes),
        ('qcow2 MiB', '%.1f' % (baseline.qcow2_bytes / 1048576.0),
         '%.1f' % (slim.qcow2_bytes / 1048576.0)),
        ('installed MiB (dpkg)', '%.1f' % (baseline.installed_size_kib
                                           / 1024.0),
         '%.1f' % (slim.installed_size_kib / 1024.0)),
        ('tree MiB (du)', '%.1f' % (baseline.tree_kib / 1024.0),
         '%.1f' % (slim.tree_kib / 1024.0)),
        ('packages', len(baseline.packages), len(slim.packages)),
        ('build time s', '%.0f' % baseline.build_seconds,
         '%.0f' % slim.build_seconds),
        ('slim step s', '-', '%.1f' % slim.slim_seconds),
    ]
    lines = ['%-22s %14s %14s' % ('', 'baseline', 'slim')]
    lines += ['%-22s %14s %14s' % row for row in rows]
    ratio = slim.qcow2_bytes / float(baseline.qcow2_bytes)
    share = slim.slim_seconds / slim.build_seconds
    lines.append('slim/baseline qcow2: %.2f; slim step share of build: '
                 '%.1f %%' % (ratio, 100 * share))
    lines.append(TARGETS + ': %s, %s, %s' % (
        'met' if slim.qcow2_bytes <= 100 * 1048576 else 'MISSED',
        'met' if ratio <= 0.30 else 'MISSED',
        'met' if share <= 0.10 else 'MISSED'))
    return '\n'.join(lines)


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class BuildImagesTest(testtools.TestCase):

    def test_slim_against_baseline(self):
        baseline = images.baseline_image()
        slim = images.slim_image()
        for built in (baseline, slim):
            self.assertTrue(os.path.getsize(built.image) > 0)
            if built.kernel is None:
                self.assertIn('vm', built.elements)
            else:
                self.assertTrue(os.path.getsize(built.initrd) > 0)
        self.assertIsNone(baseline.report_json)

        report = slim.report()
        self.assertTrue(report['applied'])
        self.assertTrue(report['verification']['ok'],
                        report['verification'])
        self.assertTrue(os.path.exists(slim.report_txt))

        missing = [p for p in declared_packages() if p not in slim.packages]
        self.assertEqual([], missing, 'declared packages missing')

        # The report agrees with the image's own dpkg database.
        self.assertEqual(len(slim.packages), report['after']['packages'])
        self.assertEqual(slim.installed_size_kib,
                         report['after']['installed_size_kib'])
        removed = {r['package'] for r in report['removed_packages']}
        self.assertEqual(set(), removed & set(slim.packages))
        self.assertEqual(report['before']['packages'],
                         len(slim.packages) + len(removed))
        self.assertNotIn('linux-image-amd64', slim.packages)
        self.assertIn('linux-image-cloud-amd64', slim.packages)
        self.assertLess(slim.qcow2_bytes, baseline.qcow2_bytes)
        if slim.kernel is not None:
            # A filesystem image boots through tiny-initramfs
            # (DIB_SLIM_INITRAMFS=auto); udev and busybox are not in it.
            self.assertIn('tiny-initramfs', slim.packages)
            for package in ('initramfs-tools', 'busybox'):
                self.assertNotIn(package, slim.packages)
            self.assertLess(os.path.getsize(slim.initrd), 2 * 1048576)

        table = comparison_table(baseline, slim)
        self.addDetail('comparison', content.text_content(table))
        print('\n' + table)
        with open(os.path.join(images.workdir(), 'comparison.txt'),
                  'w') as out:
            out.write(table + '\n')

    def test_first_boot_work_done_at_build_time(self):
        slim = images.slim_image()
        masked = default_masked_units()
        self.assertIn('systemd-ssh-generator', masked)
        work = tempfile.mkdtemp(dir=images.workdir())
        with images.mounted(slim.image, work) as root:
            for name in masked:
                where = ('etc/systemd/system-generators'
                         if name.endswith('-generator')
                         else 'etc/systemd/system')
                self.assertEqual('/dev/null', os.readlink(
                    os.path.join(root, where, name)), name)
            # ConditionNeedsUpdate=/etc is false: /usr is not newer.
            usr = os.stat(os.path.join(root, 'usr')).st_mtime_ns
            for stamp in ('etc/.updated', 'var/.updated'):
                self.assertGreaterEqual(
                    os.stat(os.path.join(root, stamp)).st_mtime_ns, usr)
            kvm = [os.path.join(d, f) for d, _, files in os.walk(
                os.path.join(root, 'usr/lib/modules')) for f in files
                if '/arch/x86/kvm' in d]
            self.assertEqual([], kvm)
            # DIB_SLIM_MACHINE_ID=empty: a new ID per instance, no systemd
            # first boot; the image carries no SSH host key, so every
            # instance makes its own (sshd-keygen may run on any boot).
            with open(os.path.join(root, 'etc/machine-id')) as machine_id:
                self.assertEqual('', machine_id.read())
            self.assertEqual([], [name for name in os.listdir(
                os.path.join(root, 'etc/ssh'))
                if name.startswith('ssh_host_')])
            if os.path.exists(os.path.join(
                    root, 'usr/lib/systemd/system/sshd-keygen.service')):
                self.assertTrue(os.path.exists(os.path.join(
                    root, 'etc/systemd/system/sshd-keygen.service.d',
                    'slim-any-boot.conf')))
            # DIB_SLIM_BOOT_FILES=auto: a filesystem image boots with the
            # kernel and initrd beside it; /boot keeps no copy of them.
            if slim.kernel is not None:
                self.assertEqual([], [name for name in os.listdir(
                    os.path.join(root, 'boot'))
                    if name.startswith(('vmlinuz', 'initrd.img'))])
                self.assertGreater(os.path.getsize(slim.kernel), 1048576)
            # Swap in small guests: a file on disk below 64 MiB of
            # MemTotal, zram from there to 512 MiB; never both, neither
            # in larger guests. The file is made at boot, not in the image.
            wants = os.path.join(root,
                                 'etc/systemd/system/multi-user.target.wants')
            conditions = {}
            for unit in ('slim-swap-file.service', 'slim-zram-swap.service'):
                self.assertTrue(os.path.lexists(os.path.join(wants, unit)))
                with open(os.path.join(root, 'etc/systemd/system',
                                       unit)) as text:
                    conditions[unit] = sorted(
                        line.strip() for line in text
                        if line.startswith('ConditionMemory='))
            expected = {
                'slim-swap-file.service': ['ConditionMemory=<64M'],
                'slim-zram-swap.service': ['ConditionMemory=<512M',
                                           'ConditionMemory=>=64M']}
            self.assertEqual(expected, conditions)
            self.assertFalse(os.path.exists(os.path.join(
                root, 'var/lib/slim-swap')))
            # DIB_SLIM_LOCALE_GEN empty: no compiled locale but C.UTF-8.
            self.assertFalse(os.path.exists(os.path.join(
                root, 'usr/lib/locale/locale-archive')))

    def test_rebuild_gives_the_same_package_set(self):
        slim = images.slim_image()
        again = images.rebuild_slim_image()
        self.assertEqual(slim.packages, again.packages)
        self.assertTrue(again.report()['verification']['ok'])

    def test_agent_installed_from_upstream(self):
        for built in (images.slim_image(), images.baseline_image()):
            self.assertNotIn('git', built.packages)
            self.assertNotIn('python3-pip', built.packages)
            output = images.run_in_image(built.image, [
                'python3', '-c',
                'import astara_router.api.server as s; print(s.app.name)'])
            self.assertEqual('astara_router.api.server',
                             output.strip().splitlines()[-1])
            enabled = images.run_in_image(built.image, [
                'systemctl', 'is-enabled',
                'astara-router-api-server.service'])
            # systemctl warns about /proc in a chroot; its answer is last.
            self.assertEqual('enabled', enabled.strip().splitlines()[-1])
