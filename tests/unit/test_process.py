import sys

import testtools

from akanda_slim import errors
from akanda_slim import process


class RunTest(testtools.TestCase):

    def test_output_is_captured(self):
        result = process.run([sys.executable, '-c',
                              'import sys; print("out");'
                              'print("err", file=sys.stderr)'])
        self.assertEqual(0, result.returncode)
        self.assertIn('out', result.stdout)
        self.assertIn('err', result.stdout)

    def test_failure_carries_command_and_tail(self):
        script = 'print("\\n".join(map(str, range(40)))); raise SystemExit(3)'
        exc = self.assertRaises(errors.CommandError, process.run,
                                [sys.executable, '-c', script])
        self.assertEqual(3, exc.returncode)
        self.assertIn('exited with status 3', str(exc))
        self.assertIn('39', str(exc))
        self.assertNotIn('\n  5\n', str(exc))
        self.assertEqual('38\n39', exc.tail(2))
        self.assertEqual(1, exc.exit_code)

    def test_missing_program_is_a_usage_error(self):
        exc = self.assertRaises(errors.MissingToolError, process.run,
                                ['akanda-slim-no-such-program'])
        self.assertEqual(2, exc.exit_code)

    def test_timeout(self):
        exc = self.assertRaises(errors.CommandError, process.run,
                                [sys.executable, '-c',
                                 'import time; time.sleep(5)'], timeout=0.2)
        self.assertIsNone(exc.returncode)
        self.assertIn('timed out', str(exc))

    def test_unchecked_failure_returns(self):
        result = process.run(['false'], check=False)
        self.assertEqual(1, result.returncode)

    def test_input(self):
        self.assertEqual('abc', process.run(['cat'], input='abc').stdout)
