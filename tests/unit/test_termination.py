import os
import signal
import subprocess
import sys
import time

import testtools

from akanda_slim import termination


class TerminationTest(testtools.TestCase):

    def test_signal_raises_interrupted_and_handlers_are_restored(self):
        before = signal.getsignal(signal.SIGTERM)
        with testtools.ExpectedException(termination.Interrupted,
                                         'interrupted by SIGTERM'):
            with termination.handled():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the signal arrives long before this ends
        self.assertIs(before, signal.getsignal(signal.SIGTERM))

    def test_exit_status_is_128_plus_the_signal(self):
        self.assertEqual(129, termination.Interrupted(signal.SIGHUP).exit_code)

    def test_deferred_block_finishes_then_raises(self):
        steps = []
        with testtools.ExpectedException(termination.Interrupted):
            with termination.handled():
                with termination.deferred():
                    os.kill(os.getpid(), signal.SIGHUP)
                    steps.append('after the signal')
                steps.append('after the block')
        self.assertEqual(['after the signal'], steps)

    def test_later_signals_do_not_cut_cleanup_short(self):
        cleaned = []
        with testtools.ExpectedException(termination.Interrupted):
            with termination.handled():
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(5)
                finally:
                    os.kill(os.getpid(), signal.SIGTERM)
                    cleaned.append(True)
        self.assertEqual([True], cleaned)

    def test_forwarding_passes_the_signal_to_the_child_group(self):
        child = subprocess.Popen(
            [sys.executable, '-c', 'import time; time.sleep(30)'],
            start_new_session=True)
        self.addCleanup(child.kill)
        with testtools.ExpectedException(termination.Interrupted):
            with termination.handled():
                with termination.forwarding(child.pid):
                    os.kill(os.getpid(), signal.SIGTERM)
                    self.assertEqual(-signal.SIGTERM, child.wait(10))
                termination.raise_pending()


class AsCtrlCTest(testtools.TestCase):

    def test_sigterm_unwinds_like_ctrl_c_then_handlers_come_back(self):
        before = signal.getsignal(signal.SIGTERM)
        unwound = []
        try:
            with termination.as_ctrl_c():
                try:
                    os.kill(os.getpid(), signal.SIGTERM)
                    time.sleep(5)
                finally:
                    unwound.append('finally')
        except KeyboardInterrupt:
            unwound.append('interrupt')
        self.assertEqual(['finally', 'interrupt'], unwound)
        self.assertEqual(before, signal.getsignal(signal.SIGTERM))
