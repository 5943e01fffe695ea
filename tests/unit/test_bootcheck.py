import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import fixtures
import testtools

from akanda_slim.bootcheck import check_sets
from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import compare
from akanda_slim.bootcheck import image_check
from akanda_slim.bootcheck import instance
from akanda_slim.bootcheck import measure
from akanda_slim.bootcheck import metadata_server
from akanda_slim.bootcheck import package_update
from akanda_slim.bootcheck import probe
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_checks
from akanda_slim.bootcheck import runner
from akanda_slim.bootcheck import seed
from akanda_slim import errors
from akanda_slim import termination


class SeedTest(testtools.TestCase):

    def test_user_data_is_cloud_config_with_key_and_sudo(self):
        text = seed.user_data('ssh-ed25519 AAAA test')
        self.assertTrue(text.startswith('#cloud-config\n'))
        self.assertIn('"ssh-ed25519 AAAA test"', text)
        self.assertIn('NOPASSWD:ALL', text)

    def test_meta_data(self):
        self.assertEqual('instance-id: i-1\nlocal-hostname: h\n',
                         seed.meta_data('i-1', 'h'))


def dns_response(query, addresses, rcode=0):
    """A response to ``query`` answering with compressed-name A records."""
    query_id, = struct.unpack('!H', query[:2])
    header = struct.pack('!HHHHHH', query_id, 0x8180 | rcode, 1,
                         len(addresses), 0, 0)
    answers = b''.join(struct.pack('!HHHIH', 0xc00c, 1, 1, 60, 4)
                       + socket.inet_aton(a) for a in addresses)
    return header + query[12:] + answers


class ProbeTest(testtools.TestCase):

    def test_query_encodes_labels(self):
        packet = probe.dns_query('a.bc.test', query_id=7)
        self.assertEqual(struct.pack('!H', 7), packet[:2])
        self.assertEqual(b'\x01a\x02bc\x04test\x00\x00\x01\x00\x01',
                         packet[12:])

    def test_answers_parsed(self):
        query = probe.dns_query('upstream.akanda.test')
        self.assertEqual(['172.16.77.1', '10.0.0.2'], probe.dns_answers(
            dns_response(query, ['172.16.77.1', '10.0.0.2'])))

    def test_error_code_raises(self):
        query = probe.dns_query('missing.test')
        self.assertRaises(ValueError, probe.dns_answers,
                          dns_response(query, [], rcode=3))

    def test_serve_and_connect_report_the_peer(self):
        listener = socket.socket()
        listener.bind(('127.0.0.1', 0))
        port = listener.getsockname()[1]
        listener.close()
        import threading
        seen = []
        server = threading.Thread(
            target=lambda: seen.append(probe.serve_once('127.0.0.1', port,
                                                        timeout=10)))
        self.useFixture(fixtures.MonkeyPatch('builtins.print',
                                             lambda *a, **k: None))
        server.start()
        answer = None
        for _ in range(50):
            try:
                answer = probe.connect('127.0.0.1', port, timeout=5)
                break
            except ConnectionRefusedError:
                server.join(0.1)
        server.join(10)
        self.assertEqual('127.0.0.1', answer)
        self.assertEqual(['127.0.0.1'], seen)


class QemuCommandTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.tools.require', lambda p: '/usr/bin/' + p))

    def test_filesystem_image_boots_kernel_with_classic_names(self):
        machine = qemu.Machine('img.qcow2', 'seed.iso', 'console.log',
                               kernel='k', initrd='i')
        command = machine.command()
        append = command[command.index('-append') + 1]
        self.assertIn('root=/dev/vda', append)
        self.assertIn('net.ifnames=0', append)
        self.assertIn('file=img.qcow2,if=virtio,snapshot=on', command)
        self.assertEqual('tcg', command[command.index('-accel') + 1])

    def test_whole_disk_boots_as_is(self):
        command = qemu.Machine('img.qcow2', 'seed.iso', 'c.log').command()
        self.assertNotIn('-kernel', command)

    def test_nics_in_role_order_with_forwards_and_taps(self):
        machine = qemu.Machine('img', 'seed', 'c', taps={
            'external': 'tx', 'internal': 'ti'})
        command = ' '.join(machine.command())
        mgmt = command.index(qemu.MACS['mgmt'])
        self.assertLess(mgmt, command.index(qemu.MACS['external']))
        self.assertLess(command.index(qemu.MACS['external']),
                        command.index(qemu.MACS['internal']))
        self.assertIn('hostfwd=tcp:127.0.0.1:%d-:22' % machine.ssh_port,
                      command)
        self.assertEqual(1, command.count('hostfwd='))
        self.assertIn('tap,id=internal,ifname=ti,script=no', command)

    def test_without_taps_the_other_nics_are_isolated(self):
        command = ' '.join(qemu.Machine('img', 'seed', 'c').command())
        self.assertIn('user,id=external,restrict=on', command)
        self.assertIn('user,id=internal,restrict=on', command)


class BootFilesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.kind = image_check.DISK
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.image_check.kind', lambda i: self.kind))

    def touch(self, name):
        path = os.path.join(self.dir, name)
        open(path, 'w').close()
        return path

    def test_filesystem_without_kernel_is_refused_at_once(self):
        self.kind = image_check.FILESYSTEM
        image = self.touch('fs.qcow2')
        error = self.assertRaises(errors.UsageError, runner.boot_files,
                                  image)
        self.assertIn('filesystem image with no kernel', str(error))
        kernel, initrd = self.touch('fs.vmlinuz'), self.touch('fs.initrd')
        self.assertEqual((kernel, initrd), runner.boot_files(image))

    def test_found_beside_the_image(self):
        image = self.touch('x.qcow2')
        kernel, initrd = self.touch('x.vmlinuz'), self.touch('x.initrd')
        self.assertEqual((kernel, initrd), runner.boot_files(image))

    def test_none_beside_means_whole_disk(self):
        self.assertEqual((None, None),
                         runner.boot_files(self.touch('x.qcow2')))

    def test_missing_image_and_half_pairs_are_usage_errors(self):
        self.assertRaises(errors.UsageError, runner.boot_files,
                          os.path.join(self.dir, 'nope.qcow2'))
        image = self.touch('x.qcow2')
        self.assertRaises(errors.UsageError, runner.boot_files, image,
                          kernel=self.touch('k'))
        self.assertRaises(errors.UsageError, runner.boot_files, image,
                          kernel=self.touch('k2'),
                          initrd=os.path.join(self.dir, 'missing'))


