import importlib.util
import os
import signal

import testtools

PATH = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                    'hostile_inputs.py')
SPEC = importlib.util.spec_from_file_location('hostile_inputs', PATH)
hostile = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(hostile)


def outcome(code, stderr='', **fields):
    case_fields = {k: fields.pop(k) for k in list(fields)
                   if k in ('accept_success', 'signal_after',
                            'signal_number', 'close_stdout')}
    case = hostile.Case('plan', 'x', ['plan'], **case_fields)
    return hostile.Outcome(case, returncode=code, stderr=stderr, **fields)


class ClassifyTest(testtools.TestCase):

    def test_one_line_error_and_exit_2_is_a_clean_refusal(self):
        self.assertEqual('refused', outcome(
            2, 'akanda-slim: error: status is a FIFO\n').verdict())
        self.assertEqual('refused', outcome(
            2, 'usage: ...\nakanda-slim plan: error: bad option\n').verdict())

    def test_failure_without_an_error_line_is_unclear(self):
        self.assertEqual('unclear', outcome(1, 'oops\n').verdict())
        self.assertEqual('unclear', outcome(-9).verdict())

    def test_traceback_wins(self):
        self.assertEqual('traceback', outcome(
            2, 'Traceback (most recent call last):\n'
               'akanda-slim: error: x\n').verdict())

    def test_hung_heavy_and_left_behind_win_over_the_exit(self):
        err = 'akanda-slim: error: x\n'
        self.assertEqual('hung', outcome(2, err, hung=True).verdict())
        self.assertEqual('heavy', outcome(
            2, err, heavy=['qemu-system-x86']).verdict())
        self.assertEqual('left behind', outcome(
            2, err, left=['mounted: /x/proc']).verdict())

    def test_success_counts_only_where_it_is_right(self):
        self.assertEqual('accepted', outcome(
            0, accept_success=True).verdict())
        self.assertEqual('not refused', outcome(0).verdict())

    def test_signals(self):
        said = 'akanda-slim: error: interrupted by SIGTERM\n'
        self.assertEqual('refused', outcome(
            143, said, signal_after=1.0).verdict())
        self.assertEqual('unclear', outcome(
            -15, '', signal_after=1.0).verdict())
        self.assertEqual('refused', outcome(
            -9, '', signal_after=1.0,
            signal_number=signal.SIGKILL).verdict())

    def test_closed_pipe_must_end_quietly(self):
        self.assertEqual('refused', outcome(
            0, '', close_stdout=True).verdict())
        self.assertEqual('traceback', outcome(
            1, 'Traceback (most recent call last):\nBrokenPipeError\n',
            close_stdout=True).verdict())

    def test_error_lines(self):
        self.assertEqual(['akanda-slim: error: x'], hostile.error_lines(
            'akanda-slim: purging\nakanda-slim: error: x\n'))
