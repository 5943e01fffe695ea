"""devstack/plugin.sh sourced with stand-ins for what devstack provides.

The stand-ins record the commands the plugin issues. The ``akanda-slim``
stand-in parses its arguments with the real ``build`` parser, so a plugin
that drifts from the command line fails here.
"""

import os
import subprocess
import sys

import fixtures
import testtools

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

DEVSTACK_FUNCTIONS = '''
is_service_enabled() { [[ " $ENABLED_SERVICES " == *" $1 "* ]]; }
setup_develop() { echo "setup_develop $*" >> $COMMAND_LOG; }
iniset() { echo "iniset $*" >> $COMMAND_LOG; }
die() { echo "die: ${*:2}" >> $COMMAND_LOG; exit 1; }
'''

SUDO = '''#!/bin/bash
echo "sudo $*" >> $COMMAND_LOG
[ "$1" = -E ] && shift
exec env "$@"
'''

OPENSTACK = '''#!/bin/bash
echo "openstack $*" >> $COMMAND_LOG
echo "id-${@: -1}"
'''

AKANDA_SLIM = '''#!%(python)s
import argparse, json, os, sys
sys.path.insert(0, %(repo)r)
from akanda_slim.commands import build
from akanda_slim.dib import image_build
if sys.argv[1:] == ['dib-env']:  # a query: not logged
    print('export DIB_RELEASE=%%s' %% image_build.DEFAULT_RELEASE)
    sys.exit(0)
parser = argparse.ArgumentParser(prog='akanda-slim')
sub = parser.add_subparsers(dest='command', required=True)
build.add_arguments(sub.add_parser('build'))
args = parser.parse_args()
with open(os.environ['COMMAND_LOG'], 'a') as log:
    log.write('akanda-slim %%s\\n' %% ' '.join(sys.argv[1:]))
if os.environ.get('STUB_BUILD_FAILS'):
    sys.exit(1)
prefix = os.path.join(args.output_dir, args.name)
suffixes = ['.qcow2'] + os.environ.get('STUB_BUILD_OUTPUTS', '').split()
for suffix in suffixes:
    open(prefix + suffix, 'w').close()
with open(prefix + '.slim.json', 'w') as report:
    json.dump({'packages': [{'package': 'a'}, {'package': 'b'}]}, report)
'''


class DevstackPluginTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.bin = os.path.join(self.dir, 'bin')
        os.makedirs(self.bin)
        for name, text in (('sudo', SUDO), ('openstack', OPENSTACK),
                           ('akanda-slim', AKANDA_SLIM % {
                               'python': sys.executable, 'repo': REPO})):
            path = os.path.join(self.bin, name)
            with open(path, 'w') as out:
                out.write(text)
            os.chmod(path, 0o755)
        self.functions = os.path.join(self.dir, 'functions')
        with open(self.functions, 'w') as out:
            out.write(DEVSTACK_FUNCTIONS)
        self.log = os.path.join(self.dir, 'commands.log')
        self.data = os.path.join(self.dir, 'data')

    def stack(self, *phases, services='akanda-slim', **environ):
        """Source the plugin once per phase, as devstack does."""
        lines = ['source %s' % self.functions,
                 'source %s/devstack/settings' % REPO]
        lines += ['source %s/devstack/plugin.sh %s' % (REPO, phase)
                  for phase in phases]
        env = dict(os.environ, PATH=self.bin + ':' + os.environ['PATH'],
                   COMMAND_LOG=self.log, DEST='/opt/stack',
                   DATA_DIR=self.data, ENABLED_SERVICES=services, **environ)
        result = subprocess.run(['bash', '-c', '\n'.join(lines)], env=env,
                                text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        commands = []
        if os.path.exists(self.log):
            with open(self.log) as log:
                commands = log.read().splitlines()
        return result, commands

    def test_install_develops_the_checkout(self):
        result, commands = self.stack('stack install')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(['setup_develop /opt/stack/akanda-slim'], commands)

    def test_extra_builds_uploads_and_configures(self):
        out = os.path.join(self.data, 'akanda-slim')
        prefix = os.path.join(out, 'akanda-slim-trixie')
        result, commands = self.stack(
            'stack install', 'stack extra',
            STUB_BUILD_OUTPUTS='.vmlinuz .initrd',
            AKANDA_SLIM_DIB_ARGS='-x',
            AKANDA_SLIM_AGENT_SOURCE='/src/astara-appliance.tar.gz')
        self.assertEqual(0, result.returncode, result.stderr)
        build = ('build --agent-source /src/astara-appliance.tar.gz '
                 '--output-dir %s --release trixie '
                 '--name akanda-slim-trixie -- -x' % out)
        create = 'openstack image create -f value -c id --public'
        self.assertEqual([
            'setup_develop /opt/stack/akanda-slim',
            'sudo -E PATH=%s akanda-slim %s' % (
                self.bin + ':' + os.environ['PATH'], build),
            'akanda-slim ' + build,
            '%s --disk-format aki --container-format aki --file '
            '%s.vmlinuz akanda-slim-trixie-kernel' % (create, prefix),
            '%s --disk-format ari --container-format ari --file '
            '%s.initrd akanda-slim-trixie-initrd' % (create, prefix),
            '%s --disk-format qcow2 --container-format bare '
            '--property hw_vif_model=virtio --property hw_disk_bus=virtio '
            '--property os_distro=debian --property os_version=trixie '
            '--property akanda_slim_packages=2 '
            '--property kernel_id=id-akanda-slim-trixie-kernel '
            '--property ramdisk_id=id-akanda-slim-trixie-initrd '
            '--property os_command_line=root=/dev/vda console=ttyS0 '
            'net.ifnames=0 --file %s.qcow2 akanda-slim-trixie'
            % (create, prefix),
            'iniset /etc/akanda/rug.ini DEFAULT router_image_uuid '
            'id-akanda-slim-trixie',
        ], commands)
        self.assertIn('uploaded akanda-slim-trixie as id-akanda-slim-trixie',
                      result.stdout)

    def test_whole_disk_image_uploads_alone(self):
        result, commands = self.stack(
            'stack extra', AKANDA_SLIM_ROUTER_CONF='/etc/astara/o.ini',
            AKANDA_SLIM_ROUTER_CONF_SECTION='router',
            AKANDA_SLIM_ROUTER_CONF_OPTION='image_uuid')
        self.assertEqual(0, result.returncode, result.stderr)
        uploads = [c for c in commands if c.startswith('openstack')]
        self.assertEqual(1, len(uploads))
        self.assertNotIn('kernel_id', uploads[0])
        self.assertEqual('iniset /etc/astara/o.ini router image_uuid '
                         'id-akanda-slim-trixie', commands[-1])

    def test_failed_build_stops_with_a_reason(self):
        result, commands = self.stack('stack extra', STUB_BUILD_FAILS='1')
        self.assertNotEqual(0, result.returncode)
        self.assertEqual('die: akanda-slim build failed: see its output '
                         'above', commands[-1])
        self.assertFalse([c for c in commands if c.startswith('openstack')])

    def test_build_arguments_match_the_real_command(self):
        result, commands = self.stack(
            'stack extra', AKANDA_SLIM_RELEASE='bookworm')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('--release bookworm', commands[1])

    def test_disabled_plugin_does_nothing(self):
        result, commands = self.stack('stack install', 'stack extra',
                                      'clean', services='glance')
        self.assertEqual((0, []), (result.returncode, commands))

    def test_clean_removes_the_output(self):
        result, commands = self.stack('clean')
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual(['sudo rm -rf %s/akanda-slim' % self.data],
                         commands)
