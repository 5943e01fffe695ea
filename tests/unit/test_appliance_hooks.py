"""The akanda-appliance and akanda-appliance-app elements' hooks.

In-image hooks (pre-install.d, post-install.d) run as in
``test_slim_image_hooks``: a private mount namespace with overlays on
/etc, /usr and /var and a fake ``systemctl``. Host hooks (root.d,
extra-data.d) run as DIB runs them, with ``DIB_PYTHON_EXEC`` this Python,
against scratch sources and a scratch hooks directory.
"""

import os
import re
import subprocess
import sys

import fixtures
import testtools
import yaml

from akanda_slim.dib import appliance
from akanda_slim.dib import appliance_source
from tests.unit import test_appliance_source
from tests.unit import test_slim_hooks
from tests.unit import test_slim_image_hooks

ELEMENTS = os.path.join(test_slim_hooks.SOURCE, 'elements')
APPLIANCE = os.path.join(ELEMENTS, 'akanda-appliance')
APP = os.path.join(ELEMENTS, 'akanda-appliance-app')
ENVIRONMENT = os.path.join(APPLIANCE, appliance.ENVIRONMENT_FILE)
NETWORK_CFG = '/etc/cloud/cloud.cfg.d/90-akanda-network.cfg'
LINKS = '/etc/network/interfaces.d/akanda-router-links'
SYSCTL = '/etc/sysctl.d/60-akanda-router.conf'


def environment_defaults(**preset):
    """{name: value} exported after sourcing the environment file.

    Sourced with an empty environment plus ``preset``.
    """
    result = subprocess.run(
        ['bash', '-c', '. "$1" && exec env -0', 'env', ENVIRONMENT],
        env=dict(preset, PATH=os.environ['PATH']), stdout=subprocess.PIPE,
        text=True, check=True)
    return dict(entry.split('=', 1)
                for entry in result.stdout.split('\0') if entry)


def stanzas(text):
    """{interface: [its stanza lines]} of an ifupdown interfaces file."""
    found = {}
    current = None
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ['allow-hotplug']:
            current = found.setdefault(words[1], [])
        if current is not None and words:
            current.append(' '.join(words))
    return found


class EnvironmentTest(testtools.TestCase):
    """environment.d/10-akanda-appliance.bash: defaults and overrides."""

    def readme_defaults(self):
        with open(os.path.join(APPLIANCE, 'README.rst')) as text:
            return dict(re.findall(
                r'(?m)^(DIB_\w+)\n(?:  .*\n)*?  :Default: ``([^`]*)``$',
                text.read()))

    def test_defaults_are_the_documented_ones(self):
        values = environment_defaults()
        documented = self.readme_defaults()
        self.assertIn('DIB_AKANDA_HOSTNAME', documented)
        for name, default in documented.items():
            if name == 'DIB_SLIM_APPLIANCE_ELEMENTS':
                continue  # appended to, not defaulted
            self.assertEqual(default, values.get(name), name)
        self.assertEqual(['akanda-appliance'],
                         values['DIB_SLIM_APPLIANCE_ELEMENTS'].split())
        self.assertIn('net.ifnames=0',
                      values['DIB_BOOTLOADER_DEFAULT_CMDLINE'].split())
        self.assertEqual(appliance.agent_services(),
                         values['DIB_AKANDA_AGENT_SERVICES'].split())

    def test_set_variables_are_kept(self):
        preset = {'DIB_AKANDA_HOSTNAME': 'edge',
                  'DIB_AKANDA_AGENT_SERVICES': 'dnsmasq',
                  'DIB_CLOUD_INIT_DATASOURCES': 'NoCloud',
                  'DIB_NETWORK_INTERFACE_NAMES': 'eth0 eth1',
                  'DIB_BOOTLOADER_DEFAULT_CMDLINE': 'console=ttyS0'}
        values = environment_defaults(
            DIB_SLIM_APPLIANCE_ELEMENTS='router-agent', **preset)
        for name, value in preset.items():
            self.assertEqual(value, values[name], name)
        self.assertEqual(['router-agent', 'akanda-appliance'],
                         values['DIB_SLIM_APPLIANCE_ELEMENTS'].split())


class ApplianceImageHookCase(test_slim_image_hooks.ImageHookCase):
    element = APPLIANCE
    environment = ENVIRONMENT


