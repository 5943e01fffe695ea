"""The tools/ scripts outside akanda-slim's Python: one line, no traceback."""

import os
import subprocess
import sys

import testtools

TOOLS = os.path.join(os.path.dirname(__file__), '..', '..', 'tools')


class OutsideTheVenvTest(testtools.TestCase):

    def _run_without_site_packages(self, script):
        # -S: no site-packages, so neither akanda_slim nor python-debian.
        return subprocess.run(
            [sys.executable, '-I', '-S', os.path.join(TOOLS, script),
             '--help'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, timeout=60)

    def test_each_tool_names_the_venv_wrapper(self):
        for script in ('benchmark_plan.py', 'hostile_inputs.py'):
            result = self._run_without_site_packages(script)
            self.assertEqual(1, result.returncode, script)
            self.assertNotIn('Traceback', result.stderr)
            self.assertEqual(1, len(result.stderr.splitlines()),
                             result.stderr)
            self.assertIn('run it as ./tools/akanda-slim-venv python ',
                          result.stderr)
            self.assertTrue(result.stderr.startswith(script + ': No module'),
                            result.stderr)
