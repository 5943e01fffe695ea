"""The patch series against the upstream agent the tests and CI are given.

The upstream tarball is expected beside the repository, at
``../shared/upstream/astara-appliance-newton-eol.tar.gz``; without it these
tests fail saying so.
"""

import ast
import configparser
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
import warnings

import fixtures
import testtools

from akanda_slim.dib import appliance_source as source

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TARBALL = os.path.join(os.path.dirname(ROOT), 'shared', 'upstream',
                       'astara-appliance-newton-eol.tar.gz')
PATCHES = os.path.join(ROOT, 'elements', 'akanda-appliance-app', 'patches')
SERIES = os.path.join(PATCHES, 'series')


def patched_tree():
    """A temporary directory holding the upstream tree with the series."""
    if not os.path.isfile(TARBALL):
        raise AssertionError('upstream agent tarball missing: %s' % TARBALL)
    work = tempfile.mkdtemp(prefix='appliance-patches-')
    tree = os.path.join(work, 'astara-appliance')
    source.fetch(TARBALL, tree)
    source.apply_series(tree, SERIES)
    return work, tree


def agent_imports(tree):
    """(module, inside a function) for each Debian module the agent names.

    From the agent's own code (not its tests): ``import a.b`` names
    ``a.b``; ``from a import b`` names ``a``, and ``a.b`` too inside a
    function, where it is how the agent loads a submodule lazily.
    """
    found = set()
    package = os.path.join(tree, 'astara_router')
    for root, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != 'test']
        for name in files:
            if not name.endswith('.py'):
                continue
            with open(os.path.join(root, name)) as text:
                module = ast.parse(text.read())
            lazy = {id(node) for func in ast.walk(module)
                    if isinstance(func, ast.FunctionDef)
                    for node in ast.walk(func)}
            for node in ast.walk(module):
                inside = id(node) in lazy
                if isinstance(node, ast.Import):
                    found.update((a.name, inside) for a in node.names)
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    found.add((node.module, inside))
                    if inside:
                        found.update(('%s.%s' % (node.module, a.name), True)
                                     for a in node.names)
    local = ('astara_router', 'astara_local_settings')
    return sorted((m, lazy) for m, lazy in found
                  if m.split('.')[0] not in sys.stdlib_module_names
                  and m.split('.')[0] not in local)


def touched_files(patch_path):
    with open(patch_path) as text:
        return sorted(set(re.findall(r'^\+\+\+ b/(\S+)', text.read(),
                                     re.MULTILINE)))


