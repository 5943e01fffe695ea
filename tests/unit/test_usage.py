"""The usage report: inventory, owners, atimes, per-package totals."""

import os
import subprocess

import fixtures
import testtools

from akanda_slim.bootcheck import checks as checks_mod
from akanda_slim.footprint import usage
from akanda_slim.footprint import usage_boot


def write(root, path, size):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as out:
        out.write(b'x' * size)
    return full


class UsageTreeTest(testtools.TestCase):
    """A merged-/usr tree with two packages, a hard link and bytecode."""

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path
        os.symlink('usr/bin', os.path.join(self.root, 'bin'))
        write(self.root, 'usr/bin/tool', 64 * 1024)
        big = write(self.root, 'usr/share/data/big', 1024 * 1024)
        os.link(big, os.path.join(self.root, 'usr/share/data/big-link'))
        write(self.root, 'usr/lib/python3/dist-packages/m.py', 4096)
        write(self.root, 'usr/lib/python3/dist-packages/__pycache__/'
              'm.cpython-313.pyc', 4096)
        write(self.root, 'usr/lib/modules/6.1/kernel/net/a.ko.xz', 4096)
        write(self.root, 'usr/lib/modules/6.1/kernel/net/b.ko.xz', 4096)
        write(self.root, 'etc/generated', 4096)
        write(self.root, 'boot/vmlinuz', 8192)
        info = os.path.join(self.root, usage.DPKG_INFO)
        os.makedirs(info)
        with open(os.path.join(info, 'tool:amd64.list'), 'w') as out:
            out.write('/.\n/bin\n/bin/tool\n'
                      '/usr/lib/python3/dist-packages/m.py\n')
        with open(os.path.join(info, 'data.list'), 'w') as out:
            out.write('/.\n/usr/share/data/big\n/usr/share/data/big-link\n'
                      '/boot/vmlinuz\n/usr/lib/modules/6.1/kernel/net/a.ko.xz'
                      '\n/usr/lib/modules/6.1/kernel/net/b.ko.xz\n')
        self.files = usage.inventory(self.root)
        self.lists = usage.package_lists(self.root)
        self.owner = usage.owners(self.root, self.lists, self.files)

    def kib(self, path):
        return os.lstat(os.path.join(self.root, path)).st_blocks // 2

    def test_inventory_holds_regular_files_only(self):
        self.assertNotIn('bin', self.files)
        self.assertNotIn('bin/tool', self.files)
        self.assertIn('usr/bin/tool', self.files)
        self.assertEqual(self.files['usr/share/data/big'].inode,
                         self.files['usr/share/data/big-link'].inode)

    def test_dpkg_paths_resolve_through_the_merged_usr(self):
        self.assertEqual('tool', self.owner['usr/bin/tool'])
        self.assertEqual('tool', self.owner[
            'usr/lib/python3/dist-packages/__pycache__/m.cpython-313.pyc'])
        self.assertNotIn('etc/generated', self.owner)

    def test_hard_linked_file_counts_once(self):
        report = usage.analyse(self.files, self.owner, set(), set())
        data = [p for p in report['packages'] if p['package'] == 'data'][0]
        self.assertEqual(self.kib('usr/share/data/big') + self.kib(
            'boot/vmlinuz') + 2 * self.kib(
            'usr/lib/modules/6.1/kernel/net/a.ko.xz'), data['installed_kib'])
        total = sum(info.kib for path, info in self.files.items()
                    if path != 'usr/share/data/big-link')
        self.assertEqual(total, report['total_kib'])

    def test_read_files_and_never_read(self):
        read = usage.parse_atimes(
            '0.0000000000 /usr/share/data/big\n'
            '1764100000.5 /usr/bin/tool\n'
            '1764100001.0 /usr/lib/modules/6.1/kernel/net/a.ko.xz\n'
            'garbage\n1764100001.0 /not/in/tree\n')
        self.assertEqual({'usr/bin/tool', 'not/in/tree',
                          'usr/lib/modules/6.1/kernel/net/a.ko.xz'}, read)
        report = usage.analyse(self.files, self.owner, read, {'a'})
        by_name = {p['package']: p for p in report['packages']}
        self.assertEqual(3, by_name['tool']['files'])
        self.assertEqual(1, by_name['tool']['files_read'])
        self.assertEqual(self.kib('usr/bin/tool'), by_name['tool']['read_kib'])
        # /boot is read by the boot loader; one module of two was read.
        self.assertEqual(2, by_name['data']['files_read'])
        self.assertEqual(self.kib('usr/share/data/big') + self.kib(
            'usr/lib/modules/6.1/kernel/net/b.ko.xz'),
            by_name['data']['never_read_kib'])
        self.assertEqual({'present': 2, 'loaded': ['a']},
                         report['kernel_modules'])
        self.assertEqual(report['total_kib'] - report['read_kib'],
                         report['never_read_kib'])
        self.assertEqual('data', report['packages'][0]['package'])
        self.assertEqual('/usr/share/data', report['never_read_paths'][0][
            'path'])
        text = usage.format_text(report)
        self.assertIn('kernel modules: 2 present, 1 loaded', text)
        self.assertIn('(no package)', text)

    def test_boot_is_unread_when_the_kernel_comes_from_beside(self):
        report = usage.analyse(self.files, self.owner, set(), set(),
                               boot_loader=False)
        data = [p for p in report['packages'] if p['package'] == 'data'][0]
        self.assertEqual(0, data['files_read'])
        self.assertEqual(data['installed_kib'], data['never_read_kib'])
        whole_disk = usage.analyse(self.files, self.owner, set(), set())
        self.assertEqual(report['read_kib'] + self.kib('boot/vmlinuz'),
                         whole_disk['read_kib'])

    def test_reset_atimes_keeps_mtime(self):
        path = os.path.join(self.root, 'usr/bin/tool')
        os.utime(path, (1000, 2000))
        self.assertEqual(len(self.files), usage_boot.reset_atimes(self.root))
        info = os.stat(path)
        self.assertEqual((0, 2000), (info.st_atime, info.st_mtime))

    def test_noatime_becomes_relatime(self):
        fstab = write(self.root, 'etc/fstab', 0)
        self.assertFalse(usage_boot.allow_atime(self.root))
        with open(fstab, 'w') as out:
            out.write('LABEL=root / ext4 defaults,noatime 0 1\n')
        self.assertTrue(usage_boot.allow_atime(self.root))
        with open(fstab) as text:
            self.assertEqual('LABEL=root / ext4 defaults,relatime 0 1\n',
                             text.read())