class ForwardingAndHostnameTest(ApplianceImageHookCase):

    def test_forwarding_sysctls(self):
        result = self.run_hook('post-install.d/60-akanda-forwarding')
        self.assertEqual(0, result.returncode, result.stdout)
        settings = dict(
            (key.strip(), value.strip()) for key, _, value in (
                line.partition('=') for line in
                self.written(SYSCTL).splitlines() if line.strip()))
        self.assertEqual({'net.ipv4.ip_forward': '1',
                          'net.ipv6.conf.all.forwarding': '1',
                          'net.ipv6.conf.all.accept_ra': '2',
                          'net.ipv6.conf.default.accept_ra': '2'}, settings)

    def test_hostname_default_and_hosts_once(self):
        prepare = 'printf "127.0.0.1 localhost\\n" > /etc/hosts'
        for _ in range(2):
            result = self.run_hook('post-install.d/61-akanda-hostname',
                                   prepare=prepare)
            self.assertEqual(0, result.returncode, result.stdout)
            prepare = ''
        name = environment_defaults()['DIB_AKANDA_HOSTNAME']
        self.assertEqual(name + '\n', self.written('/etc/hostname'))
        self.assertEqual('127.0.0.1 localhost\n127.0.1.1 %s\n' % name,
                         self.written('/etc/hosts'))

    def test_hostname_already_in_hosts(self):
        hosts = '127.0.0.1 localhost\n127.0.1.1 edge.example.org edge\n'
        result = self.run_hook('post-install.d/61-akanda-hostname',
                               prepare="printf '%s' > /etc/hosts" % hosts,
                               DIB_AKANDA_HOSTNAME='edge')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual('edge\n', self.written('/etc/hostname'))
        self.assertEqual(hosts, self.written('/etc/hosts'))


class ServicesTest(ApplianceImageHookCase):

    def test_enabled_and_disabled_units(self):
        result = self.run_hook('post-install.d/62-akanda-services')
        self.assertEqual(0, result.returncode, result.stdout)
        log = self.enabled()
        self.assertEqual('enable ssh.service netfilter-persistent.service '
                         'systemd-timesyncd.service', log[0])
        self.assertEqual(['disable %s.service' % service
                          for service in appliance.agent_services()],
                         log[1:])

    def test_chosen_agent_services(self):
        result = self.run_hook('post-install.d/62-akanda-services',
                               DIB_AKANDA_AGENT_SERVICES='dnsmasq bird')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual(['disable dnsmasq.service', 'disable bird.service'],
                         self.enabled()[1:])

    def ssh_host_keys(self, shipped, absent):
        """Run 85 with the units ``shipped`` present, ``absent`` gone."""
        units = '/usr/lib/systemd/system/'
        result = self.run_hook(
            'post-install.d/85-akanda-ssh-host-keys',
            prepare='mkdir -p {0} && cd {0} && touch {1} && rm -f {2}'.format(
                units, ' '.join(shipped), ' '.join(absent)))
        self.assertEqual(0, result.returncode, result.stdout)
        return self.enabled()

    def test_ssh_keygen_disabled_beside_sshd_keygen(self):
        self.assertEqual(['disable ssh-keygen.service'], self.ssh_host_keys(
            ['sshd-keygen.service', 'ssh-keygen.service'], []))

    def test_ssh_keygen_kept_without_sshd_keygen(self):
        self.assertEqual([], self.ssh_host_keys(['ssh-keygen.service'],
                                                ['sshd-keygen.service']))


class NetworkConfigTest(ApplianceImageHookCase):

    def test_router_links_and_cloud_init_networking_off(self):
        result = self.run_hook(
            'post-install.d/63-akanda-network-config',
            prepare='mkdir -p /etc/cloud/cloud.cfg.d '
            '/etc/network/interfaces.d')
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual({'network': {'config': 'disabled'}},
                         yaml.safe_load(self.written(NETWORK_CFG)))
        found = stanzas(self.written(LINKS))
        names = ['eth%d' % n for n in range(1, 10)]
        self.assertEqual(names, sorted(found))
        for name in names:
            self.assertEqual(['allow-hotplug ' + name,
                              'iface %s inet manual' % name,
                              'up ip link set dev $IFACE up'], found[name])

    def test_management_nic_left_to_dib(self):
        # eth0 gets its DHCP stanza from DIB (DIB_NETWORK_INTERFACE_NAMES):
        # the router's links file must not configure it a second time.
        self.run_hook('post-install.d/63-akanda-network-config',
                      prepare='mkdir -p /etc/cloud/cloud.cfg.d '
                      '/etc/network/interfaces.d')
        self.assertNotIn('eth0', self.written(LINKS).split())
        self.assertEqual(['eth0'], environment_defaults()[
            'DIB_NETWORK_INTERFACE_NAMES'].split())


class DpkgIncludeTest(ApplianceImageHookCase):
    element = APP

    def test_notify_script_kept_from_the_doc_excludes(self):
        conf = '/etc/dpkg/dpkg.cfg.d/10akanda-conntrackd-notify'
        result = self.run_hook('pre-install.d/10-akanda-app-dpkg-include')
        self.assertEqual(0, result.returncode, result.stdout)
        with open(os.path.join(APP, 'files', conf.lstrip('/'))) as f:
            self.assertEqual(f.read(), self.written(conf))
        self.assertEqual(0o644, self.mode(conf))
        # The path kept is the one install.d copies into /etc/conntrackd.
        included = re.findall(r'(?m)^path-include=(\S+)$',
                              self.written(conf))
        with open(os.path.join(APP, 'install.d',
                               '75-akanda-app-install')) as f:
            install = f.read()
        self.assertEqual(1, len(included))
        self.assertIn('install -m 0755 %s \\' % included[0], install)


