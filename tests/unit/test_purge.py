import subprocess

from akanda_slim import errors
from akanda_slim import policy
from akanda_slim import purge
from akanda_slim import target
from tests.unit import base

S = base.stanza


class FakeChroot:
    """Records commands; answers apt's simulation with canned output."""

    root = '/fake'

    def __init__(self, simulated):
        self.simulated = simulated
        self.commands = []

    def run(self, command, check=True):
        self.commands.append(command)
        out = self.simulated if '-s' in command else ''
        return subprocess.CompletedProcess(command, 0, out)


class PurgeTest(base.RootTestCase):

    def plan(self):
        root = self.make_root(S('app', Recommends='rec'), S('rec'),
                              S('old', status='deinstall ok config-files'),
                              auto=['rec'])
        return policy.decide(target.read_target(root), policy.Policy())

    def test_purges_exactly_the_plan(self):
        chroot = FakeChroot('Purg rec [1.0]\nPurg old\n')
        purge.purge(chroot, self.plan())
        self.assertEqual(2, len(chroot.commands))
        real = chroot.commands[1]
        self.assertNotIn('-s', real)
        self.assertEqual(['purge', 'rec', 'old'], real[-3:])

    def test_refuses_when_apt_would_remove_more(self):
        chroot = FakeChroot('Purg rec [1.0]\nRemv app [1.0]\nPurg old\n')
        exc = self.assertRaises(errors.ApplyError, purge.purge, chroot,
                                self.plan())
        self.assertIn('apt would also remove app; nothing was removed',
                      str(exc))
        self.assertEqual(1, len(chroot.commands))  # only the simulation


class VerificationTest(base.RootTestCase):

    def test_problems_are_listed(self):
        result = purge.Verification(broken_dependencies=['a Depends: b'],
                                    dpkg_audit='x is half', apt_check='',
                                    ok=False)
        self.assertEqual(['broken dependency: a Depends: b',
                          'dpkg --audit: x is half'], result.problems())