class ParseTest(testtools.TestCase):

    def test_modules(self):
        self.assertEqual(['nf_nat', 'virtio_net'], usage.parse_modules(
            'virtio_net 65536 0 - Live 0x0\nnf_nat 61440 1 - Live 0x0\n\n'))

    def test_processes_and_meminfo(self):
        self.assertEqual([['cloud-init', 20480], ['systemd', 9000]],
                         usage_boot.parse_processes(
                             '20480 cloud-init\n 9000 systemd\nbad\n'))
        self.assertEqual({'MemTotal': 81000, 'HugePages_Total': 0},
                         usage_boot.parse_meminfo(
                             'MemTotal:  81000 kB\nHugePages_Total:  0\n'))


class FakeSsh:
    """Answers usage's listings; notes which network it was reached on."""

    ANSWERS = {
        usage_boot.PROCESS_MEMORY: ' 20480 cloud-init\n',
        'cat /proc/meminfo': 'MemTotal:  81000 kB\n',
        usage_boot.ATIME_LISTING: '10.5 /usr/bin/ls\n0.0 /usr/bin/nano\n',
    }

    def __init__(self, modules):
        self.modules = modules
        self.commands = []

    def check(self, command, timeout=None):
        self.commands.append(command)
        if command == usage_boot.MODULES_LISTING:
            return self.modules
        return self.ANSWERS[command]

    def run(self, command, timeout=None):
        return subprocess.CompletedProcess(command, 0, self.check(command),
                                           '')


class Context:
    def __init__(self, ssh):
        self.ssh = ssh


