"""One list per fact: the appliance element is read, not repeated."""

import os
import subprocess

import fixtures
import testtools

from akanda_slim.dib import appliance
from akanda_slim.dib import image_build
from akanda_slim import errors


class ApplianceFactsTest(testtools.TestCase):

    def test_agent_services_are_the_element_default(self):
        env = os.path.join(image_build.find_elements_dir(), 'akanda-appliance',
                           appliance.ENVIRONMENT_FILE)
        shell = subprocess.run(
            ['bash', '-c', 'unset DIB_AKANDA_AGENT_SERVICES; . "$1"; '
             'echo $DIB_AKANDA_AGENT_SERVICES', '-', env],
            stdout=subprocess.PIPE, text=True, check=True).stdout.split()
        self.assertEqual(shell, appliance.agent_services())
        self.assertIn('keepalived', shell)

    def test_declared_packages_come_from_the_yaml(self):
        declared = appliance.declared_packages()
        self.assertIn('conntrackd', declared)
        self.assertEqual(sorted(declared), declared)

    def test_missing_default_is_an_input_error(self):
        root = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(root, 'akanda-appliance', 'environment.d'))
        with open(os.path.join(root, 'akanda-appliance',
                               appliance.ENVIRONMENT_FILE), 'w') as out:
            out.write('export OTHER=1\n')
        self.assertRaises(errors.InputError, appliance.agent_services, root)
