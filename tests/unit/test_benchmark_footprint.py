"""tools/benchmark_footprint.py: telling an OOM kill from a timeout."""

import importlib.util
import io
import json
import os
import signal

import fixtures
import testtools

from akanda_slim import termination

PATH = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                    'benchmark_footprint.py')


def load():
    spec = importlib.util.spec_from_file_location('benchmark_footprint', PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ClassifyTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bench = load()

    def test_oom_kill_names_its_victims(self):
        log = ('[ 40.1] Out of memory: Killed process 412 (cloud-init) '
               'total-vm:1kB\n[ 41.0] oom-kill:constraint=CONSTRAINT_NONE,'
               'task=journald,pid=1\n')
        self.assertEqual(('oom', 'cloud-init journald'),
                         self.bench.classify(log))

    def test_panic_wins(self):
        log = ('Kernel panic - not syncing: System is deadlocked on memory\n'
               'Out of memory: Killed process 1 (init)\n')
        self.assertEqual(('panic', 'System is deadlocked on memory'),
                         self.bench.classify(log))

    def test_nothing_in_the_log_is_a_timeout(self):
        self.assertEqual(('timeout', ''),
                         self.bench.classify('[ 1.0] Linux version 6.12\n'))


class ConsoleTextTest(testtools.TestCase):

    def test_a_boot_booted_again_after_a_panic_is_classified_by_its_retry(
            self):
        bench = load()
        workdir = self.useFixture(fixtures.TempDir()).path
        for name, text in (
                ('console-1-panic.log',
                 'Kernel panic - not syncing: Fatal exception\n'),
                ('console-1.log',
                 'Out of memory: Killed process 170 (16) total-vm:1kB\n')):
            with open(os.path.join(workdir, name), 'w') as log:
                log.write(text)
        self.assertEqual(('oom', '16'),
                         bench.classify(bench._console_text(workdir)))


class SweepTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bench = load()
        self.booted = []

        def check_boot(image, memory, log_dir):
            self.booted.append(memory)
            return {'memory_mib': memory, 'passed': memory >= 128}
        self.bench.check_boot = check_boot

    def test_down_to_the_first_failure(self):
        result = self.bench.sweep('slim.qcow2', 160, 64, 16, '/tmp')
        self.assertEqual([160, 144, 128, 112], self.booted)
        self.assertEqual(128, result['smallest_passing_mib'])
        self.assertNotIn('stopped_at_mib', result)

    def test_time_budget_stops_before_a_boot_and_says_where(self):
        ticks = iter([0, 10, 20])
        result = self.bench.sweep('slim.qcow2', 160, 64, 16, '/tmp',
                                  deadline=20, clock=lambda: next(ticks))
        self.assertEqual([160, 144], self.booted)
        self.assertEqual(144, result['smallest_passing_mib'])
        self.assertEqual(128, result['stopped_at_mib'])
        table = self.bench.table({'sweep': {
            'baseline': {'smallest_passing_mib': 192, 'boots': []},
            'slim': result}})
        self.assertIn('slim: sweep stopped by the time budget, not '
                      'measured at 128 MiB and below', table)

    def test_sweep_only_one_image(self):
        swept = []
        self.bench.sweep = lambda image, start, *rest: swept.append(
            (image, start)) or {'smallest_passing_mib': start, 'boots': []}
        out = self.useFixture(fixtures.TempDir()).path
        json_path = os.path.join(out, 'footprint.json')
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        self.bench.main(['base.qcow2', 'slim.qcow2', '--skip-timing',
                         '--sweep-only', 'baseline', '--baseline-start',
                         '176', '--log-dir', out, '--json', json_path])
        self.assertEqual([('base.qcow2', 176)], swept)
        with open(json_path) as saved:
            self.assertEqual(['baseline'], list(json.load(saved)['sweep']))
        table = self.bench.table({'sweep': {
            'baseline': {'smallest_passing_mib': 176, 'boots': []}}})
        self.assertIn('176 MiB', table)
        self.assertIn('not swept', table)

    def test_a_sweep_where_nothing_passed_says_so(self):
        table = self.bench.table({'sweep': {
            'slim': {'smallest_passing_mib': None, 'boots': []}}})
        self.assertIn('none passed', table)
        self.assertNotIn('None', table)


class CheckBootTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.bench = load()

    def test_a_termination_signal_during_a_boot_stops_the_sweep(self):
        class Session:
            def __init__(self, *args, **kwargs):
                pass

            def boot(self):
                raise termination.Interrupted(signal.SIGTERM)

        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.runner.Session', Session))
        log_dir = self.useFixture(fixtures.TempDir()).path
        self.assertRaises(termination.Interrupted,
                          self.bench.check_boot, 'slim.qcow2', 96, log_dir)
