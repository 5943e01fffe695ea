"""tools/benchmark_footprint.py: telling an OOM kill from a timeout."""

import importlib.util
import os

import testtools

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
