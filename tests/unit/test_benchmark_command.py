"""akanda-slim benchmark: its input checks, its run, its report files.

QEMU is never started: runner.Session and verify_interleaved are stand-ins
returning verify reports, so the run's bookkeeping (report files, logs,
keys, replacing an older report, termination signals) is what is tested.
"""

import io
import json
import os
import signal

import fixtures
import testtools

from akanda_slim import cli
from akanda_slim.commands import benchmark
from akanda_slim.footprint import benchmark_results
from tests.unit import test_benchmark_report as samples


class FakeSession:
    """runner.Session's stand-in: remembers what it was given."""

    made = []

    def __init__(self, image, workdir, kernel=None, initrd=None,
                 options=None):
        self.image, self.workdir, self.options = image, workdir, options
        with open(os.path.join(workdir, 'id_ed25519'), 'w') as key:
            key.write('private')
        with open(os.path.join(workdir, 'console-1.log'), 'w') as log:
            log.write('booted')
        FakeSession.made.append(self)


class BenchmarkCommandTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.out = os.path.join(self.dir, 'report')
        self.images = {}
        for role in ('slim', 'baseline'):
            self.images[role] = os.path.join(self.dir, role + '.qcow2')
            with open(self.images[role], 'wb') as image:
                image.write(b'QFI\xfb')
        FakeSession.made = []
        self.booted = []
        self.rounds, self.pairs = [], []
        self.interleaved = self.verify_interleaved
        for name, value in (
                ('akanda_slim.bootcheck.router_timing.router_round',
                 self.router_round),
                ('akanda_slim.bootcheck.ha_pair.run_pair', self.run_pair),
                ('akanda_slim.bootcheck.runner.Session', FakeSession),
                ('akanda_slim.bootcheck.runner.boot_files',
                 lambda image, *rest: (None, None)),
                ('akanda_slim.bootcheck.runner.verify_interleaved',
                 lambda sessions: self.interleaved(sessions)),
                ('akanda_slim.dib.hostdeps.install_missing',
                 lambda profile: []),
                ('akanda_slim.footprint.host_facts.machine',
                 lambda accel: {'cores': 2, 'memory_mib': 2048,
                                'accelerator': accel}),
                ('akanda_slim.footprint.host_facts.source_commit',
                 lambda: {'commit': 'abc', 'modified': False})):
            self.useFixture(fixtures.MonkeyPatch(name, value))

    def verify_interleaved(self, sessions):
        measured = samples.facts(sweep=None)
        reports = []
        for session in sessions:
            role = 'slim' if 'slim-' in session.workdir else 'baseline'
            self.booted.append((role, session.options.boots))
            report = dict(measured[role]['report'], kernel=None,
                          initrd=None, checks_passed=True, panics=[],
                          log_dir=session.workdir)
            reports.append(report)
        return reports

    def router_round(self, image, kernel, initrd, workdir, options):
        self.rounds.append((os.path.basename(image), options.memory_mib))
        if len(self.rounds) == 2:
            raise benchmark.errors.VerificationError('no lease')
        slim = 'slim' in image
        return {'router_ready_seconds': 40.0 if slim else 60.0,
                'memory_after_config_kib': 102400 if slim else 204800,
                'recovery_seconds': 45.0 if slim else 70.0}

    def run_pair(self, image, workdir, options=None, hold_seconds=90):
        self.pairs.append((os.path.basename(image), options.memory_mib))
        return {'new_connections_seconds': 4.5,
                'backup_holds_addresses_seconds': 4.4}

    def main(self, *argv):
        argv = ['benchmark'] + list(argv)
        self.useFixture(fixtures.MonkeyPatch('sys.argv',
                                             ['akanda-slim'] + argv))
        out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        err = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        code = cli.main(argv)
        return code, out.getvalue(), err.getvalue()

    def run_both(self, *extra):
        return self.main('--slim', self.images['slim'], '--baseline',
                         self.images['baseline'], '--output-dir', self.out,
                         *extra)

    def saved(self):
        return benchmark_results.load(self.out)

    def test_a_run_writes_json_markdown_svg_and_logs(self):
        code, out, err = self.run_both('--boots', '3')
        self.assertEqual(0, code, err)
        self.assertEqual(['benchmark.json', 'benchmark.md', 'benchmark.svg',
                          'logs'], sorted(os.listdir(self.out)))
        self.assertEqual([('baseline', 3), ('slim', 3)], self.booted)
        document = self.saved()
        self.assertEqual('akanda-slim benchmark --slim %s --baseline %s '
                         '--output-dir %s --boots 3' % (
                             self.images['slim'], self.images['baseline'],
                             self.out), document['command'])
        self.assertEqual(6, len(document['boots']))
        self.assertEqual('logs', document['log_dir'])
        self.assertTrue(document['images'][0]['log_dir'].startswith(
            'logs/baseline-'))
        self.assertTrue(os.path.isfile(os.path.join(
            self.out, document['images'][1]['log_dir'], 'console-1.log')))
        with open(os.path.join(self.out, 'benchmark.md')) as table:
            self.assertEqual(table.read(), out.split('wrote ')[0])
        self.assertIn('| QEMU start to boot finished |', out)

    def test_routers_and_failovers_measured_in_turn(self):
        code, out, err = self.run_both('--router-rounds', '2',
                                       '--failovers', '1',
                                       '--failover-memory', '192')
        self.assertEqual(0, code, err)
        self.assertEqual([('baseline.qcow2', 1024), ('slim.qcow2', 1024)] * 2,
                         self.rounds)
        self.assertEqual([('baseline.qcow2', 192), ('slim.qcow2', 192)],
                         self.pairs)
        document = self.saved()
        figures = {f['name']: f for f in document['figures']}
        ready = figures['QEMU start to router ready']
        # The slim image's first round failed: its error is kept, no value.
        self.assertEqual({'slim': [40.0], 'baseline': [60.0, 60.0]},
                         ready['values'])
        self.assertEqual('no lease', document['routers']['slim'][0]['error'])
        self.assertEqual([200.0, 200.0], figures[
            'memory used after the config']['values']['baseline'])
        self.assertEqual(4.5, figures[
            'failover: MASTER killed to traffic']['median']['slim'])
        self.assertIn('| QEMU start to router ready | 60.0 s | 40.0 s |',
                      out)
        self.assertIn('- Failovers: 1 HA pair(s) per image at 192 MiB', out)

    def test_no_router_rounds_and_no_failovers(self):
        code, out, err = self.run_both('--router-rounds', '0',
                                       '--failovers', '0')
        self.assertEqual(0, code, err)
        self.assertEqual(([], []), (self.rounds, self.pairs))
        self.assertNotIn('router ready', out)

    def test_no_private_key_is_left(self):
        self.run_both()
        for _, _, files in os.walk(self.out):
            self.assertNotIn('id_ed25519', files)

    def test_a_newer_run_replaces_the_older_report(self):
        self.run_both('--boots', '3')
        self.run_both('--boots', '1')
        self.assertEqual(1, self.saved()['settings']['boots'])
        self.assertEqual(1, len([name for name in os.listdir(self.out)
                                 if name.startswith('.') or name == 'logs']))

    def test_a_termination_signal_exits_130_and_leaves_the_old_report(
            self):
        self.run_both()
        with open(os.path.join(self.out, 'benchmark.json')) as old:
            before = old.read()

        def killed(sessions):
            os.kill(os.getpid(), signal.SIGTERM)
            self.fail('SIGTERM did not stop the benchmark')
        self.interleaved = killed
        code, out, err = self.run_both('--boots', '2')
        self.assertEqual(130, code)
        self.assertIn('akanda-slim: interrupted', err)
        self.assertNotIn('Traceback', err)
        with open(os.path.join(self.out, 'benchmark.json')) as now:
            self.assertEqual(before, now.read())
        kept = [name for name in os.listdir(self.out)
                if name.startswith('.logs-')]
        self.assertEqual(1, len(kept))
        self.assertIn('kept in %s' % os.path.join(self.out, kept[0]), err)
        self.assertNotIn('.partial', ' '.join(os.listdir(self.out)))
        self.interleaved = self.verify_interleaved
        self.assertEqual(0, self.run_both()[0])
        self.assertEqual(['benchmark.json', 'benchmark.md', 'benchmark.svg',
                          'logs'], sorted(os.listdir(self.out)))

    def test_a_failure_writes_no_report(self):
        def failing(sessions):
            from akanda_slim import errors
            raise errors.BootError('no SSH within 600 s')
        self.interleaved = failing
        code, out, err = self.run_both()
        self.assertEqual(1, code)
        self.assertFalse(os.path.exists(os.path.join(self.out,
                                                     'benchmark.json')))
        self.assertIn('akanda-slim: error: no SSH within 600 s', err)

    def test_the_sweep_goes_into_the_report(self):
        booted = []

        def check_boot(image, memory, log_dir, accel='tcg'):
            booted.append((os.path.basename(image), memory))
            work = os.path.join(log_dir, 'mem%d-x' % memory)
            os.mkdir(work)
            return {'memory_mib': memory, 'passed': memory >= 128,
                    'log_dir': work, 'failure': 'oom',
                    'failure_detail': 'cloud-init',
                    'failed_checks': ['boot']}
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.footprint.ram_sweep.check_boot', check_boot))
        code, _, err = self.run_both('--sweep', '96,160,128',
                                     '--sweep-only', 'slim')
        self.assertEqual(0, code, err)
        self.assertEqual([('slim.qcow2', 160), ('slim.qcow2', 128),
                          ('slim.qcow2', 96)], booted)
        sweep = self.saved()['sweep']
        self.assertEqual([160, 128, 96], sweep['sizes_mib'])
        self.assertEqual(['pass', 'pass', 'fail'],
                         [r['status'] for r in sweep['results']])
        self.assertEqual('logs/mem96-x', sweep['results'][2]['log_dir'])
        figures = {f['name']: f for f in self.saved()['figures']}
        self.assertEqual(
            {'baseline': None, 'slim': 128},
            figures['smallest guest RAM passing every check']['median'])

    def test_an_image_not_given_is_built_like_akanda_slim_build_does(self):
        built = []

        def build(args):
            built.append((args.name, args.baseline, args.output_dir,
                          args.agent_source, args.agent_ref))
            os.makedirs(args.output_dir, exist_ok=True)
            with open(os.path.join(args.output_dir, args.name + '.qcow2'),
                      'wb') as image:
                image.write(b'QFI\xfb')
            return 0
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.commands.build.run', build))
        code, _, err = self.main('--slim', self.images['slim'],
                                 '--output-dir', self.out, '--agent-source',
                                 self.dir, '--agent-ref', 'v1')
        self.assertEqual(0, code, err)
        images = os.path.join(self.out, 'images')
        self.assertEqual([('akanda-baseline-trixie', True, images, self.dir,
                           'v1')], built)
        document = self.saved()
        self.assertEqual([True, False],
                         [i['built'] for i in document['images']])
        self.assertEqual(os.path.join(images, 'akanda-baseline-trixie.qcow2'),
                         document['images'][0]['path'])

    def test_a_build_without_its_image_is_a_build_error(self):
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.commands.build.run', lambda args: 0))
        code, _, err = self.main('--baseline', self.images['baseline'],
                                 '--output-dir', self.out, '--runtime-only')
        self.assertEqual(1, code)
        self.assertIn('no akanda-slim-trixie.qcow2', err)

    def test_an_image_to_build_needs_the_agent_source_up_front(self):
        self.useFixture(fixtures.EnvironmentVariable(
            'DIB_REPOLOCATION_akanda_appliance_app'))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.commands.build.run',
            lambda args: self.fail('built without an agent source')))
        code, _, err = self.main('--baseline', self.images['baseline'],
                                 '--output-dir', self.out)
        self.assertEqual(2, code)
        self.assertIn('no agent source', err)
        self.assertEqual([], self.booted)

    def test_the_checks_asked_for_reach_the_timed_boots(self):
        self.run_both('--checks', 'boot')
        self.assertEqual(['boot', 'boot'],
                         [s.options.check_set for s in FakeSession.made])
        self.assertEqual('boot', self.saved()['settings']['checks'])