class _PatchedTree(testtools.TestCase):
    """One patched tree per class (the series applies to upstream)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work, cls.tree = patched_tree()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)
        super().tearDownClass()


class PatchedTreeTest(_PatchedTree):

    def test_every_patch_is_in_the_series_once(self):
        names = source.read_series(SERIES)
        self.assertEqual(len(names), len(set(names)))
        on_disk = sorted(n for n in os.listdir(PATCHES)
                         if n.endswith('.patch'))
        self.assertEqual(on_disk, sorted(names))
        self.assertEqual(sorted(names), names, 'series is not in NNNN order')
        for name in names:
            self.assertRegex(name, r'^\d{4}-[a-z0-9-]+\.patch$')

    def test_each_patch_explains_itself(self):
        for name in source.read_series(SERIES):
            path = os.path.join(PATCHES, name)
            with open(path) as text:
                head = text.read().split('\n', 3)
            self.assertTrue(head[0].startswith('Description: '), name)
            self.assertLess(len(head[0]), 200, name)
            self.assertTrue(head[1].startswith('Upstream files: '), name)
            self.assertEqual('---', head[2], name)
            listed = sorted(head[1][len('Upstream files: '):].split(', '))
            self.assertEqual(touched_files(path), listed, name)

    def test_the_image_keeps_bytecode_of_what_the_agent_imports(self):
        # The slim element keeps __pycache__ only for what importing
        # DIB_SLIM_PYCACHE_IMPORTS loads at build time: a module the agent
        # imports inside a function (loaded only when it runs) must be
        # named there itself, or every worker compiles it again.
        with open(os.path.join(ROOT, 'elements/slim/environment.d/'
                               '10-slim.bash')) as text:
            listed = re.search(r'DIB_SLIM_PYCACHE_IMPORTS-"([^"]+)"',
                               text.read()).group(1).split()

        def covered(module):
            return any(entry == module or entry.startswith(module + '.')
                       or (entry.endswith('.*')
                           and module.startswith(entry[:-1]))
                       for entry in listed)
        missing = sorted(module for module, _ in agent_imports(self.tree)
                         if not covered(module))
        self.assertEqual([], missing)

    def test_patched_agent_compiles_without_warnings(self):
        compiled = 0
        for folder, _, names in os.walk(os.path.join(self.tree,
                                                     'astara_router')):
            for name in names:
                if not name.endswith('.py'):
                    continue
                path = os.path.join(folder, name)
                with open(path) as text, warnings.catch_warnings():
                    warnings.simplefilter('error')
                    compile(text.read(), path, 'exec')
                compiled += 1
        self.assertGreater(compiled, 30)

    def test_no_python2_or_bird6_left_in_the_agent(self):
        agent = os.path.join(self.tree, 'astara_router')
        for folder, _, names in os.walk(agent):
            for name in (n for n in names if n.endswith('.py')):
                with open(os.path.join(folder, name)) as text:
                    code = text.read()
                left = [old for old in ('iteritems', 'unicode(', 'cStringIO',
                                        'import urlparse', 'bird6',
                                        'from werkzeug import Response')
                        if old in code]
                self.assertEqual([], left, name)

    def test_rootwrap_filters_match_the_bird_driver(self):
        filters = configparser.RawConfigParser()
        filters.read(os.path.join(self.tree, 'etc/rootwrap.d/network.filters'))
        fields = [f.strip() for f in filters.get('Filters', 'mv_bird')
                  .split(',')]
        bird = load_bird_driver(self.tree)
        self.assertRegex('/tmp/bird.conf', '^%s$' % fields[4])
        self.assertRegex(bird.CONF_PATH, '^%s$' % fields[5])
        self.assertEqual('/etc/bird/bird.conf', bird.CONF_PATH)

    def test_bird_config_parses_with_bird(self):
        bird = load_bird_driver(self.tree)
        text = bird.build_config(sample_router(), {'ge0': 'eth0',
                                                   'ge1': 'eth1',
                                                   'ge2': 'eth2'})
        self.assertIn('ipv6 {', text)
        if not shutil.which('bird'):
            self.skipTest('bird (Debian package bird2) is not installed: '
                          'the generated config is not parsed')
        path = os.path.join(self.work, 'bird.conf')
        with open(path, 'w') as out:
            out.write(text)
        result = subprocess.run(['bird', '-p', '-c', path],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        self.assertEqual(0, result.returncode, result.stdout + text)


class ElementFilesTest(_PatchedTree):
    """The element's static files agree with the patched agent."""

    ELEMENT = os.path.dirname(PATCHES)
    FILES = os.path.join(ELEMENT, 'files')

    def read(self, *parts):
        with open(os.path.join(*parts)) as text:
            return text.read()

    def test_console_scripts_are_upstream_entry_points(self):
        setup = configparser.RawConfigParser()
        setup.read(os.path.join(self.tree, 'setup.cfg'))
        entries = dict(
            line.replace(' ', '').split('=', 1) for line in
            setup.get('entry_points', 'console_scripts').split('\n')
            if line.strip())
        install = self.read(self.ELEMENT, 'install.d',
                            '75-akanda-app-install')
        for name, target in sorted(entries.items()):
            module, function = target.split(':')
            if name.startswith('akanda-'):
                self.assertEqual(target, entries['astara-' + name[7:]])
                self.assertIn(name[7:], install)
                continue
            script = self.read(self.FILES, 'usr/local/bin', name)
            self.assertRegex(script, r'(?m)^from %s import %s(  # noqa.*)?$'
                             % (re.escape(module), function))
            if module.startswith('astara_router'):
                self.assertIn('def %s(' % function, self.read(
                    self.tree, module.replace('.', '/') + '.py'))

    def test_sudo_rule_is_the_drivers_root_helper(self):
        base = self.read(self.tree, 'astara_router/drivers/base.py')
        helper = re.search(r"root_helper='sudo ([^']+)'", base).group(1)
        rule = self.read(self.FILES, 'etc/sudoers.d/gunicorn')
        self.assertIn('NOPASSWD: /usr/local/bin/%s *' % helper, rule)

    def test_rootwrap_daemon_of_the_unit_is_allowed_and_patched_in(self):
        unit = self.read(self.FILES,
                         'etc/systemd/system/astara-router-api-server.service')
        command = re.search(r'"ASTARA_ROOTWRAP_DAEMON=sudo -n ([^"]+)"',
                            unit).group(1)
        rule = self.read(self.FILES, 'etc/sudoers.d/gunicorn')
        self.assertIn('NOPASSWD: %s\n' % command, rule)
        script = self.read(self.FILES, 'usr/local/bin',
                           os.path.basename(command.split()[0]))
        self.assertRegex(script, r'(?m)^from oslo_rootwrap.cmd import daemon'
                                 r'(  # noqa.*)?$')
        utils = self.read(self.tree, 'astara_router/utils.py')
        self.assertIn("os.environ.get('ASTARA_ROOTWRAP_DAEMON')", utils)

    def test_every_service_the_drivers_call_exists(self):
        # Services of the router drivers: Debian's units, or this element's.
        debian = {'dnsmasq', 'bird', 'keepalived', 'conntrackd',
                  'netfilter-persistent'}
        own = set(n[:-len('.service')] for n in os.listdir(
            os.path.join(self.FILES, 'etc/systemd/system')))
        called = set()
        for name in ('bird', 'dnsmasq', 'metadata', 'iptables', 'keepalived',
                     'conntrackd'):
            code = self.read(self.tree, 'astara_router/drivers/%s.py' % name)
            called.update(re.findall(r"'service', '([\w-]+)'", code))
            if "EXECUTABLE = 'service'" in code:
                called.update(re.findall(r"self\.sudo\('([\w-]+)'", code))
        self.assertIn('metadata', called)
        self.assertEqual(set(), called - debian - own)

    def test_gunicorn_serves_the_agent_on_every_address(self):
        settings = {}
        exec(self.read(self.FILES, 'etc/astara_gunicorn_config.py'),
             settings)
        self.assertEqual('[::]:5000', settings['bind'])
        self.assertFalse(settings['daemon'])
        unit = self.read(self.FILES, 'etc/systemd/system',
                         'astara-router-api-server.service')
        self.assertIn('astara_router.api.server:app', unit)
        self.assertIn('app = flask.Flask',
                      self.read(self.tree, 'astara_router/api/server.py'))


class StaleSeriesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.work = self.useFixture(fixtures.TempDir()).path
        if not os.path.isfile(TARBALL):
            self.fail('upstream agent tarball missing: %s' % TARBALL)
        self.tree = os.path.join(self.work, 'astara-appliance')
        source.fetch(TARBALL, self.tree)

    def test_a_patch_that_no_longer_applies_is_named(self):
        # The series up to the last patch applies; then upstream changes
        # the lines of the last patch's first hunk.
        names = source.read_series(SERIES)
        patches = os.path.join(self.work, 'patches')
        shutil.copytree(PATCHES, patches)
        for index, listed in ((slice(0, -1), 'before'), (slice(-1, None),
                                                         'last')):
            with open(os.path.join(patches, listed), 'w') as out:
                out.write('\n'.join(names[index]) + '\n')
        source.apply_series(self.tree, os.path.join(patches, 'before'))
        path = os.path.join(PATCHES, names[-1])
        target = os.path.join(self.tree, touched_files(path)[0])
        with open(path) as text:
            hunk = text.read().split('\n@@ ', 1)[1].splitlines()[1:]
        with open(target) as text:
            code = text.read()
        for line in (line[1:] for line in hunk if line[:1] in ' -'):
            self.assertIn(line, code)
            code = code.replace(line, line + '  # changed upstream', 1)
        with open(target, 'w') as out:
            out.write(code)
        exc = self.assertRaises(source.PatchError, source.apply_series,
                                self.tree, os.path.join(patches, 'last'))
        self.assertIn(names[-1], str(exc))

    def test_the_series_does_not_apply_twice(self):
        source.apply_series(self.tree, SERIES)
        exc = self.assertRaises(source.PatchError, source.apply_series,
                                self.tree, SERIES)
        self.assertIn(source.read_series(SERIES)[0], str(exc))


def load_bird_driver(tree):
    """The patched bird driver, with stand-ins for the modules it imports.

    Only ``build_config`` is used, which needs neither Flask nor netaddr.
    """
    package = types.ModuleType('astara_router')
    drivers = types.ModuleType('astara_router.drivers')
    base = types.ModuleType('astara_router.drivers.base')
    base.Manager = object
    utils = types.ModuleType('astara_router.utils')
    package.drivers, package.utils, drivers.base = drivers, utils, base
    stand_ins = {'astara_router': package, 'astara_router.drivers': drivers,
                 'astara_router.drivers.base': base,
                 'astara_router.utils': utils}
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        spec = importlib.util.spec_from_file_location(
            'appliance_bird_driver',
            os.path.join(tree, 'astara_router/drivers/bird.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module


def sample_router():
    """A router as the agent's models present it to the bird driver.

    Management, external (IPv4 and IPv6 with gateways, so a BGP peer) and
    one tenant network with an IPv4 and two IPv6 subnets (one with DHCPv6
    and name servers, so radv's prefix and rdnss options).
    """
    import ipaddress

    def subnet(cidr, gateway, dhcp=False, dns=()):
        return types.SimpleNamespace(
            cidr=ipaddress.ip_network(cidr),
            gateway_ip=ipaddress.ip_address(gateway) if gateway else None,
            dhcp_enabled=dhcp, dns_nameservers=list(dns))

    def network(kind, ifname, subnets):
        return types.SimpleNamespace(
            is_internal_network=kind == 'internal',
            is_external_network=kind == 'external',
            is_tenant_network=kind == 'internal',
            interface=types.SimpleNamespace(ifname=ifname), subnets=subnets)

    return types.SimpleNamespace(
        external_v4_id='172.16.77.10', asn=64512, neighbor_asn=64512,
        networks=[
            network('management', 'ge0',
                    [subnet('fdca:3ba5:a17a:acda::/64', None)]),
            network('external', 'ge1',
                    [subnet('172.16.77.0/24', '172.16.77.1'),
                     subnet('2001:db8:77::/64', '2001:db8:77::1')]),
            network('internal', 'ge2',
                    [subnet('192.168.0.0/24', '192.168.0.1', True),
                     subnet('2001:db8:10::/64', '2001:db8:10::1'),
                     subnet('2001:db8:11::/64', '2001:db8:11::1', True,
                            ['2001:db8:11::1', '2001:db8:11::2'])])])
