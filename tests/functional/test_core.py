"""The core against real dpkg databases: apt as the oracle, real purges.

Needs root: it debootstraps Debian roots and runs dpkg/apt inside them.
"""

import hashlib
import json
import os
import subprocess
import sys

import testtools

from akanda_slim.debian import target
from akanda_slim.slim import policy
from tests.functional import debian_roots

SKIP_REASON = debian_roots.why_not_runnable()
PACKAGES = ['git', 'iproute2', 'cloud-guest-utils', 'python3-requests']


def akanda_slim(*argv):
    return subprocess.run([sys.executable, '-m', 'akanda_slim'] + list(argv),
                          text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)


def plan_removals(root, policy_name=policy.RECOMMENDS):
    return sorted(policy.decide(target.read_target(root),
                                policy.Policy(policy_name)).remove_names)


def digest(path):
    with open(path, 'rb') as stream:
        return hashlib.sha256(stream.read()).hexdigest()


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class DifferentialTest(testtools.TestCase):
    """The recommends policy removes exactly what apt would autoremove."""

    def assert_agrees_with_apt(self, root):
        oracle = debian_roots.apt_autoremove(root)
        ours = plan_removals(root)
        print('%s: apt removes %d, akanda-slim removes %d'
              % (root, len(oracle), len(ours)))
        self.assertEqual(oracle, ours)

    def test_this_machine(self):
        self.assert_agrees_with_apt('/')

    def test_debootstrap_root_with_recommends(self):
        root = debian_roots.root_with('with-recommends', PACKAGES, True)
        self.assertNotEqual([], debian_roots.apt_autoremove(root))
        self.assert_agrees_with_apt(root)

    def test_debootstrap_root_without_recommends(self):
        root = debian_roots.root_with('without-recommends', PACKAGES, False)
        self.assertNotEqual([], debian_roots.apt_autoremove(root))
        self.assert_agrees_with_apt(root)


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class ApplyTest(testtools.TestCase):
    """apply purges for real, verifies, and is idempotent."""

    def apply(self, root, *options):
        result = akanda_slim('apply', '--root', root, '--json', *options)
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout)

    def assert_clean(self, root):
        self.assertEqual('', debian_roots.in_root(root, 'dpkg', '--audit'))
        debian_roots.in_root(root, 'apt-get', 'check', '-q')

    def test_recommends_apply_then_noop(self):
        root = debian_roots.root_with('apply-recommends', PACKAGES, True)
        planned = plan_removals(root)
        report = self.apply(root)
        self.assertEqual(planned, sorted(r['package']
                                         for r in report['remove']))
        self.assertTrue(report['verification']['ok'])
        remaining = target.read_target(root).packages
        self.assertEqual([], [p for p in planned if p in remaining])
        self.assert_clean(root)
        again = self.apply(root)
        self.assertEqual([], again['remove'])
        self.assertEqual([], debian_roots.apt_autoremove(root))

    def test_appliance_apply_keeps_what_was_asked(self):
        root = debian_roots.root_with('apply-appliance', PACKAGES, True)
        report = self.apply(root, '--policy', 'appliance', '--keep', 'git',
                            '--keep', 'iproute2')
        self.assertGreater(report['totals']['remove']['packages'], 0)
        self.assert_clean(root)
        self.assertIn('git version',
                      debian_roots.in_root(root, 'git', '--version'))
        debian_roots.in_root(root, 'ip', 'link', 'show', 'lo')
        self.assertEqual([], self.apply(root, '--policy', 'appliance',
                                        '--keep', 'git', '--keep',
                                        'iproute2')['remove'])

    def test_refusals_remove_nothing(self):
        root = debian_roots.copy_root('refusals')
        status = os.path.join(root, target.STATUS_FILE)
        before = digest(status)
        result = akanda_slim('apply', '--root', root, '--remove', 'libc6')
        self.assertEqual(1, result.returncode)
        self.assertIn('cannot remove libc6', result.stderr)
        self.assertEqual(before, digest(status))

        with open(status) as stream:
            text = stream.read()
        with open(status, 'w') as stream:
            stream.write(text.replace(
                'Package: apt\nStatus: install ok installed',
                'Package: apt\nStatus: install ok half-configured'))
        result = akanda_slim('apply', '--root', root)
        self.assertEqual(1, result.returncode)
        self.assertIn('package apt is half-configured', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