class InterleavedBootsTest(testtools.TestCase):

    class FakeSession:
        def __init__(self, name, boots, log):
            self.name, self.log = name, log
            self.options = runner.Options(boots=boots)
            self.boots = []

        def boot(self):
            self.boots.append(len(self.boots))
            self.log.append(self.name)

        def report(self):
            return {'image': self.name, 'boots': list(self.boots)}

    def test_images_boot_in_turn(self):
        log = []
        sessions = [self.FakeSession('baseline', 3, log),
                    self.FakeSession('slim', 3, log)]
        reports = runner.verify_interleaved(sessions)
        self.assertEqual(['baseline', 'slim'] * 3, log)
        self.assertEqual(['baseline', 'slim'], [r['image'] for r in reports])

    def test_each_image_boots_its_own_count(self):
        log = []
        runner.verify_interleaved([self.FakeSession('a', 1, log),
                                   self.FakeSession('b', 2, log)])
        self.assertEqual(['a', 'b', 'b'], log)


class WaitForBootTest(testtools.TestCase):
    """SSH that drops once sshd restarts is awaited again, not failed."""

    class FakeMachine:
        console_log = 'console-1.log'

        def __init__(self):
            self.started_at = time.monotonic()

        def alive(self):
            return True

        def panic(self):
            return None

        def running(self):
            return True

    class FakeSsh:
        def __init__(self, answers):
            self.answers = list(answers)
            self.commands, self.waits = [], 0

        def wait_ready(self, deadline, alive):
            self.waits += 1
            return time.monotonic() < deadline

        def run(self, remote, timeout):
            self.commands.append(remote)
            code, out = self.answers.pop(0)
            return subprocess.CompletedProcess(remote, code, out, '')

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())

    def test_a_dropped_session_waits_for_ssh_again(self):
        ssh = self.FakeSsh([(255, ''), (0, 'running\n')])
        timings = runner.wait_for_boot(self.FakeMachine(), ssh,
                                       runner.Options(boot_timeout=60))
        self.assertEqual('running', timings['system_state'])
        self.assertEqual(2, ssh.waits)
        self.assertEqual(2, len(ssh.commands))

    def test_a_degraded_boot_is_reported_not_retried(self):
        ssh = self.FakeSsh([(1, 'degraded\n')])
        timings = runner.wait_for_boot(self.FakeMachine(), ssh,
                                       runner.Options(boot_timeout=60))
        self.assertEqual('degraded', timings['system_state'])
        self.assertEqual(1, ssh.waits)

    def test_a_boot_unfinished_at_the_deadline_has_no_state(self):
        clock = [1000.0]
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.runner.time.monotonic', lambda: clock[0]))
        machine = self.FakeMachine()
        ssh = self.FakeSsh([])

        def run(remote, timeout):
            clock[0] += 61  # ssh's timeout ran into the boot's deadline
            return subprocess.CompletedProcess(remote, 255, '', '')
        ssh.run = run
        timings = runner.wait_for_boot(machine, ssh,
                                       runner.Options(boot_timeout=60))
        self.assertEqual('', timings['system_state'])
        self.assertEqual(1, ssh.waits)

    def test_ssh_that_never_comes_back_ends_at_the_timeout(self):
        machine = self.FakeMachine()
        machine.started_at -= 61
        ssh = self.FakeSsh([])
        self.assertRaises(errors.BootError, runner.wait_for_boot, machine, ssh,
                          runner.Options(boot_timeout=60))


class PanicTest(testtools.TestCase):

    PANIC = ('[    3.56] ---[ end Kernel panic - not syncing: Fatal '
             'exception in interrupt ]---')

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.FakeLogger())

    def machine(self, console_text):
        log = os.path.join(self.dir, 'console-2.log')
        if console_text is not None:
            with open(log, 'w') as out:
                out.write(console_text)
        return qemu.Machine('x.qcow2', 'seed.iso', log)

    def test_panic_line_read_from_the_console_log(self):
        self.assertIsNone(self.machine(None).panic())
        self.assertIsNone(self.machine('[ 0.0] Linux version\n').panic())
        self.assertEqual(self.PANIC, self.machine(
            '[ 0.0] Linux version\n' + self.PANIC + '\n').panic())
        rescue = 'ALERT!  /dev/vda does not exist.  Dropping to a shell!'
        self.assertEqual(rescue, self.machine(
            'Gave up waiting for root file system device.\n' + rescue
            + '\n(initramfs) ').panic())

    def session(self, outcomes, run_checks=True):
        """A Session whose boots follow ``outcomes`` ('ok' or 'panic')."""
        session = runner.Session.__new__(runner.Session)
        session.image, session.workdir = 'x.qcow2', self.dir
        session.options = runner.Options(boots=3, run_checks=run_checks)
        session.boots, session.panics = [], []
        plan = iter(outcomes)

        def boot_once(number, first):
            log = os.path.join(self.dir, 'console-%d.log' % number)
            with open(log, 'w') as out:
                out.write(self.PANIC)
            if next(plan) == 'panic':
                raise errors.GuestPanicError(self.PANIC, log)
            session.boots.append({'boot': number})

        session._boot_once = boot_once
        return session

    def test_timing_boot_that_panics_is_booted_again_and_recorded(self):
        session = self.session(['ok', 'panic', 'ok'])
        session.boot()
        session.boot()
        self.assertEqual([{'boot': 1}, {'boot': 2}], session.boots)
        kept = os.path.join(self.dir, 'console-2-panic.log')
        self.assertEqual([{'boot': 2, 'panic': self.PANIC,
                           'console_log': kept}], session.panics)
        self.assertTrue(os.path.exists(kept))

    def test_second_panic_of_a_boot_fails(self):
        session = self.session(['ok', 'panic', 'panic'])
        session.boot()
        self.assertRaises(errors.GuestPanicError, session.boot)
        checks_boot = self.session(['panic', 'ok'])
        checks_boot.boot()
        self.assertEqual([{'boot': 1}], checks_boot.boots)
        self.assertEqual([1], [p['boot'] for p in checks_boot.panics])
        self.assertRaises(errors.GuestPanicError,
                          self.session(['panic', 'panic']).boot)

    def test_no_checks_boots_time_only_and_reports_no_verdict(self):
        from akanda_slim import cli
        from akanda_slim.commands import verify
        argv = ['verify', '--no-checks', '--boots', '3', 'x.qcow2']
        args = cli.build_parser(argv).parse_args(argv)
        self.assertFalse(verify._options(args).run_checks)
        session = self.session(['ok'], run_checks=False)
        self.useFixture(fixtures.MonkeyPatch(
            'os.path.getsize', lambda path: 1))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.measure.copy_seconds', lambda path: 0))
        session.boot()
        session.kernel = session.initrd = session.host_networks = None
        session.results, session.figures = [], {}
        session.boots[0].update(ssh_ready_seconds=1.0,
                                boot_finished_seconds=2.0,
                                memory_used_kib=1024)
        report = session.report()
        self.assertIsNone(report['checks_passed'])
        self.assertIn('no checks run', verify.summary({'image': report}))

    def test_comparison_names_the_panics(self):
        report = {'panics': [{'boot': 3, 'panic': 'Kernel panic - x',
                              'console_log': 'c'}]}
        self.assertEqual(['baseline boot 3: guest kernel panic '
                          '(Kernel panic - x), booted again'],
                         compare.panic_lines('baseline', report))


