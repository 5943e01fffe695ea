"""runner.Session's hooks: kernel arguments and steps on the checked boot.

No QEMU: the machine, SSH, the seed and the checks are fakes; the order
of what happens on a boot is recorded in ``events``.
"""

import os

import fixtures
import testtools

from akanda_slim.bootcheck import checks as checks_mod
from akanda_slim.bootcheck import runner
from akanda_slim import errors

PANIC = 'Kernel panic - not syncing: Fatal exception'


class RecordingHooks(runner.Hooks):
    """Hooks that note each call in ``events``."""

    def __init__(self, events, kernel_args=(), measure_surface=True):
        self.events = events
        self.kernel_args = kernel_args
        self.measure_surface = measure_surface

    def before_retry(self, number):
        self.events.append('before_retry %d' % number)

    def after_boot(self, ctx):
        self.events.append('after_boot %s' % ctx.ssh.name)

    def after_checks(self, ctx):
        self.events.append('after_checks %s' % ctx.ssh.name)


class FakeMachine:

    def __init__(self, events, console_log, panics):
        self.events = events
        self.console_log = console_log
        self.panics = panics
        self.ssh_port = 2222

    def panic(self):
        return PANIC if self.panics else None

    def stop(self):
        self.events.append('stop')


class SessionHooksTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.events = []
        self.booted = []     # kernel_args of each boot
        self.panicking = []  # one entry per boot: panics during the checks?

        class Seed:
            private_key, user, datasource = 'key', 'user', 'nocloud'

        def boot(image, kernel, initrd, seed, workdir, number, options,
                 networks=None, kernel_args=()):
            self.booted.append(tuple(kernel_args))
            self.events.append('boot %d' % number)
            log = os.path.join(workdir, 'console-%d.log' % number)
            with open(log, 'w') as out:
                out.write(PANIC)
            panics = self.panicking.pop(0) if self.panicking else False
            return FakeMachine(self.events, log, panics)

        def run_checks(ctx, checks=None):
            self.events.append('checks')
            ctx.ssh = type('Moved', (), {'name': 'management'})()
            yield checks_mod.Result('a check', checks_mod.PASS, '', 0.0)

        def surface(ssh):
            self.events.append('surface')
            return {}

        for name, value in (
                ('boot_files', lambda image, kernel, initrd: ('k', 'i')),
                ('seed_mod.make_seed', lambda workdir, datasource: Seed()),
                ('_boot', boot),
                ('network.why_not_available', lambda: 'not here'),
                ('wait_for_boot', lambda machine, ssh, options: {
                    'ssh_ready_seconds': 1.0,
                    'boot_finished_seconds': 2.0,
                    'system_state': 'running'}),
                ('measure.memory_used_kib', lambda ssh: 1000),
                ('measure.surface', surface),
                ('checks_mod.run_checks', run_checks)):
            self.useFixture(fixtures.MonkeyPatch(
                'akanda_slim.bootcheck.runner.' + name, value))

    def session(self, hooks=None):
        session = runner.Session('x.qcow2', self.dir, hooks=hooks)
        session.ssh.name = 'access'
        return session

    def test_steps_run_around_the_checks_before_the_machine_stops(self):
        hooks = RecordingHooks(self.events, kernel_args=('rw',),
                               measure_surface=False)
        session = self.session(hooks)
        session.boot()
        self.assertEqual(['boot 1', 'after_boot access', 'checks',
                          'after_checks management', 'stop'], self.events)
        self.assertEqual([('rw',)], self.booted)
        self.assertEqual({}, session.figures)
        self.assertEqual([checks_mod.PASS],
                         [r.status for r in session.results])

    def test_without_hooks_a_boot_is_as_verify_boots(self):
        session = self.session()
        session.boot()
        self.assertEqual(['boot 1', 'surface', 'checks', 'stop'],
                         self.events)
        self.assertEqual([()], self.booted)
        self.assertIsInstance(session.hooks, runner.Hooks)

    def test_timing_boots_call_no_step(self):
        hooks = RecordingHooks(self.events)
        session = self.session(hooks)
        session.options.boots = 2
        session.boot()
        del self.events[:]
        session.boot()
        self.assertEqual(['boot 2', 'stop'], self.events)

    def test_a_panic_in_the_checks_retries_after_before_retry(self):
        self.panicking = [True, False]
        session = self.session(RecordingHooks(self.events))
        session.boot()
        self.assertEqual(
            ['boot 1', 'surface', 'after_boot access', 'checks', 'stop',
             'before_retry 1',
             'boot 1', 'surface', 'after_boot access', 'checks',
             'after_checks management', 'stop'], self.events)
        self.assertEqual(1, len(session.boots))
        self.assertEqual([1], [p['boot'] for p in session.panics])

    def test_a_second_panic_fails_without_after_checks(self):
        self.panicking = [True, True]
        session = self.session(RecordingHooks(self.events))
        self.assertRaises(errors.GuestPanicError, session.boot)
        self.assertNotIn('after_checks management', self.events)
        self.assertEqual(1, self.events.count('before_retry 1'))


class KernelArgsMachineTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.qemu.tools.require', lambda name: name))

    def test_words_end_the_kernel_command_line(self):
        machine = runner.KernelArgsMachine(
            'i.qcow2', 's.iso', 'c.log', kernel='k', initrd='i',
            kernel_args=('rw', 'quiet'))
        command = machine.command()
        line = command[command.index('-append') + 1]
        self.assertTrue(line.endswith(' rw quiet'), line)

    def test_no_words_leave_the_command_as_qemu_machine_makes_it(self):
        plain = runner.qemu.Machine('i.qcow2', 's.iso', 'c.log', kernel='k',
                                    initrd='i')
        machine = runner.KernelArgsMachine('i.qcow2', 's.iso', 'c.log',
                                           kernel='k', initrd='i')
        machine.ssh_port = plain.ssh_port
        self.assertEqual(plain.command(), machine.command())

    def test_an_image_with_its_own_boot_loader_gets_no_append(self):
        machine = runner.KernelArgsMachine('i.qcow2', 's.iso', 'c.log',
                                           kernel_args=('rw',))
        self.assertNotIn('-append', machine.command())
