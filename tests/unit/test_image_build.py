"""akanda-slim build: elements, environment, command line."""

import importlib.metadata
import os
import subprocess

import fixtures
import testtools

from akanda_slim import cli
from akanda_slim.commands import build as build_command
from akanda_slim.dib import image_build
from akanda_slim import errors


class BuildTest(testtools.TestCase):

    def test_elements(self):
        self.assertEqual(['debian', 'akanda-appliance',
                          'akanda-appliance-app', 'baremetal', 'slim'],
                         image_build.image_elements())
        self.assertEqual(['debian', 'akanda-appliance', 'vm'],
                         image_build.image_elements(baseline=True,
                                                    whole_disk=True,
                                                    agent=False))

    def test_source_tree_elements_found(self):
        found = image_build.find_elements_dir()
        self.assertTrue(os.path.isfile(os.path.join(
            found, 'slim', 'README.rst')))

    def test_installed_elements_found(self):
        prefix = self.useFixture(fixtures.TempDir()).path
        installed = os.path.join(prefix, 'share/akanda-slim/elements')
        for element in image_build.OUR_ELEMENTS:
            os.makedirs(os.path.join(installed, element))
        self.assertEqual(installed, image_build.find_elements_dir(
            ['/nonexistent', installed]))
        self.assertRaises(errors.UsageError, image_build.find_elements_dir,
                          ['/nonexistent'])

    def test_environment(self):
        env = image_build.dib_environment(
            'bookworm', {'DIB_DISTRIBUTION_MIRROR': 'http://m.example/debian',
                         'DIB_DEBIAN_SECURITY_MIRROR': 'http://m.example/s',
                         'ELEMENTS_PATH': '/mine'}, elements_dir='/ours')
        self.assertEqual('bookworm', env['DIB_RELEASE'])
        self.assertEqual('http://m.example/s',
                         env['DIB_DEBIAN_SECURITY_MIRROR'])
        self.assertEqual('/ours:/mine', env['ELEMENTS_PATH'])

    def test_command_passes_dib_args(self):
        calls = []

        def fake_build(output_dir, name, elements, release, extra_args,
                       environ):
            calls.append((output_dir, name, elements, release, extra_args,
                          environ[image_build.AGENT_LOCATION]))
            return image_build.BuildResult(name, elements, '/none', '', '',
                                           '', '', 1.0)

        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.image_build.build', fake_build))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.image_build.device_mapper_works', lambda: False))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.image_build.check_release', lambda release: None))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.hostdeps.install_missing', lambda profile: []))
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', open(os.devnull, 'w')))
        code = cli.main(['build', '--baseline', '--output-dir', '/o',
                         '--release', 'bookworm', '--agent-source',
                         'https://git.example/astara-appliance', '--', '-x',
                         '--no-tmpfs'])
        self.assertEqual(0, code)
        self.assertEqual([('/o', 'akanda-baseline-bookworm',
                           ['debian', 'akanda-appliance',
                            'akanda-appliance-app', 'baremetal'],
                           'bookworm', ['-x', '--no-tmpfs'],
                           'https://git.example/astara-appliance')], calls)


class FakeMirror(fixtures.Fixture):
    """A file:// mirror serving dists/RELEASE/Release for ``releases``."""

    def __init__(self, *releases):
        self.releases = releases

    def _setUp(self):
        self.path = self.useFixture(fixtures.TempDir()).path
        for release in self.releases:
            os.makedirs(os.path.join(self.path, 'dists', release))
            with open(os.path.join(self.path, 'dists', release, 'Release'),
                      'w') as out:
                out.write('Codename: %s\n' % release)
        self.url = 'file://' + self.path
        self.useFixture(fixtures.EnvironmentVariable(
            'DIB_DISTRIBUTION_MIRROR', self.url))
        self.useFixture(fixtures.EnvironmentVariable(
            'DIB_DEBIAN_SECURITY_MIRROR', self.url + '-security'))