class RunChecksTest(testtools.TestCase):

    def test_statuses_and_prerequisites(self):
        def good(ctx):
            return 'fine'

        def bad(ctx):
            raise checks.Failed('broken')

        def unavailable(ctx):
            raise checks.NotRun('needs root')

        results = list(checks.run_checks(None, checks=(
            ('a', good, ()), ('b', bad, ('a',)), ('c', good, ('b',)),
            ('d', unavailable, ()), ('e', good, ('d',)))))
        self.assertEqual(
            [('a', 'pass', 'fine'), ('b', 'fail', 'broken'),
             ('c', 'not run', 'needs b'), ('d', 'not run', 'needs root'),
             ('e', 'not run', 'needs d')],
            [(r.name, r.status, r.detail) for r in results])

    def test_nothing_runs_after_a_guest_panic(self):
        ran = []

        class Machine:
            def panic(self):
                return 'Kernel panic - not syncing' if ran else None

        def check(ctx):
            ran.append(1)
            return 'fine'

        ctx = checks.Context(ssh=None, machine=Machine())
        results = list(checks.run_checks(ctx, checks=(
            ('a', check, ()), ('b', check, ()))))
        self.assertEqual([1], ran)
        self.assertEqual(
            [('a', 'pass', 'fine'),
             ('b', 'not run', 'guest kernel panic: Kernel panic - not '
              'syncing')],
            [(r.name, r.status, r.detail) for r in results])

    def test_a_termination_signal_stops_the_checks(self):
        ran = []

        class Machine:
            def panic(self):
                return None

        def interrupted(ctx):
            ran.append('a')
            raise termination.Interrupted(signal.SIGTERM)

        def check(ctx):
            ran.append('b')
            return 'fine'

        ctx = checks.Context(ssh=None, machine=Machine())
        self.assertRaises(termination.Interrupted, list, checks.run_checks(
            ctx, checks=(('a', interrupted, ()), ('b', check, ()))))
        self.assertEqual(['a'], ran)

    def test_every_check_is_named_once_and_ordered(self):
        for checks_set in check_sets.SETS.values():
            names = [name for name, _, _ in checks_set]
            self.assertEqual(len(names), len(set(names)))
            for position, (name, _, needs) in enumerate(checks_set):
                for need in needs:
                    self.assertIn(need, names[:position])

    def test_ssh_checks_run_before_the_agent_closes_ipv4(self):
        names = [name for name, _, _ in check_sets.DEFAULT]
        for name in ('login', 'datasource', 'boot-clean', 'package-update',
                     'rootwrap'):
            self.assertLess(names.index(name), names.index('router-config'))


class ReloadTest(testtools.TestCase):

    class FakeSsh:
        def check(self, command):
            return 'boot-1\n'

        def run(self, command, timeout=None):
            return subprocess.CompletedProcess(command, 0, '', '')

        def wait_ready(self, deadline, alive, probe='true'):
            return alive()

    class FakeMachine:
        def __init__(self, panic):
            self.panic = lambda: panic

        def alive(self):
            return self.panic() is None and False

    def _reload(self, panic):
        ctx = checks.Context(ssh=self.FakeSsh(),
                             machine=self.FakeMachine(panic), networks=None,
                             workdir='/nonexistent', boot_timeout=5,
                             seed=None)
        return self.assertRaises(checks.Failed, router_checks.reload, ctx)

    def test_a_panic_after_the_reboot_is_named(self):
        failure = self._reload('[ 5.1] Kernel panic - not syncing: Fatal')
        self.assertEqual('guest kernel panic after the reboot: '
                         '[ 5.1] Kernel panic - not syncing: Fatal',
                         str(failure))

    def test_otherwise_a_timeout(self):
        failure = self._reload(None)
        self.assertEqual('no SSH on the management network within 5 s of '
                         'the reboot', str(failure))


