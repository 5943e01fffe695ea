"""akanda-slim build: elements, environment, command line."""

import os

import fixtures
import testtools

from akanda_slim import cli
from akanda_slim import errors
from akanda_slim import image_build


class BuildTest(testtools.TestCase):

    def test_elements(self):
        self.assertEqual(['debian', 'akanda-appliance', 'baremetal', 'slim'],
                         image_build.image_elements())
        self.assertEqual(['debian', 'akanda-appliance', 'vm'],
                         image_build.image_elements(baseline=True,
                                                    whole_disk=True))

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

        def fake_build(output_dir, name, elements, release, extra_args):
            calls.append((output_dir, name, elements, release, extra_args))
            return image_build.BuildResult(name, elements, '/none', '', '',
                                           '', '', 1.0)

        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.image_build.build', fake_build))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.image_build.device_mapper_works', lambda: False))
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.hostdeps.install_missing', lambda profile: []))
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', open(os.devnull, 'w')))
        code = cli.main(['build', '--baseline', '--output-dir', '/o',
                         '--release', 'bookworm', '--', '-x', '--no-tmpfs'])
        self.assertEqual(0, code)
        self.assertEqual([('/o', 'akanda-baseline-bookworm',
                           ['debian', 'akanda-appliance', 'baremetal'],
                           'bookworm', ['-x', '--no-tmpfs'])], calls)