class BuildCommandTest(testtools.TestCase):
    """What the build command does before DIB, and what it prints."""

    def setUp(self):
        super().setUp()
        self.stdout = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout',
                                             self.stdout.stream))
        self.stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr',
                                             self.stderr.stream))
        self.builds = []
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.image_build.build', self.fake_build))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.image_build.device_mapper_works', lambda: False))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.dib.hostdeps.install_missing', lambda profile: []))
        self.sudo_says = ''
        self.useFixture(fixtures.EnvironmentVariable(
            image_build.AGENT_LOCATION, '/src/astara-appliance'))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.process.run',
            lambda command, check=True: subprocess.CompletedProcess(
                command, 0, self.sudo_says)))

    def fake_build(self, *args, **kwargs):
        self.builds.append(args)
        return image_build.BuildResult('n', [], '/none', '', '', '', '', 2.0)

    def output(self):
        self.stdout.stream.flush()
        return self.stdout.getDetails()['stdout'].as_text()

    def errors_printed(self):
        self.stderr.stream.flush()
        return self.stderr.getDetails()['stderr'].as_text()

    def test_a_sudo_that_warns_is_refused_before_dib(self):
        self.useFixture(FakeMirror('trixie'))
        self.sudo_says = 'sudo: unable to resolve host vm: Name or service'
        self.useFixture(fixtures.MonkeyPatch(
            'shutil.which', lambda name: '/usr/bin/' + name))
        self.assertEqual(1, cli.main(['build']))
        self.assertEqual([], self.builds)
        self.assertIn('akanda-slim: error: sudo prints "sudo: unable to '
                      'resolve host vm: Name or service" on this host',
                      self.errors_printed())
        self.assertIn('add the host name to /etc/hosts',
                      self.errors_printed())

    def test_no_agent_source_is_refused_in_one_line(self):
        self.useFixture(FakeMirror('trixie'))
        self.useFixture(fixtures.EnvironmentVariable(
            image_build.AGENT_LOCATION, None))
        self.assertEqual(2, cli.main(['build']))
        self.assertEqual([], self.builds)
        said = self.errors_printed().strip().splitlines()
        self.assertEqual(1, len(said), said)
        self.assertIn('no agent source: give --agent-source', said[0])
        self.assertIn('--runtime-only', said[0])

    def test_runtime_only_builds_without_the_agent(self):
        self.useFixture(FakeMirror('trixie'))
        self.useFixture(fixtures.EnvironmentVariable(
            image_build.AGENT_LOCATION, None))
        self.assertEqual(0, cli.main(['build', '--runtime-only']))
        self.assertNotIn(image_build.AGENT_ELEMENT, self.builds[0][2])
        self.assertEqual(2, cli.main(['build', '--runtime-only',
                                      '--agent-source', 'x']))

    def test_agent_source_path_is_made_absolute(self):
        self.useFixture(FakeMirror('trixie'))
        here = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch('os.getcwd', lambda: here))
        argv = ['build', '--agent-source', here, '--agent-ref', 'v1']
        args = cli.build_parser(argv).parse_args(argv)
        environ = build_command.agent_environment(args, {})
        self.assertEqual(here, environ[image_build.AGENT_LOCATION])
        self.assertEqual('v1', environ[image_build.AGENT_REF])

    def test_unknown_release_refused_before_dib(self):
        self.useFixture(FakeMirror('trixie'))
        self.assertEqual(2, cli.main(['build', '--release', 'bogus']))
        self.assertEqual([], self.builds)
        self.assertIn('akanda-slim: error: unknown Debian release',
                      self.errors_printed())
        self.assertIn('dists/bogus/Release', self.errors_printed())

    def test_bad_names_refused_before_dib(self):
        self.useFixture(FakeMirror('trixie'))
        for name in ('a/b', '', '-x', '..', 'a\nb'):
            self.assertEqual(2, cli.main(['build', '--name=' + name]), name)
        self.assertEqual([], self.builds)
        self.assertIn('plain file name', self.errors_printed())

    def test_served_release_builds_and_prints_one_completion_line(self):
        self.useFixture(FakeMirror('trixie'))
        self.assertEqual(0, cli.main(['build', '--release', 'trixie']))
        self.assertEqual(1, len(self.builds))
        self.assertEqual(image_build.DEFAULT_OUTPUT, self.builds[0][0])
        completion = [line for line in
                      (self.output() + self.errors_printed()).splitlines()
                      if 'built ' in line]
        self.assertEqual(1, len(completion), completion)

    def test_elements_path(self):
        self.assertEqual(0, cli.main(['elements-path']))
        self.assertEqual(image_build.find_elements_dir() + '\n',
                         self.output())

    def test_dib_env_exports(self):
        mirror = self.useFixture(FakeMirror('bookworm'))
        self.useFixture(fixtures.EnvironmentVariable('ELEMENTS_PATH'))
        self.assertEqual(0, cli.main(['dib-env', '--release', 'bookworm']))
        self.assertEqual(
            ['export ELEMENTS_PATH=' + image_build.find_elements_dir(),
             'export DIB_RELEASE=bookworm',
             'export DIB_DISTRIBUTION_MIRROR=' + mirror.url,
             'export DIB_DEBIAN_SECURITY_MIRROR=' + mirror.url
             + '-security'],
            self.output().splitlines())
        self.assertEqual(2, cli.main(['dib-env', '--release', 'nope']))


class VersionTest(testtools.TestCase):

    def test_version_is_the_installed_one(self):
        stdout = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout.stream))
        self.assertRaises(SystemExit, cli.main, ['--version'])
        stdout.stream.flush()
        self.assertEqual(
            'akanda-slim %s\n' % importlib.metadata.version('akanda-slim'),
            stdout.getDetails()['stdout'].as_text())
