"""ha_pair's parallel calls, with no guest."""

import signal
import threading
import time

import testtools

from akanda_slim.bootcheck import ha_pair


class Stopped(Exception):
    pass


class InParallelTest(testtools.TestCase):

    def test_calls_run_at_once(self):
        barrier = threading.Barrier(2, timeout=5)
        seen = []
        ha_pair.in_parallel([lambda: seen.append(barrier.wait()),
                             lambda: seen.append(barrier.wait())])
        self.assertEqual([0, 1], sorted(seen))

    def test_first_error_reaches_the_caller(self):
        def fails():
            raise ValueError('router 1: refused')
        error = self.assertRaises(ValueError, ha_pair.in_parallel,
                                  [lambda: None, fails])
        self.assertEqual('router 1: refused', str(error))

    def test_a_signal_does_not_wait_for_a_blocked_call(self):
        blocked = threading.Event()

        def stop(signum, frame):
            raise Stopped()
        previous = signal.signal(signal.SIGALRM, stop)
        self.addCleanup(signal.signal, signal.SIGALRM, previous)
        self.addCleanup(blocked.set)
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        started = time.monotonic()
        self.assertRaises(Stopped, ha_pair.in_parallel,
                          [lambda: blocked.wait(60)])
        self.assertLess(time.monotonic() - started, 5)