class BootCleanTest(testtools.TestCase):

    class FakeSsh:
        def __init__(self, answers):
            self.answers = answers

        def _answer(self, command):
            for start, out in self.answers.items():
                if command.startswith(start):
                    return out
            raise AssertionError('unexpected command: ' + command)

        def check(self, command):
            return self._answer(command)

        def run(self, command, timeout=None):
            answer = self._answer(command)
            if isinstance(answer, subprocess.CompletedProcess):
                return answer
            return subprocess.CompletedProcess(command, 0, answer, '')

    def _boot_clean(self, answers):
        ctx = checks.Context(ssh=self.FakeSsh(answers), machine=None,
                             networks=None, workdir='/nonexistent',
                             boot_timeout=5, seed=None)
        return checks.boot_clean(ctx)

    def test_running_without_failed_units_passes(self):
        self.assertEqual('systemd: running, no failed units',
                         self._boot_clean({
                             'sudo systemctl is-system-running': 'running\n',
                             'sudo systemctl list-units': '\n'}))

    def test_a_failed_unit_says_why_it_failed(self):
        failure = self.assertRaises(checks.Failed, self._boot_clean, {
            'sudo systemctl is-system-running': 'degraded\n',
            'sudo systemctl list-units':
                'cloud-init-main.service loaded failed failed Cloud-init\n',
            'systemctl show': 'Result=oom-kill\nExecMainStatus=9\n---\n'
                              'Killed\nFailed with result oom-kill.\n'})
        self.assertEqual(
            'system degraded; failed units: cloud-init-main.service (result '
            'oom-kill, status 9; last logged: Killed / Failed with result '
            'oom-kill.)', str(failure))

    def test_a_mount_unit_has_no_main_status(self):
        failure = self.assertRaises(checks.Failed, self._boot_clean, {
            'sudo systemctl is-system-running': 'degraded\n',
            'sudo systemctl list-units':
                'dev-hugepages.mount loaded failed failed Huge Pages\n',
            'systemctl show': 'Result=signal\n---\n'})
        self.assertEqual(
            'system degraded; failed units: dev-hugepages.mount (result '
            'signal, status -; last logged: -)', str(failure))

    def test_a_unit_whose_state_cannot_be_read_says_so(self):
        failure = self.assertRaises(checks.Failed, self._boot_clean, {
            'sudo systemctl is-system-running': 'degraded\n',
            'sudo systemctl list-units': 'x.service loaded failed failed X\n',
            'systemctl show': subprocess.CompletedProcess(
                'ssh', 255, '', 'Connection reset by peer\n')})
        self.assertEqual(
            'system degraded; failed units: x.service (why not read: exit '
            '255 Connection reset by peer)', str(failure))

    def test_degraded_without_a_listed_unit(self):
        failure = self.assertRaises(checks.Failed, self._boot_clean, {
            'sudo systemctl is-system-running': 'starting\n',
            'sudo systemctl list-units': ''})
        self.assertEqual('system starting; failed units: -', str(failure))


def report(ssh, boot, memory, qcow2, checks_status, counts):
    return {
        'median': {'ssh_ready_seconds': ssh,
                   'boot_finished_seconds': boot,
                   'memory_used_kib': memory},
        'boots': [{}] * 3, 'accel': 'tcg', 'memory_mib': 1024,
        'qcow2_bytes': qcow2, 'copy_seconds': 1.0,
        'surface': {name: {'count': counts} for name in measure.SURFACE},
        'checks': [{'name': n, 'status': s} for n, s in checks_status],
    }


class CompareTest(testtools.TestCase):

    def test_ratios_and_regressions(self):
        baseline = report(40.0, 60.0, 102400, 300 << 20,
                          [('login', 'pass'), ('routing', 'pass'),
                           ('reload', 'fail')], 10)
        slim = report(30.0, 45.0, 81920, 100 << 20,
                      [('login', 'pass'), ('routing', 'fail'),
                       ('reload', 'fail')], 5)
        rows = {r[0]: r[1:] for r in compare.rows(baseline, slim)}
        self.assertEqual(('40.0 s', '30.0 s', '0.75'),
                         rows['QEMU start to SSH (median)'])
        self.assertEqual(('300.0 MiB', '100.0 MiB', '0.33'),
                         rows['qcow2 size'])
        self.assertEqual(['routing'], compare.regressions(baseline, slim))
        text = compare.text(baseline, slim)
        self.assertIn('Medians of 3 boot(s)', text)
        self.assertIn('routing  pass      FAIL', text)

    def test_median(self):
        self.assertEqual(2, measure.median([3, 1, 2]))
        self.assertEqual(2.5, measure.median([4, 1, 2, 3]))
        self.assertIsNone(measure.median([]))


class VerifyCommandTest(testtools.TestCase):

    def main(self, *argv):
        from akanda_slim import cli
        import io
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.commands.verify._install_host_packages',
            lambda: None))
        err = self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                                   io.StringIO())).new_value
        return cli.main(list(argv)), err.getvalue()

    def test_bad_input_is_a_one_line_usage_error(self):
        directory = self.useFixture(fixtures.TempDir()).path
        image = os.path.join(directory, 'x.qcow2')
        code, err = self.main('verify', image)
        self.assertEqual((2, 1), (code, len(err.strip().splitlines())))
        self.assertIn('no such image', err)
        with open(image, 'w') as text:
            text.write('not an image\n')
        code, err = self.main('verify', image, '--boots', '0')
        self.assertEqual(2, code)
        self.assertIn('--boots', err)
        code, err = self.main('verify', image, '--kernel', image)
        self.assertEqual(2, code)
        self.assertIn('--initrd', err)

    @testtools.skipUnless(shutil.which('qemu-img'), 'needs qemu-img')
    def test_text_file_refused_before_booting(self):
        directory = self.useFixture(fixtures.TempDir()).path
        image = os.path.join(directory, 'x.qcow2')
        with open(image, 'w') as text:
            text.write('not an image\n')
        code, err = self.main('verify', image)
        self.assertEqual((2, 1), (code, len(err.strip().splitlines())))
        self.assertIn('nothing verify can boot', err)

    def test_datasource_choices(self):
        from akanda_slim import cli
        parser = cli.build_parser(['verify'])
        self.assertEqual('configdrive',
                         parser.parse_args(['verify', 'x']).datasource)
        self.assertEqual('metadata', parser.parse_args(
            ['verify', '--datasource', 'metadata', 'x']).datasource)

    def test_key_pair_removed_unless_log_dir_given(self):
        from akanda_slim.commands import verify
        log_dir = self.useFixture(fixtures.TempDir()).path
        run = os.path.join(log_dir, 'verify-abc')
        os.makedirs(run)
        for name in ('id_ed25519', 'id_ed25519.pub', 'console-1.log'):
            open(os.path.join(run, name), 'w').close()
        verify._remove_keys(log_dir)
        self.assertEqual(['console-1.log'], os.listdir(run))


