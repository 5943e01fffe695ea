"""footprint.ram_sweep: sizes down to the first failure, and why."""

import os
import signal

import fixtures
import testtools

from akanda_slim.footprint import ram_sweep
from akanda_slim import termination


class ClassifyTest(testtools.TestCase):

    def test_oom_kill_names_its_victims(self):
        log = ('[ 40.1] Out of memory: Killed process 412 (cloud-init) '
               'total-vm:1kB\n[ 41.0] oom-kill:constraint=CONSTRAINT_NONE,'
               'task=journald,pid=1\n')
        self.assertEqual(('oom', 'cloud-init journald'),
                         ram_sweep.classify(log))

    def test_panic_wins(self):
        log = ('Kernel panic - not syncing: System is deadlocked on memory\n'
               'Out of memory: Killed process 1 (init)\n')
        self.assertEqual(('panic', 'System is deadlocked on memory'),
                         ram_sweep.classify(log))

    def test_nothing_in_the_log_is_a_timeout(self):
        self.assertEqual(('timeout', ''),
                         ram_sweep.classify('[ 1.0] Linux version 6.12\n'))

    def test_reason_says_kind_victims_and_failed_checks(self):
        self.assertEqual(
            'out of memory (cloud-init); failed: boot',
            ram_sweep.reason({'failure': 'oom',
                              'failure_detail': 'cloud-init',
                              'failed_checks': ['boot']}))
        self.assertEqual(
            'timeout; failed: login reload',
            ram_sweep.reason({'failure': 'timeout', 'failure_detail': '',
                              'failed_checks': ['login', 'reload']}))


class ConsoleTextTest(testtools.TestCase):

    def test_a_boot_booted_again_after_a_panic_is_classified_by_its_retry(
            self):
        workdir = self.useFixture(fixtures.TempDir()).path
        for name, text in (
                ('console-1-panic.log',
                 'Kernel panic - not syncing: Fatal exception\n'),
                ('console-1.log',
                 'Out of memory: Killed process 170 (16) total-vm:1kB\n')):
            with open(os.path.join(workdir, name), 'w') as log:
                log.write(text)
        self.assertEqual(('oom', '16'), ram_sweep.classify(
            ram_sweep.console_text(workdir)))


class SweepTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.booted = []

    def boot(self, image, memory, log_dir):
        self.booted.append(memory)
        passed = memory >= 128
        return {'memory_mib': memory, 'passed': passed,
                'log_dir': '%s/mem%d' % (log_dir, memory),
                'failure': 'oom', 'failure_detail': 'cloud-init',
                'failed_checks': [] if passed else ['boot']}

    def test_largest_first_down_to_the_first_failure(self):
        records = ram_sweep.sweep('slim.qcow2', [128, 160, 96, 112, 144],
                                  '/logs', boot=self.boot)
        self.assertEqual([160, 144, 128, 112], self.booted)
        self.assertEqual(
            [(160, 'pass'), (144, 'pass'), (128, 'pass'), (112, 'fail'),
             (96, 'not run')],
            [(r['memory_mib'], r['status']) for r in records])
        self.assertEqual('out of memory (cloud-init); failed: boot',
                         records[3]['reason'])
        self.assertEqual('a larger size failed', records[4]['reason'])
        self.assertIsNone(records[4]['log_dir'])
        self.assertEqual(128, ram_sweep.smallest_passing(records))

    def test_time_budget_stops_before_a_boot_and_says_so(self):
        ticks = iter([0, 10, 20])
        records = ram_sweep.sweep('slim.qcow2', [160, 144, 128], '/logs',
                                  deadline=20, clock=lambda: next(ticks),
                                  boot=self.boot)
        self.assertEqual([160, 144], self.booted)
        self.assertEqual(('not run', 'time budget spent'),
                         (records[2]['status'], records[2]['reason']))
        self.assertEqual(144, ram_sweep.smallest_passing(records))

    def test_nothing_passing_has_no_smallest(self):
        records = ram_sweep.sweep('slim.qcow2', [112, 96], '/logs',
                                  boot=self.boot)
        self.assertEqual([112], self.booted)
        self.assertIsNone(ram_sweep.smallest_passing(records))


class CheckBootTest(testtools.TestCase):

    def _session(self, boot):
        class Session:
            def __init__(self, *args, **kwargs):
                pass

            def report(self):
                return {'checks': [{'name': 'login', 'status': 'pass'},
                                   {'name': 'reload', 'status': 'fail'}]}
        Session.boot = boot
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.runner.Session', Session))
        return self.useFixture(fixtures.TempDir()).path

    def test_a_termination_signal_during_a_boot_stops_the_sweep(self):
        def boot(session):
            raise termination.Interrupted(signal.SIGTERM)
        log_dir = self._session(boot)
        self.assertRaises(termination.Interrupted,
                          ram_sweep.check_boot, 'slim.qcow2', 96, log_dir)

    def test_failed_checks_are_named_and_classified_from_the_console(self):
        log_dir = self._session(lambda session: None)
        result = ram_sweep.check_boot('slim.qcow2', 96, log_dir)
        self.assertFalse(result['passed'])
        self.assertEqual(['reload'], result['failed_checks'])
        self.assertEqual('timeout', result['failure'])
        self.assertTrue(result['log_dir'].startswith(log_dir))