class UsageHooksTest(testtools.TestCase):
    """usage's steps on verify's boot, and measure_usage around them."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.work = self.useFixture(fixtures.TempDir()).path
        self.prepared = []

        def prepare(image, workdir):
            qcow2 = os.path.join(workdir, 'usage.qcow2')
            open(qcow2, 'w').close()
            self.prepared.append(qcow2)
            return usage_boot.PreparedImage(qcow2, {}, {}, {}, False)

        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.footprint.usage_boot.prepare', prepare))

    def test_rw_and_no_surface(self):
        self.assertEqual(('rw',), usage_boot.UsageHooks.kernel_args)
        self.assertFalse(usage_boot.UsageHooks.measure_surface)

    def test_after_boot_and_after_checks_list_memory_reads_modules(self):
        hooks = usage_boot.UsageHooks('x.qcow2', self.work, None)
        booted = FakeSsh('virtio_net 65536 0 - Live 0x0\n')
        hooks.after_boot(Context(booted))
        # The checks moved SSH: the listings go where they left it.
        managed = FakeSsh('nf_nat 61440 1 - Live 0x0\n')
        hooks.after_checks(Context(managed))
        self.assertEqual([['cloud-init', 20480]],
                         hooks.figures['biggest_processes_kib'])
        self.assertEqual({'MemTotal': 81000}, hooks.figures['meminfo_kib'])
        self.assertEqual({'virtio_net', 'nf_nat'}, hooks.modules)
        self.assertIn(usage_boot.ATIME_LISTING, managed.commands)
        self.assertNotIn(usage_boot.ATIME_LISTING, booted.commands)
        self.assertEqual(usage.parse_atimes(
            FakeSsh.ANSWERS[usage_boot.ATIME_LISTING]), hooks.read)

    def test_before_retry_boots_a_fresh_copy(self):
        hooks = usage_boot.UsageHooks('x.qcow2', self.work,
                                      usage_boot.prepare('x', self.work))
        first = hooks.prepared
        hooks.before_retry(1)
        self.assertIsNot(first, hooks.prepared)
        self.assertEqual(2, len(self.prepared))

    def test_measure_usage_boots_the_copy_through_runner(self):
        made = []

        class FakeRun:
            def __init__(self, image, workdir, kernel, initrd, options,
                         hooks):
                made.append((image, kernel, initrd, hooks))
                self.hooks = hooks
                self.boots, self.results = [], []
                self.panics = [{'boot': 1, 'panic': 'oops',
                                'console_log': 'c-1-panic.log'}]

            def boot(self):
                self.hooks.after_boot(Context(FakeSsh('')))
                self.boots.append({'ssh_ready_seconds': 1.0,
                                   'memory_used_kib': 1000})
                self.results.append(checks_mod.Result(
                    'a check', checks_mod.PASS, '', 0.0))
                self.hooks.after_checks(Context(FakeSsh('')))

        for name, value in (
                ('runner.boot_files', lambda image, kernel, initrd:
                 ('k', 'i')),
                ('runner.Session', FakeRun),
                ('usage.analyse', lambda *args, **kwargs: {})):
            self.useFixture(fixtures.MonkeyPatch(
                'akanda_slim.footprint.usage_boot.' + name, value))
        report = usage_boot.measure_usage('x.qcow2', self.work)
        image, kernel, initrd, hooks = made[0]
        self.assertEqual((self.prepared[0], 'k', 'i'),
                         (image, kernel, initrd))
        self.assertIsInstance(hooks, usage_boot.UsageHooks)
        self.assertEqual(1000, report['boot']['memory_used_kib'])
        self.assertEqual([['cloud-init', 20480]],
                         report['boot']['biggest_processes_kib'])
        self.assertEqual([{'panic': 'oops', 'console_log': 'c-1-panic.log'}],
                         report['panics'])
        self.assertTrue(report['checks_passed'])


class FirstBootPresetTest(testtools.TestCase):

    def test_copy_gets_a_preset_that_enables_nothing(self):
        root = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(root, 'etc'))
        os.symlink('/nonexistent-host-dir', os.path.join(root, 'etc/systemd'))
        usage_boot.keep_first_boot_presets_off(root)
        with open(os.path.join(root, 'nonexistent-host-dir/system-preset/'
                               '00-akanda-slim-usage.preset')) as preset:
            self.assertIn('\ndisable *\n', preset.read())
        self.assertFalse(os.path.exists('/nonexistent-host-dir'))