def an_instance(user_data='#cloud-config\n{}\n'):
    return instance.Instance(
        uuid='0b5c2f0e-1111-4222-8333-444455556666', hostname='akanda-router',
        public_key='ssh-ed25519 AAAA test', user_data=user_data,
        macs=dict(qemu.MACS),
        addresses={'external': {'ip': '172.16.77.10',
                                'netmask': '255.255.255.0'}})


class InstanceDataTest(testtools.TestCase):

    def test_config_drive_layout_as_nova_writes_it(self):
        files = instance.config_drive_files(an_instance())
        for path in ('openstack/latest/meta_data.json',
                     'openstack/latest/network_data.json',
                     'openstack/latest/user_data',
                     'openstack/latest/vendor_data.json',
                     'openstack/latest/vendor_data2.json',
                     'ec2/latest/meta-data.json', 'ec2/latest/user-data',
                     'openstack/2015-10-15/network_data.json'):
            self.assertIn(path, files)
        # Versions before Liberty carry no network_data.json, as in Nova.
        self.assertNotIn('openstack/2013-10-17/network_data.json', files)
        self.assertIn('openstack/2013-10-17/vendor_data.json', files)
        self.assertNotIn('openstack/2013-04-04/vendor_data.json', files)
        meta = json.loads(files['openstack/latest/meta_data.json'])
        self.assertEqual('0b5c2f0e-1111-4222-8333-444455556666', meta['uuid'])
        self.assertEqual({'akanda-slim-verify': 'ssh-ed25519 AAAA test'},
                         meta['public_keys'])
        self.assertEqual('ssh', meta['keys'][0]['type'])
        for key in ('hostname', 'name', 'availability_zone', 'launch_index'):
            self.assertIn(key, meta)

    def test_network_data_names_the_three_nics_by_mac(self):
        data = instance.network_data(an_instance())
        self.assertEqual(sorted(qemu.MACS.values()), sorted(
            link['ethernet_mac_address'] for link in data['links']))
        by_link = {n['link']: n for n in data['networks']}
        links = {link['ethernet_mac_address']: link['id']
                 for link in data['links']}
        self.assertEqual('ipv4_dhcp',
                         by_link[links[qemu.MACS['mgmt']]]['type'])
        external = by_link[links[qemu.MACS['external']]]
        self.assertEqual(('ipv4', '172.16.77.10'),
                         (external['type'], external['ip_address']))
        self.assertEqual([], data['services'])

    def test_metadata_api_answers_what_cloud_init_asks(self):
        answers = instance.metadata_api(an_instance())
        self.assertIn('latest', answers['/openstack'].split())
        self.assertEqual(answers['/openstack'], answers['/openstack/'])
        self.assertIn('meta_data.json',
                      answers['/openstack/latest'].split())
        self.assertIn('public-keys/',
                      answers['/latest/meta-data/'].split())
        self.assertEqual('0=akanda-slim-verify',
                         answers['/latest/meta-data/public-keys/'])
        self.assertEqual('ssh-ed25519 AAAA test', answers[
            '/latest/meta-data/public-keys/0/openssh-key'])
        self.assertEqual('nova', answers[
            '/latest/meta-data/placement/availability-zone'])
        self.assertEqual(an_instance().user_data,
                         answers['/openstack/latest/user_data'])


