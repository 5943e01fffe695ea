import os
import socket
import struct

import fixtures
import testtools

from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import compare
from akanda_slim.bootcheck import guest_config
from akanda_slim.bootcheck import measure
from akanda_slim.bootcheck import probe
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import runner
from akanda_slim.bootcheck import seed
from akanda_slim import errors


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
        self.assertIn('hostfwd=tcp:127.0.0.1:%d-:%d' % (
            machine.app_port, qemu.GUEST_APP_PORT), command)
        self.assertIn('tap,id=internal,ifname=ti,script=no', command)

    def test_without_taps_the_other_nics_are_isolated(self):
        command = ' '.join(qemu.Machine('img', 'seed', 'c').command())
        self.assertIn('user,id=external,restrict=on', command)
        self.assertIn('user,id=internal,restrict=on', command)


class BootFilesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def touch(self, name):
        path = os.path.join(self.dir, name)
        open(path, 'w').close()
        return path

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

    def test_second_panic_or_checks_boot_panic_fails(self):
        session = self.session(['ok', 'panic', 'panic'])
        session.boot()
        self.assertRaises(errors.GuestPanicError, session.boot)
        self.assertRaises(errors.GuestPanicError,
                          self.session(['panic', 'ok']).boot)

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

    def test_every_check_is_named_once_and_ordered(self):
        names = [name for name, _, _ in checks.CHECKS]
        self.assertEqual(len(names), len(set(names)))
        for position, (name, _, needs) in enumerate(checks.CHECKS):
            for need in needs:
                self.assertIn(need, names[:position])


NICS = {'mgmt': 'eth0', 'external': 'eth1', 'internal': 'eth2'}


class GuestConfigTest(testtools.TestCase):

    def test_nat_from_internal_out_of_external(self):
        rules = guest_config.iptables_v4(NICS)
        self.assertIn('-A POSTROUTING -s 192.168.77.0/24 -o eth1 -j SNAT',
                      rules)
        self.assertEqual(2, rules.count('COMMIT'))

    def test_services_name_the_internal_nic(self):
        for text in (guest_config.dnsmasq(NICS), guest_config.bird(NICS),
                     guest_config.keepalived(NICS),
                     guest_config.conntrackd(NICS)):
            self.assertIn('eth2', text)
        self.assertEqual(guest_config.bird(NICS).count('{'),
                         guest_config.bird(NICS).count('}'))


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
        err = self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                                   io.StringIO())).new_value
        return cli.main(list(argv)), err.getvalue()

    def test_bad_input_is_a_one_line_usage_error(self):
        directory = self.useFixture(fixtures.TempDir()).path
        image = os.path.join(directory, 'x.qcow2')
        code, err = self.main('verify', image)
        self.assertEqual((2, 1), (code, len(err.strip().splitlines())))
        self.assertIn('no such image', err)
        open(image, 'w').close()
        code, err = self.main('verify', image, '--boots', '0')
        self.assertEqual(2, code)
        self.assertIn('--boots', err)
        code, err = self.main('verify', image, '--kernel', image)
        self.assertEqual(2, code)
        self.assertIn('--initrd', err)