class BadInputTest(testtools.TestCase):
    """One line on stderr, exit 2, nothing booted."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.runner.verify_interleaved',
            lambda sessions: self.fail('booted despite bad input')))

    def refused(self, *argv):
        err = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        code = cli.main(['benchmark'] + list(argv))
        self.assertEqual(2, code, err.getvalue())
        self.assertEqual(1, len(err.getvalue().splitlines()), err.getvalue())
        self.assertNotIn('Traceback', err.getvalue())
        return err.getvalue()

    def test_a_missing_image(self):
        self.assertIn('no such image: %s/none.qcow2' % self.dir,
                      self.refused('--slim', self.dir + '/none.qcow2'))

    def test_an_output_dir_that_is_a_file_or_unwritable(self):
        path = os.path.join(self.dir, 'file')
        open(path, 'w').close()
        self.assertIn('is not a directory',
                      self.refused('--output-dir', path))
        self.assertIn('is not writable',
                      self.refused('--output-dir', path + '/below'))

    def test_boots_sizes_and_sweep_options(self):
        self.assertIn('--boots', self.refused('--boots', '0'))
        self.assertIn('--sweep', self.refused('--sweep', '128,x'))
        self.assertIn('--sweep', self.refused('--sweep', '8'))
        self.assertIn('go with --sweep', self.refused('--sweep-only', 'slim'))

    def test_report_only_needs_a_valid_json(self):
        self.assertIn('no such directory', self.refused(
            '--report-only', os.path.join(self.dir, 'none')))
        self.assertIn('benchmark.json: no such file',
                      self.refused('--report-only', self.dir))
        with open(os.path.join(self.dir, 'benchmark.json'), 'w') as out:
            json.dump({'format': benchmark_results.FORMAT}, out)
        self.assertIn('date: expected a string',
                      self.refused('--report-only', self.dir))
        self.assertEqual(['benchmark.json'], os.listdir(self.dir))

    def test_report_only_takes_no_images(self):
        self.assertIn('--report-only', self.refused(
            '--report-only', self.dir, '--slim', 'x.qcow2'))


class ReportOnlyTest(testtools.TestCase):

    def test_markdown_and_svg_made_again_from_the_json(self):
        directory = self.useFixture(fixtures.TempDir()).path
        document = samples.document()
        with open(os.path.join(directory, 'benchmark.json'), 'w') as out:
            out.write(benchmark_results.dumps(document))
        with open(os.path.join(directory, 'benchmark.md'), 'w') as out:
            out.write('stale')
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO()))
        self.assertEqual(0, cli.main(['benchmark', '--report-only',
                                      directory]))
        with open(os.path.join(directory, 'benchmark.md')) as table:
            self.assertEqual(benchmark.render(document)['benchmark.md'],
                             table.read())
        self.assertTrue(os.path.getsize(os.path.join(directory,
                                                     'benchmark.svg')))