class MetadataServerTest(testtools.TestCase):
    """The server as QEMU runs it: one connection on stdin/stdout."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.answers = os.path.join(self.dir, 'answers.json')
        with open(self.answers, 'w') as out:
            json.dump(instance.metadata_api(an_instance()), out)

    def request(self, raw):
        ours, theirs = socket.socketpair()
        server = subprocess.Popen(
            [sys.executable, '-m', 'akanda_slim.bootcheck.metadata_server',
             self.answers], stdin=theirs, stdout=theirs, stderr=theirs)
        theirs.close()
        with ours:
            ours.sendall(raw)
            reply = b''
            while True:
                chunk = ours.recv(65536)
                if not chunk:
                    break
                reply += chunk
        self.assertEqual(0, server.wait(30))
        return reply

    def test_answers_a_get_and_logs_it(self):
        reply = self.request(b'GET /openstack/latest/meta_data.json '
                             b'HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n')
        head, body = reply.split(b'\r\n\r\n', 1)
        self.assertTrue(head.startswith(b'HTTP/1.0 200'))
        self.assertEqual('0b5c2f0e-1111-4222-8333-444455556666',
                         json.loads(body)['uuid'])
        with open(os.path.join(self.dir,
                               metadata_server.REQUESTS_LOG)) as log:
            self.assertIn('/openstack/latest/meta_data.json', log.read())

    def test_unknown_paths_and_methods_are_refused(self):
        self.assertIn(b' 404 ', self.request(
            b'GET /etc/passwd HTTP/1.0\r\n\r\n').split(b'\r\n')[0])
        self.assertIn(b' 501 ', self.request(
            b'POST /openstack HTTP/1.0\r\n\r\n').split(b'\r\n')[0])

    def test_an_oversized_answers_file_is_refused(self):
        with open(self.answers, 'w') as out:
            out.write('{"x": "%s"}' % (
                'y' * metadata_server.MAX_ANSWERS_BYTES))
        self.assertRaises(ValueError, metadata_server.load_answers,
                          self.answers)


class QemuDataSourceTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.tools.require', lambda p: '/usr/bin/' + p))

    def test_metadata_service_on_nova_addresses_with_smbios(self):
        command = qemu.Machine('img', None, 'c', metadata_answers='/w/a.json',
                               openstack_smbios=True).command()
        mgmt = [a for a in command if a.startswith('user,id=access')][0]
        self.assertIn('net=169.254.169.0/24,', mgmt)
        self.assertIn('guestfwd=tcp:169.254.169.254:80-cmd:', mgmt)
        self.assertIn('akanda_slim.bootcheck.metadata_server /w/a.json',
                      mgmt)
        self.assertIn('product=OpenStack Nova',
                      command[command.index('-smbios') + 1])
        self.assertNotIn('media=cdrom', ' '.join(command))

    def test_nocloud_has_no_openstack_smbios(self):
        command = qemu.Machine('img', 'seed.iso', 'c').command()
        self.assertNotIn('-smbios', command)
        self.assertIn('file=seed.iso,if=virtio,media=cdrom,readonly=on',
                      command)

    def test_commas_in_paths_are_doubled(self):
        command = qemu.Machine('a,format=raw.qcow2', 's,x.iso', 'c,1.log',
                               metadata_answers='/w,x/a.json').command()
        self.assertIn('file=a,,format=raw.qcow2,if=virtio,snapshot=on',
                      command)
        self.assertIn('file=s,,x.iso,if=virtio,media=cdrom,readonly=on',
                      command)
        self.assertIn('file:c,,1.log', command)
        mgmt = [a for a in command if a.startswith('user,id=access')][0]
        self.assertIn('/w,,x/a.json', mgmt)


class PortRetryTest(testtools.TestCase):
    """A host port taken before QEMU binds it: QEMU exits, start retries."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.qemu.STARTUP_SECONDS', 0.5))

    def fake_qemu(self, body):
        path = os.path.join(self.dir, 'qemu')
        with open(path, 'w') as script:
            script.write('#!/bin/sh\n' + body)
        os.chmod(path, 0o755)
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.tools.require', lambda p: path))

    def test_taken_port_is_retried_on_fresh_ports(self):
        # Fails on its first run, as QEMU does when hostfwd cannot bind.
        flag = os.path.join(self.dir, 'ran')
        self.fake_qemu(
            'if [ ! -e %s ]; then touch %s; echo "qemu: Could not set up '
            'host forwarding rule tcp:127.0.0.1:1-:22"; exit 1; fi\n'
            'exec sleep 30\n' % (flag, flag))
        machine = qemu.Machine('img', None, os.path.join(self.dir, 'c.log'))
        self.addCleanup(machine.stop)
        first = machine.ssh_port
        machine.start()
        self.assertTrue(machine.running())
        self.assertTrue(os.path.exists(flag))
        self.assertNotEqual(first, machine.ssh_port)

    def test_other_failures_are_not_retried(self):
        self.fake_qemu('echo "qemu: bad drive"; exit 1\n')
        machine = qemu.Machine('img', None, os.path.join(self.dir, 'c.log'))
        error = self.assertRaises(errors.BootError, machine.start)
        self.assertIn('bad drive', str(error))


class ImageCheckTest(testtools.TestCase):

    def test_signatures(self):
        disk = bytearray(image_check.HEAD_BYTES)
        disk[510:512] = b'\x55\xaa'
        self.assertEqual(image_check.DISK, image_check.identify(disk)[0])
        ext4 = bytearray(image_check.HEAD_BYTES)
        ext4[1080:1082] = b'\x53\xef'
        self.assertEqual(image_check.FILESYSTEM,
                         image_check.identify(ext4)[0])
        self.assertIsNone(image_check.identify(b'hello\n')[0])

    @testtools.skipUnless(shutil.which('qemu-img') and shutil.which(
        'mkfs.ext4'), 'needs qemu-img and mkfs.ext4 (e2fsprogs)')
    def test_real_qcow2_filesystem_and_other_formats(self):
        work = self.useFixture(fixtures.TempDir()).path
        raw = os.path.join(work, 'fs.raw')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', raw, '8M'],
                       check=True)
        subprocess.run(['mkfs.ext4', '-q', '-F', raw], check=True)
        qcow2 = os.path.join(work, 'fs.qcow2')
        subprocess.run(['qemu-img', 'convert', '-O', 'qcow2', raw, qcow2],
                       check=True)
        self.assertEqual(image_check.FILESYSTEM, image_check.kind(qcow2))
        vmdk = os.path.join(work, 'fs.vmdk')
        subprocess.run(['qemu-img', 'convert', '-O', 'vmdk', raw, vmdk],
                       check=True)
        error = self.assertRaises(errors.UsageError, image_check.kind, vmdk)
        self.assertIn('vmdk', str(error))


class PackageUpdateTest(testtools.TestCase):

    def test_choose_first_missing_and_first_installed(self):
        self.assertEqual(('dos2unix', 'netbase'), package_update.choose(
            {'hello', 'netbase', 'sensible-utils'}))
        self.assertRaises(errors.VerificationError, package_update.choose,
                          set(package_update.NEW_CANDIDATES))

    def test_sources_come_from_the_mirror_settings(self):
        text = package_update.sources('trixie', environ={
            'DIB_DISTRIBUTION_MIRROR': 'http://mirror.invalid/debian',
            'DIB_DEBIAN_SECURITY_MIRROR': 'http://sec.invalid/ds'})
        lines = text.splitlines()
        self.assertEqual(3, len(lines))
        self.assertTrue(lines[0].endswith(
            'http://mirror.invalid/debian trixie main'))
        self.assertTrue(lines[1].endswith('trixie-updates main'))
        self.assertTrue(lines[2].endswith(
            'http://sec.invalid/ds trixie-security main'))

    def test_apt_state_stays_in_the_work_directory(self):
        work = self.useFixture(fixtures.TempDir()).path
        options = package_update.apt_options(work)
        values = [o.split('=', 1)[1] for o in options[1::2]
                  if o.startswith('Dir::')]
        self.assertTrue(values)
        for value in values:
            self.assertTrue(value.startswith(work) or value == os.devnull,
                            value)

    def test_a_relative_work_directory_gives_absolute_paths(self):
        # apt reads a relative Dir::Etc::SourceList from /etc/apt
        work = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch('os.getcwd', lambda: work))
        options = package_update.apt_options('logs')
        values = [o.split('=', 1)[1] for o in options[1::2]
                  if o.startswith('Dir::')]
        for value in values:
            self.assertTrue(os.path.isabs(value), value)
        self.assertIn(os.path.join(work, 'logs', 'sources.list'), values)


