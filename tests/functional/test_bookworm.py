"""``akanda-slim build --release bookworm`` builds, with the agent, and the
image boots clean under ``akanda-slim verify --checks boot`` (login, its
instance data, no failed unit: the agent's service runs). The agent's API
is driven on trixie, the default release, by the usage runs.

Needs root, diskimage-builder, the host's Debian mirror (which serves
bookworm) and QEMU; in CI all of them are there.
"""

import functools
import json
import os
import subprocess
import sys

import testtools

from akanda_slim.bootcheck import checks
from akanda_slim.dib import image_build
from tests.functional import images

SKIP_REASON = images.why_not_runnable()
RELEASE = 'bookworm'


def akanda_slim(*argv):
    return subprocess.run([sys.executable, '-m', 'akanda_slim'] + list(argv),
                          text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


@functools.lru_cache(maxsize=None)
def built():
    """Run the build command once; (process, output dir, image name)."""
    output = os.path.join(images.workdir(), RELEASE)
    result = akanda_slim('build', '--release', RELEASE, '--output-dir',
                         output, '--agent-source',
                         images.agent_environment()[
                             image_build.AGENT_LOCATION])
    return result, output, 'akanda-slim-' + RELEASE


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class BookwormTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.result, self.output, self.name = built()
        self.assertEqual(0, self.result.returncode,
                         self.result.stderr[-4000:])

    def path(self, suffix):
        return os.path.join(self.output, self.name + suffix)

    def test_build_says_where_the_outputs_are(self):
        for suffix in ('.qcow2', '.slim.json', '.slim.txt'):
            self.assertIn(self.path(suffix), self.result.stdout)
            self.assertTrue(os.path.getsize(self.path(suffix)) > 0)
        completion = [line for line in self.result.stdout.splitlines()
                      if line.startswith('built ')]
        self.assertEqual(1, len(completion), self.result.stdout)

    def test_image_is_bookworm_and_slimmed(self):
        with open(self.path('.slim.json')) as data:
            report = json.load(data)
        self.assertTrue(report['applied'])
        self.assertLess(report['after']['packages'],
                        report['before']['packages'])
        versions = {p['package']: p['version'] for p in report['packages']}
        # base-files carries the Debian release: 12.x is bookworm.
        self.assertTrue(versions['base-files'].startswith('12.'),
                        versions['base-files'])
        print('bookworm slim: %d packages (from %d), qcow2 %.1f MiB' % (
            report['after']['packages'], report['before']['packages'],
            os.path.getsize(self.path('.qcow2')) / 1048576.0))

    def test_image_passes_verify(self):
        kernel = self.path('.vmlinuz')
        arguments = ['verify', '--json', '--checks', 'boot',
                     self.path('.qcow2')]
        if os.path.exists(kernel):
            arguments += ['--kernel', kernel, '--initrd', self.path('.initrd')]
        verified = akanda_slim(*arguments)
        reports = (json.loads(verified.stdout) if verified.stdout.strip()
                   else {})
        self.assertTrue(reports, verified.stderr[-3000:])
        failed = [(c['name'], c['status'], c['detail'])
                  for c in reports['image']['checks']
                  if c['status'] != checks.PASS]
        self.assertEqual([], failed)
        self.assertEqual(0, verified.returncode, verified.stderr[-2000:])
