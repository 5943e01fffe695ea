"""A non-editable install (a wheel, what ``pip install .`` gives) carries
bindep.txt and the elements, and reports pbr's version.

Needs the package index for pip (the wheel's build requirements and
bindep) and git (pbr takes the version from it); both are there in CI.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile

import testtools

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PROBE = ('import importlib.metadata, os\n'
         'from akanda_slim import version\n'
         'from akanda_slim.dib import hostdeps, shipped_files\n'
         'print(hostdeps.find_bindep_file())\n'
         'print([p for p in shipped_files.candidates("elements")\n'
         '       if os.path.isdir(p)][0])\n'
         'print(version.version_string())\n'
         'print(importlib.metadata.version("akanda-slim"))\n')


def why_not_runnable():
    if not os.path.isdir(os.path.join(SOURCE, '.git')) and not os.path.isfile(
            os.path.join(SOURCE, '.git')):
        return 'not a git clone: pbr cannot version a wheel'
    if not shutil.which('git'):
        return 'git is not installed (see bindep.txt)'
    return None


SKIP_REASON = why_not_runnable()


def run(command, cwd):
    result = subprocess.run(command, cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if result.returncode:
        raise AssertionError('%s failed (%d):\n%s' % (
            ' '.join(command), result.returncode, result.stdout[-3000:]))
    return result.stdout


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class WheelInstallTest(testtools.TestCase):

    def test_wheel_ships_bindep_and_elements(self):
        work = tempfile.mkdtemp(prefix='akanda-slim-wheel-', dir='/var/tmp')
        self.addCleanup(shutil.rmtree, work, ignore_errors=True)
        run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '-w',
             work, SOURCE], cwd=work)
        wheel, = glob.glob(os.path.join(work, 'akanda_slim-*.whl'))
        venv = os.path.join(work, 'venv')
        run([sys.executable, '-m', 'venv', venv], cwd=work)
        pip = os.path.join(venv, 'bin', 'pip')
        run([pip, 'install', '-q', '--no-deps', wheel], cwd=work)
        run([pip, 'install', '-q', 'bindep'], cwd=work)
        python = os.path.join(venv, 'bin', 'python')
        bindep, elements, reported, installed = run(
            [python, '-c', PROBE], cwd=work).split()
        self.assertEqual(os.path.join(venv, 'share/akanda-slim/bindep.txt'),
                         bindep)
        with open(bindep) as shipped, open(
                os.path.join(SOURCE, 'bindep.txt')) as source:
            self.assertEqual(source.read(), shipped.read())
        self.assertEqual(os.path.join(venv, 'share/akanda-slim/elements'),
                         elements)
        self.assertTrue(os.path.isfile(os.path.join(
            elements, 'slim', 'README.rst')), elements)
        self.assertEqual(installed, reported)
        self.assertIn(installed.replace('-', '_'), os.path.basename(wheel))
        # bindep itself reads the installed file: as root in CI it installs
        # what the build profile lacks (nothing, after the tests' set-up).
        if os.geteuid() == 0:
            run([python, '-m', 'akanda_slim.dib.hostdeps', 'build'], cwd=work)