@testtools.skipUnless(shutil.which('genisoimage') and shutil.which(
    'ssh-keygen') and shutil.which('isoinfo'),
    'needs genisoimage, isoinfo and ssh-keygen')
class MakeSeedTest(testtools.TestCase):

    def iso_files(self, iso):
        return subprocess.run(['isoinfo', '-R', '-f', '-i', iso], text=True,
                              check=True, stdout=subprocess.PIPE
                              ).stdout.split()

    def volume_id(self, iso):
        text = subprocess.run(['isoinfo', '-d', '-i', iso], text=True,
                              check=True, stdout=subprocess.PIPE).stdout
        return [line.split(':', 1)[1].strip() for line in text.splitlines()
                if line.startswith('Volume id:')][0]

    def test_config_drive(self):
        work = self.useFixture(fixtures.TempDir()).path
        made = seed.make_seed(work, 'configdrive')
        self.assertEqual('config-2', self.volume_id(made.iso))
        files = self.iso_files(made.iso)
        self.assertIn('/openstack/latest/meta_data.json', files)
        self.assertIn('/ec2/latest/meta-data.json', files)
        self.assertEqual('ConfigDrive', made.cloud_init_name)
        self.assertIsNone(made.metadata_answers)

    def test_nocloud_and_metadata(self):
        work = self.useFixture(fixtures.TempDir()).path
        made = seed.make_seed(work, 'nocloud')
        self.assertEqual('cidata', self.volume_id(made.iso))
        self.assertEqual(['/meta-data', '/user-data'],
                         sorted(self.iso_files(made.iso)))
        work = self.useFixture(fixtures.TempDir()).path
        made = seed.make_seed(work, 'metadata')
        self.assertIsNone(made.iso)
        with open(made.metadata_answers) as data:
            answers = json.load(data)
        self.assertEqual(made.instance_id, json.loads(
            answers['/openstack/latest/meta_data.json'])['uuid'])

    def test_unknown_datasource(self):
        work = self.useFixture(fixtures.TempDir()).path
        self.assertRaises(errors.UsageError, seed.make_seed, work, 'ec2')


class FakeSsh:
    def __init__(self, answers):
        self.answers = answers

    def check(self, command, **kwargs):
        for key, value in self.answers.items():
            if key in command:
                return value
        raise AssertionError(command)


class DataSourceCheckTest(testtools.TestCase):

    def ctx(self, used, instance_id='i-1', errors_=()):
        made = seed.Seed(iso=None, private_key='k', public_key='p',
                         datasource='configdrive', instance_id='i-1')
        result = json.dumps({'v1': {'datasource': used,
                                    'errors': list(errors_)}})
        return checks.Context(ssh=FakeSsh({
            'result.json': result, 'instance-id': instance_id + '\n'}),
            machine=None, seed=made)

    def test_expected_source_passes(self):
        detail = checks.datasource(self.ctx(
            'DataSourceConfigDrive [net,ver=2][source=/dev/sr0]'))
        self.assertIn('DataSourceConfigDrive', detail)

    def test_other_source_errors_or_instance_fail(self):
        self.assertRaises(checks.Failed, checks.datasource,
                          self.ctx('DataSourceNoCloud [seed=/dev/sr0]'))
        self.assertRaises(checks.Failed, checks.datasource,
                          self.ctx('DataSourceConfigDriveX'))
        self.assertRaises(checks.Failed, checks.datasource, self.ctx(
            'DataSourceConfigDrive', errors_=['boom']))
        self.assertRaises(checks.Failed, checks.datasource, self.ctx(
            'DataSourceConfigDrive', instance_id='other'))


class HostPackagesTest(testtools.TestCase):

    def test_root_installs_the_test_profile_and_says_what(self):
        from akanda_slim.commands import verify
        commands = []
        self.useFixture(fixtures.MonkeyPatch('os.geteuid', lambda: 0))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.hostdeps.missing_packages',
            lambda profile, bindep_file=None: ['qemu-system-x86']
            if profile == 'test' else self.fail(profile)))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.process.run',
            lambda command, **kwargs: commands.append(command)))
        logged = self.useFixture(fixtures.FakeLogger())
        verify._install_host_packages()
        self.assertEqual(['apt-get', 'install', '-y', '-qq',
                          'qemu-system-x86'], commands[-1])
        self.assertIn('installed host packages: qemu-system-x86',
                      logged.output)

    def test_not_root_installs_nothing(self):
        from akanda_slim.commands import verify
        self.useFixture(fixtures.MonkeyPatch('os.geteuid', lambda: 1000))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.hostdeps.install_missing',
            lambda profile: self.fail('installed as non-root')))
        verify._install_host_packages()


class PackageUpdateCheckTest(testtools.TestCase):
    """The check's guest side, with a scripted guest and a fake download."""

    class Guest:
        def __init__(self, audit=''):
            self.commands, self.copied, self.audit = [], [], audit

        def run(self, command, **kwargs):
            self.commands.append(command)
            if 'dpkg --audit' in command:
                return subprocess.CompletedProcess(command, 0, self.audit, '')
            return subprocess.CompletedProcess(command, 0, '', '')

        def check(self, command, **kwargs):
            self.commands.append(command)
            if 'os-release' in command:
                return 'trixie\n'
            if 'binary:Package' in command:
                return 'netbase install\nbash installed\nnetbase installed\n'
            if "${Version}" in command:
                name = command.split()[-1]
                return {'hello': '2.10-5 installed',
                        'netbase': '6.5 installed'}[name]
            return ''

        def copy_to(self, paths, remote):
            self.copied.append((list(paths), remote))

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path
        self.asked = []

        def download(release, names, workdir):
            self.asked.append((release, tuple(names)))
            return [os.path.join(workdir, 'hello_2.10-5_amd64.deb'),
                    os.path.join(workdir, 'netbase_6.5_all.deb')]

        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.package_update.download', download))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.package_update.version_of',
            lambda deb: os.path.basename(deb).split('_')[1]))

    def test_installs_both_with_apt_by_path_and_checks_dpkg(self):
        guest = self.Guest()
        ctx = checks.Context(ssh=guest, machine=None, workdir=self.work)
        detail = checks.package_update(ctx)
        self.assertEqual([('trixie', ('hello', 'netbase'))], self.asked)
        self.assertEqual(checks.GUEST_UPDATE_DIR + '/', guest.copied[0][1])
        install = [c for c in guest.commands if 'apt-get install' in c][0]
        self.assertIn(' /tmp/akanda-update/hello_2.10-5_amd64.deb '
                      '/tmp/akanda-update/netbase_6.5_all.deb', install)
        self.assertTrue(any('apt-get check' in c for c in guest.commands))
        self.assertIn('hello 2.10-5, netbase 6.5', detail)

    def test_dpkg_audit_output_fails_the_check(self):
        ctx = checks.Context(ssh=self.Guest(audit='x is half-configured'),
                             machine=None, workdir=self.work)
        error = self.assertRaises(checks.Failed, checks.package_update, ctx)
        self.assertIn('half-configured', str(error))


