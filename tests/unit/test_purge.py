import os
import subprocess

import fixtures

from akanda_slim.debian import target
from akanda_slim import errors
from akanda_slim.slim import apply_journal
from akanda_slim.slim import policy
from akanda_slim.slim import purge
from tests.unit import base

S = base.stanza


class FakeChroot:
    """Records commands; answers apt's simulation with canned output."""

    def __init__(self, root, simulated, states=''):
        self.root = root
        self.record = apply_journal.RunRecord(root)
        self.simulated = simulated
        self.states = states
        self.commands = []
        self.records_seen = []

    def run(self, command, check=True):
        if '-s' not in command and command[0] != 'dpkg-query':
            self.records_seen.append(apply_journal.RunRecord.load(self.root))
        self.commands.append(command)
        out = self.simulated if '-s' in command else ''
        if command[0] == 'dpkg-query':
            out = self.states
        return subprocess.CompletedProcess(command, 0, out)


class PurgeTest(base.RootTestCase):

    def plan(self):
        root = self.make_root(S('app', Recommends='rec'), S('rec'),
                              S('old', status='deinstall ok config-files'),
                              auto=['rec'])
        return policy.decide(target.read_target(root), policy.Policy())

    def test_purges_exactly_the_plan(self):
        plan = self.plan()
        chroot = FakeChroot(self.make_root(), 'Purg rec [1.0]\nPurg old\n')
        purge.purge(chroot, plan)
        self.assertEqual(2, len(chroot.commands))
        real = chroot.commands[1]
        self.assertNotIn('-s', real)
        self.assertEqual(['purge', 'rec', 'old'], real[-3:])
        # The record names the purge while it runs, and is gone after.
        self.assertEqual(['rec', 'old'], chroot.records_seen[0].purge)
        self.assertIsNone(apply_journal.RunRecord.load(chroot.root))

    def test_finishing_a_purge_purges_what_is_half_removed(self):
        chroot = FakeChroot(self.make_root(), '',
                            'iHR\trec\nrc \told\nii \tapp\n')
        chroot.record.purge = ['rec', 'old', 'app']
        chroot.record.save()
        purge.finish_purge(chroot, ['rec', 'old'])
        self.assertEqual(['dpkg', '--configure', '-a'], chroot.commands[0])
        self.assertEqual(['dpkg', '--purge', '--force-remove-reinstreq',
                          'rec'], chroot.commands[-1])
        self.assertIsNone(apply_journal.RunRecord.load(chroot.root))

    def test_refuses_when_apt_would_remove_more(self):
        chroot = FakeChroot(self.make_root(),
                            'Purg rec [1.0]\nRemv app [1.0]\nPurg old\n')
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


class RunningSystemTest(base.RootTestCase):

    def test_root_slash_is_refused_without_the_option(self):
        exc = self.assertRaises(errors.UsageError, purge.apply, '/',
                                policy.Policy())
        self.assertIn('--allow-running-system', str(exc))
        self.assertEqual(2, exc.exit_code)


class ApplyOrderTest(base.RootTestCase):
    """The record is checked first, then dpkg waited for, then cleanup."""

    def test_record_then_dpkg_wait_then_recovery(self):
        steps = []
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge.target_lock.wait_for_dpkg',
            side_effect=lambda root, timeout: steps.append(
                ('wait', timeout <= 7))))
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge.chroot_mod.recover',
            side_effect=lambda root, stale: steps.append(('recover',))
            or []))
        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge._apply_locked',
            side_effect=lambda *args: steps.append(('apply',))))
        root = self.make_root(S('bash'))
        purge.apply(root, policy.Policy(), lock_timeout=7)
        self.assertEqual([('wait', True), ('recover',), ('apply',)], steps)
        os.makedirs(os.path.join(root, apply_journal.RECORD_DIR))
        with open(os.path.join(root, apply_journal.RECORD_FILE), 'w') as out:
            out.write('{"pid": Infinity}')
        del steps[:]
        self.assertRaises(errors.InputError, purge.apply, root,
                          policy.Policy(), lock_timeout=7)
        self.assertEqual([], steps)

    def test_a_file_operation_failing_is_one_apply_error(self):
        def fail(root, stale):
            raise PermissionError(13, 'Permission denied', '/x/policy-rc.d')

        self.useFixture(fixtures.MockPatch(
            'akanda_slim.slim.purge.chroot_mod.recover', side_effect=fail))
        exc = self.assertRaises(errors.ApplyError, purge.apply,
                                self.make_root(S('bash')), policy.Policy(),
                                lock_timeout=0)
        self.assertEqual('/x/policy-rc.d: Permission denied', str(exc))
