"""The router checks' pure parts: what the agent's answers must hold."""

import json
import subprocess

import fixtures
import testtools

from akanda_slim.bootcheck import agent_api
from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import ha_pair
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_checks
from akanda_slim.bootcheck import router_config
from akanda_slim import cli

IFNAMES = {'mgmt': 'ge1', 'external': 'ge2', 'internal': 'ge3',
           'internal2': 'ge4'}


def agent_answer(sent):
    """What the agent's GET /v1/system/config gives for ``sent``.

    Its RouterConfiguration.to_dict() plus ``system``.
    """
    sent = json.loads(json.dumps(sent))
    return {
        'networks': [{'network_id': n['network_id'],
                      'interface': dict(n['interface'], state='up'),
                      'network_type': n['network_type']}
                     for n in sent['networks']],
        'address_book': {}, 'anchors': [], 'static_routes': [], 'vpn': [],
        'services': {},
        'system': {'tenant_id': sent['tenant_id'],
                   'hostname': sent['hostname'],
                   'management_address': None, 'interfaces': []},
    }


class DifferencesTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.sent = router_config.tenant_router(IFNAMES, qemu.MACS)

    def test_the_same_config_has_none(self):
        self.assertEqual([], router_checks.differences(
            self.sent, agent_answer(self.sent)))

    def test_a_lost_address_network_or_tenant_is_named(self):
        answer = agent_answer(self.sent)
        answer['networks'][2]['interface']['addresses'].pop()
        del answer['networks'][1]
        answer['system']['tenant_id'] = None
        problems = router_checks.differences(self.sent, answer)
        self.assertIn('tenant-net-1 lacks fd00:77:2::1/64', problems)
        self.assertIn('no network ext-net', problems)
        self.assertIn('system tenant_id None', problems)


class MalformedTest(testtools.TestCase):

    def test_each_payload_is_refusable(self):
        config = router_config.tenant_router(IFNAMES, qemu.MACS)
        payloads = list(router_checks.malformed(config))
        self.assertEqual(len(router_checks.MALFORMED), len(payloads))
        broken = json.loads(payloads[1][1])
        self.assertNotIn('interface', broken['networks'][-1])
        self.assertEqual({'loadbalancer': {'id': 'lb'}},
                         json.loads(payloads[2][1])['services'])
        self.assertRaises(ValueError, json.loads, payloads[0][1])
        # The config they break stays as it was.
        self.assertIn('interface', config['networks'][-1])
        self.assertNotIn('services', config)


class HaConfigTest(testtools.TestCase):

    def test_pair_configs_name_each_other_with_priorities(self):
        configs = [router_config.tenant_router(
            IFNAMES, qemu.guest_macs(i), index=i,
            ha_peers=[router_config.management_address(1 - i)])
            for i in (0, 1)]
        self.assertEqual([True, True], [c['ha_resource'] for c in configs])
        self.assertEqual([100, 50],
                         [c['ha_config']['priority'] for c in configs])
        self.assertEqual(['fdca:3ba5:a17a:acda::11'],
                         configs[0]['ha_config']['peers'])
        self.assertEqual(['fdca:3ba5:a17a:acda::11/64'],
                         configs[1]['networks'][0]['interface']['addresses'])
        single = router_config.tenant_router(IFNAMES, qemu.MACS)
        self.assertFalse(single['ha_resource'])
        self.assertNotIn('ha_config', single)


class HeldConnectionTest(testtools.TestCase):

    def test_echoes_after_the_kill_without_a_break_survive(self):
        lines = ['connected 100.0', 'ok 100.2', 'ok 101.0', 'ok 104.5',
                 'ok 104.7']
        held = ha_pair.held_connection(lines, killed_at=101.5)
        self.assertTrue(held['survived'])
        self.assertEqual(2, held['echoes_after_kill'])
        self.assertEqual(3.5, held['largest_gap_seconds'])

    def test_a_break_is_reported(self):
        lines = ['connected 100.0', 'ok 100.2', 'broken 106.0 timed out']
        held = ha_pair.held_connection(lines, killed_at=101.0)
        self.assertFalse(held['survived'])
        self.assertEqual('broken 106.0 timed out', held['broken'])
        self.assertEqual(0, held['echoes_after_kill'])


class AgentNeverUpTest(testtools.TestCase):

    class FakeSsh:
        def run(self, command, timeout=None):
            return subprocess.CompletedProcess(
                command, 0, 'Traceback (most recent call last):\n'
                'ImportError: No module named astara_router\n', '')

    class FakeMachine:
        def alive(self):
            return True

    def test_the_failure_carries_the_agents_journal(self):
        self.useFixture(fixtures.MonkeyPatch(
            'akanda_slim.bootcheck.agent_api.Agent.wait_alive',
            lambda self, timeout: None))
        ctx = checks.Context(ssh=self.FakeSsh(), machine=self.FakeMachine(),
                             networks=object())
        failure = self.assertRaises(checks.Failed,
                                    router_checks.agent_alive, ctx)
        self.assertIn('the agent did not answer GET /v1/firewall/rules',
                      str(failure))
        self.assertIn('ImportError: No module named astara_router',
                      str(failure))
        self.assertIsInstance(ctx.agent, agent_api.Agent)


class FailoverCommandTest(testtools.TestCase):

    def test_bad_input_is_refused_before_anything_boots(self):
        stderr = self.useFixture(fixtures.StringStream('stderr'))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr.stream))
        image = self.useFixture(fixtures.TempDir()).path + '/x.qcow2'
        self.assertEqual(2, cli.main(['failover', image]))
        self.assertEqual(2, cli.main(['failover', '--memory', '10', image]))
        self.assertEqual(2, cli.main(['failover', '--hold', '5', image]))
        stderr.stream.flush()
        said = stderr.getDetails()['stderr'].as_text().splitlines()
        self.assertEqual(3, len(said), said)
        self.assertTrue(all(line.startswith('akanda-slim: error: ')
                            for line in said), said)


class IfnamesByMacTest(testtools.TestCase):

    class FakeAgent:
        def __init__(self, interfaces):
            self._interfaces = interfaces

        def interfaces(self):
            return self._interfaces

    def test_router_nics_named_by_mac_and_a_missing_one_fails(self):
        macs = qemu.guest_macs(1)
        listed = [{'ifname': 'ge%d' % n, 'lladdr': macs[role]}
                  for n, role in enumerate(('access',) + qemu.ROUTER_NICS)]
        self.assertEqual(
            {'mgmt': 'ge1', 'external': 'ge2', 'internal': 'ge3',
             'internal2': 'ge4'},
            router_checks.ifnames_by_mac(self.FakeAgent(listed), macs))
        failure = self.assertRaises(
            checks.Failed, router_checks.ifnames_by_mac,
            self.FakeAgent(listed[:3]), macs)
        self.assertIn('MAC of internal, internal2', str(failure))