class StopTest(testtools.TestCase):

    def test_children_in_sessions_of_their_own_are_killed(self):
        # A parent whose child leaves its session, as slirp's guestfwd
        # commands do; stop() must still end the child.
        parent = subprocess.Popen(
            [sys.executable, '-c',
             'import subprocess, sys, time\n'
             'child = subprocess.Popen(["sleep", "60"],'
             ' start_new_session=True)\n'
             'print(child.pid, flush=True)\n'
             'time.sleep(60)\n'],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        child = int(parent.stdout.readline())
        self.assertEqual([child], qemu.children(parent.pid))
        machine = qemu.Machine('img', None, 'c')
        machine.process = parent
        machine.stop()
        parent.stdout.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(
                '/proc/%d' % child):
            with open('/proc/%d/stat' % child) as stat:
                if stat.read().split(') ', 1)[1].startswith('Z'):
                    break
            time.sleep(0.1)
        else:
            self.assertFalse(os.path.exists('/proc/%d' % child))


class MetadataRequestsCheckTest(testtools.TestCase):

    def test_metadata_service_must_have_been_asked(self):
        work = self.useFixture(fixtures.TempDir()).path
        ctx = DataSourceCheckTest.ctx(
            None, 'DataSourceOpenStackLocal [net,ver=2]')
        ctx.seed.datasource = 'metadata'
        ctx.seed.metadata_answers = os.path.join(work, 'answers.json')
        log = os.path.join(work, metadata_server.REQUESTS_LOG)
        with open(log, 'w') as out:
            out.write('"GET /openstack HTTP/1.1" 200 -\n')
        self.assertRaises(checks.Failed, checks.datasource, ctx)
        with open(log, 'a') as out:
            out.write('"GET /openstack/2018-08-27/meta_data.json HTTP/1.1" '
                      '200 -\n')
        self.assertIn('2 requests', checks.datasource(ctx))


class QemuNetworksTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.tools.require', lambda p: '/usr/bin/' + p))

    def test_user_network_first_and_restricted_taps_after(self):
        taps = {'mgmt': 'aksm1', 'external': 'aksx1', 'internal': 'aksi1',
                'internal2': 'aksj1'}
        command = qemu.Machine('img', None, 'c', taps=taps).command()
        devices = [command[i + 1] for i, a in enumerate(command)
                   if a == '-device']
        self.assertEqual(['access', 'mgmt', 'external', 'internal',
                          'internal2'],
                         [d.split('netdev=')[1].split(',')[0]
                          for d in devices])
        access = [a for a in command if a.startswith('user,id=access')][0]
        self.assertIn('restrict=on', access)
        for role, tap in taps.items():
            self.assertIn('tap,id=%s,ifname=%s,script=no,downscript=no'
                          % (role, tap), command)

    def test_guest_macs_differ_per_guest(self):
        first, second = qemu.guest_macs(0), qemu.guest_macs(1)
        self.assertEqual(qemu.MACS, first)
        self.assertFalse(set(first.values()) & set(second.values()))

    def test_link_local_is_eui64(self):
        from akanda_slim.bootcheck import network
        self.assertEqual('fe80::5054:ff:fea1:1',
                         network.link_local('52:54:00:a1:00:01'))
        self.assertEqual('fe80::200:ff:fe00:0',
                         network.link_local('00:00:00:00:00:00'))


class ProbeHttpTest(testtools.TestCase):

    def test_metadata_stand_in_answers_the_proxy_headers(self):
        port = qemu.free_port()
        server = subprocess.Popen(
            [sys.executable, '-m', 'akanda_slim.bootcheck.probe',
             'metadata', '127.0.0.1', str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(server.communicate)
        self.addCleanup(server.kill)
        self.assertEqual('listening', server.stdout.readline().strip())
        status, text = probe.http_request('GET', '127.0.0.1', port,
                                          '/latest/meta-data/instance-id')
        self.assertEqual(200, status)
        answer = json.loads(text)
        self.assertEqual('/latest/meta-data/instance-id', answer['path'])
        self.assertEqual('', answer['X-Instance-ID'])

    def test_http_prints_status_and_body_or_the_error(self):
        port = qemu.free_port()
        result = subprocess.run(
            [sys.executable, '-m', 'akanda_slim.bootcheck.probe', 'http',
             'GET', '127.0.0.1', str(port), '/'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(1, result.returncode)
        self.assertIn('error', json.loads(result.stdout))
        self.assertEqual('', result.stderr)


class MetadataSlotsTest(testtools.TestCase):

    def test_at_most_slots_servers_at_once(self):
        directory = self.useFixture(fixtures.TempDir()).path
        held = [metadata_server.take_slot(directory, slots=2)
                for _ in range(2)]
        self.assertTrue(all(held))
        self.assertIsNone(metadata_server.take_slot(directory, slots=2))
        held[0].close()
        again = metadata_server.take_slot(directory, slots=2)
        self.assertIsNotNone(again)
        again.close()
        held[1].close()
