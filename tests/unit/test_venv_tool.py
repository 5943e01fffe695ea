"""tools/akanda-slim-venv refuses a venv path that is not its own."""

import os
import subprocess

import fixtures
import testtools

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', 'tools',
                    'akanda-slim-venv')


class VenvRefusalTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def run_tool(self, venv):
        ran = os.path.join(self.dir, 'ran')
        result = subprocess.run(
            ['bash', TOOL, 'touch', ran], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, AKANDA_SLIM_VENV=venv))
        self.assertFalse(os.path.exists(ran))
        return result

    def assertRefused(self, result, reason):
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertEqual(1, len(result.stderr.splitlines()), result.stderr)
        self.assertIn(reason, result.stderr)

    def test_a_directory_it_did_not_make(self):
        foreign = os.path.join(self.dir, 'foreign')
        os.makedirs(os.path.join(foreign, 'bin'))
        for name in ('python', 'pip'):
            path = os.path.join(foreign, 'bin', name)
            with open(path, 'w') as f:
                f.write('#!/bin/sh\ntouch %s/pip-ran\n' % self.dir)
            os.chmod(path, 0o755)
        self.assertRefused(self.run_tool(foreign),
                           'was not made by this tool')
        self.assertFalse(os.path.exists(os.path.join(self.dir, 'pip-ran')))

    def test_a_file(self):
        path = os.path.join(self.dir, 'file')
        open(path, 'w').close()
        self.assertRefused(self.run_tool(path), 'is not a directory')

    def test_a_dangling_link_without_a_parent(self):
        link = os.path.join(self.dir, 'venv')
        os.symlink(os.path.join(self.dir, 'gone', 'deeper'), link)
        self.assertRefused(self.run_tool(link),
                           'is a symlink to a missing directory')