class SourceHooksTest(testtools.TestCase):
    """root.d/05 and extra-data.d/50: the agent's source on the host."""

    def setUp(self):
        super().setUp()
        self.work = os.path.realpath(
            self.useFixture(fixtures.TempDir()).path)
        self.hooks = os.path.join(self.work, 'build dir', 'hooks')
        os.makedirs(os.path.join(self.hooks, 'patches'))
        self.env = dict(os.environ, DIB_PYTHON_EXEC=sys.executable,
                        PYTHONPATH=test_slim_hooks.SOURCE,
                        TMP_HOOKS_PATH=self.hooks)
        for name in (appliance_source.LOCATION_VARIABLE,
                     appliance_source.REF_VARIABLE, 'DIB_DEBUG_TRACE'):
            self.env.pop(name, None)

    def run_hook(self, hook, location=None, ref=None):
        env = dict(self.env)
        if location is not None:
            env[appliance_source.LOCATION_VARIABLE] = location
        if ref is not None:
            env[appliance_source.REF_VARIABLE] = ref
        return subprocess.run(
            ['bash', os.path.join(APP, hook)], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=120)

    def assertRefused(self, result, text):
        self.assertNotEqual(0, result.returncode)
        self.assertNotIn('Traceback', result.stdout)
        self.assertEqual(1, len(result.stdout.splitlines()), result.stdout)
        self.assertIn(text, result.stdout)

    def tree(self, marker=True):
        return test_appliance_source.make_tree(
            os.path.join(self.work, 'agent'), marker=marker)

    def series(self, *patches):
        """Write ``patches`` ({name: text}) and the series listing them."""
        with open(os.path.join(self.hooks, 'patches', 'series'), 'w') as f:
            for name, text in patches:
                f.write(name + '\n')
                with open(os.path.join(self.hooks, 'patches', name),
                          'w') as patch:
                    patch.write(text)

    def test_bad_locations_refused_in_one_line(self):
        missing = os.path.join(self.work, 'nowhere')
        not_agent = self.tree(marker=False)
        plain = os.path.join(self.work, 'agent.zip')
        with open(plain, 'w') as f:
            f.write('zip\n')
        for hook in ('root.d/05-akanda-app-location',
                     'extra-data.d/50-akanda-app-source'):
            self.assertRefused(self.run_hook(hook),
                               appliance_source.LOCATION_VARIABLE)
            self.assertRefused(self.run_hook(hook, ''),
                               appliance_source.LOCATION_VARIABLE)
            self.assertRefused(self.run_hook(hook, missing),
                               'no such file or directory')
            self.assertRefused(self.run_hook(hook, not_agent),
                               'not the appliance agent')
            self.assertRefused(self.run_hook(hook, plain), 'not a tarball')
            self.assertFalse(os.path.lexists(os.path.join(
                self.hooks, 'akanda-appliance-source')))

    def test_ref_for_a_directory_refused(self):
        tree = self.tree()
        result = self.run_hook('root.d/05-akanda-app-location', tree, 'v1')
        self.assertRefused(result, appliance_source.REF_VARIABLE)
        result = self.run_hook('root.d/05-akanda-app-location', tree)
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertEqual('', result.stdout)

    def test_fetched_and_patched_into_the_hooks_directory(self):
        self.series(('0001-readme.patch',
                     '--- a/README\n+++ b/README\n@@ -1,3 +1,3 @@\n'
                     ' one\n-two\n+deux\n three\n'))
        result = self.run_hook('extra-data.d/50-akanda-app-source',
                               self.tree())
        self.assertEqual(0, result.returncode, result.stdout)
        self.assertIn('1 patches applied', result.stdout)
        fetched = os.path.join(self.hooks, 'akanda-appliance-source')
        with open(os.path.join(fetched, 'README')) as f:
            self.assertEqual('one\ndeux\nthree\n', f.read())
        self.assertTrue(os.path.isfile(os.path.join(
            fetched, appliance_source.AGENT_MARKER)))

    def test_patch_that_does_not_apply_named_in_one_line(self):
        self.series(('0001-stale.patch',
                     '--- a/README\n+++ b/README\n@@ -1,3 +1,3 @@\n'
                     ' one\n-zwei\n+deux\n three\n'))
        result = self.run_hook('extra-data.d/50-akanda-app-source',
                               self.tree())
        self.assertRefused(result, '0001-stale.patch')
        self.assertEqual(1, result.returncode)
