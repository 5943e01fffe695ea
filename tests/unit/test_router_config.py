"""router_config against the orchestrator's own unit tests' expectations.

The upstream tests (astara/test/unit/api/config/) are read from the
shared tarball: their fakes become this module's Subnet and Port, and
their expected dicts must come out of router_config unchanged.
"""

import json

import testtools

from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import router_config as rc
from tests import upstream

TESTS = 'astara/test/unit/api/config/'


def fakes():
    return upstream.assignments(upstream.read(
        upstream.ORCHESTRATOR, TESTS + 'config_fakes.py'))


def expected(test_file, test):
    return upstream.assignments(upstream.read(
        upstream.ORCHESTRATOR, TESTS + test_file), scope=test,
        fakes=fakes())


def subnet(fake):
    return rc.Subnet(fake['id'], fake['cidr'], fake['gateway_ip'],
                     fake['enable_dhcp'], fake['dns_nameservers'],
                     fake['host_routes'], fake['ipv6_ra_mode'])


def port(fake):
    return rc.Port(fake['id'], fake['network_id'], fake['mac_address'],
                   [(f['ip_address'], f['subnet_id'])
                    for f in fake.get('fixed_ips', [])],
                   fake['device_id'], name=fake.get('name', ''))


class UpstreamExpectationsTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.fakes = fakes()
        self.subnets = {'s1': subnet(self.fakes['fake_subnet'])}

    def test_subnet_config(self):
        want = expected('test_common_config.py', 'test_subnet_config')
        self.assertEqual(want['expected'],
                         rc.subnet_config(self.subnets['s1']))

    def test_subnet_config_without_gateway(self):
        for test in ('test_subnet_config_no_gateway',
                     'test_subnet_config_gateway_none'):
            want = expected('test_common_config.py', test)
            self.assertEqual(want['expected'], rc.subnet_config(
                subnet(dict(want['sn'], id='s1'))))

    def test_interface_config(self):
        want = expected('test_common_config.py', 'test_interface_config')
        self.assertEqual(want['expected'], rc.interface_config(
            'ge1', port(self.fakes['fake_int_port']), self.subnets, 1280))

    def test_make_network_config(self):
        want = expected('test_common_config.py', 'test_make_network_config')
        self.assertEqual(want['expected'], rc.make_network_config_dict(
            want['interface'], 'internal', 'int-net', 1280, 'dhcp', 'ra',
            subnets=self.subnets,
            ports=[port(self.fakes['fake_instance_port'])]))

    def test_service_ports_are_no_allocations(self):
        for fake in ('fake_instance_vrrp_port', 'fake_instance_lb_port'):
            self.assertEqual([], rc.allocation_config(
                [port(self.fakes[fake])], self.subnets))
        want = expected('test_common_config.py',
                        'test_allocation_config_mgt')
        self.assertEqual(want['expected'], rc.allocation_config(
            [port(self.fakes['fake_instance_mgt_port'])], self.subnets))

    def test_default_v4_gateway(self):
        networks = expected('test_router_config.py',
                            'TestAstaraClientGateway.setUp')['networks']
        self.assertEqual('172.16.77.1', rc.default_v4_gateway(networks))
        networks[0]['interface']['addresses'] = [
            a for a in networks[0]['interface']['addresses'] if ':' in a]
        self.assertEqual('', rc.default_v4_gateway(networks))

    def test_build_config_keys(self):
        want = expected('test_router_config.py', 'test_build_config')
        networks = expected('test_router_config.py',
                            'TestAstaraClientGateway.setUp')['networks']
        built = rc.build_config(networks, [])
        self.assertEqual(sorted(want['expected']), sorted(built))
        self.assertEqual(want['expected']['asn'], built['asn'])
        self.assertEqual(want['expected']['neighbor_asn'],
                         built['neighbor_asn'])
        self.assertEqual('ak-' + built['tenant_id'], built['hostname'])


class TestRouterTest(testtools.TestCase):

    IFNAMES = {'mgmt': 'ge1', 'external': 'ge2', 'internal': 'ge3',
               'internal2': 'ge4'}

    def test_first_config(self):
        config = rc.tenant_router(self.IFNAMES, qemu.MACS)
        json.dumps(config)
        types = [n['network_type'] for n in config['networks']]
        self.assertEqual(['management', 'external', 'internal'], types)
        self.assertEqual(network.EXTERNAL['host'],
                         config['default_v4_gateway'])
        self.assertEqual([{'floating_ip': network.EXTERNAL['floating'],
                           'fixed_ip': network.INTERNAL['second']}],
                         config['floating_ips'])
        tenant = config['networks'][2]
        self.assertEqual('ge3', tenant['interface']['ifname'])
        self.assertEqual(['192.168.77.1/24', 'fd00:77:2::1/64'],
                         tenant['interface']['addresses'])
        mine = rc.allocation_of(config, network.INTERNAL['client_mac'])
        self.assertEqual({network.INTERNAL['client']: True},
                         mine['ip_addresses'])
        self.assertEqual('192-168-77-100.local', mine['hostname'])
        self.assertEqual([rc.STATIC_ROUTE],
                         tenant['subnets'][0]['host_routes'])
        v6 = tenant['subnets'][1]
        self.assertFalse(v6['dhcp_enabled'])  # SLAAC: bird's RA

    def test_changed_config_adds_network_and_moves_floating_ip(self):
        config = rc.tenant_router(self.IFNAMES, qemu.MACS,
                                  tenants=('internal', 'internal2'),
                                  floating_to=rc.VM2)
        self.assertEqual(['ge1', 'ge2', 'ge3', 'ge4'],
                         [n['interface']['ifname']
                          for n in config['networks']])
        self.assertEqual(network.INTERNAL2['client'],
                         config['floating_ips'][0]['fixed_ip'])
