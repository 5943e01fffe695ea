"""Router configurations, built the way the Astara orchestrator builds them.

The orchestrator (astara, ``astara/api/config/router.py`` and
``common.py``, tag newton-eol) turns Neutron's router, ports, networks and
subnets into the dict it PUTs to the appliance's ``/v1/system/config``.
This module does the same from a small Neutron-like model of the test
networks (``network.py``), field for field:

* ``build_config``: ``router.build_config``: asn and neighbor_asn (the
  orchestrator's defaults, 64512), default_v4_gateway
  (``get_default_v4_gateway``: the gateway of the external IPv4 subnet
  holding the router's external address), networks, labels (the provider
  rules file's ``labels``), floating_ips, tenant_id, hostname
  (``ak-TENANT``), orchestrator (its address and metadata port on the
  management network), ha_resource, vpn (empty: no VPN service).
* ``network_config``: ``common._make_network_config_dict``: interface
  (``_interface_config``: the agent's ifname, the port's addresses with
  their subnet's prefix length, mtu), network_id, mtu, v4/v6_conf_service
  ('static'), network_type, subnets (``_subnet_config``), allocations
  (``_allocation_config``: every port on the network but the appliance's
  own service ports, with its addresses, device, MAC and
  ``A-B-C-D.local`` host name).

The unit tests hold these functions to the upstream unit tests' expected
dicts (``astara/test/unit/api/config/``).
"""

import dataclasses
import re

from akanda_slim.bootcheck import network

DEFAULT_AS = 64512
ORCHESTRATOR_METADATA_PORT = 9697
EXTERNAL_NET, INTERNAL_NET, MANAGEMENT_NET = 'external', 'internal', \
    'management'
SERVICE_STATIC = 'static'
# astara.common.constants.ASTARA_SERVICE_PORT_TYPES: ports of the
# appliance's services, never a DHCP allocation.
SERVICE_PORT_TYPES = ('VRRP', 'LB')
ORCHESTRATOR_HOST = 'akanda-slim-orchestrator'
TENANT_ID = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5'
LABELS = {'ext': [network.EXTERNAL['net']]}
STATIC_ROUTE = {'destination': '10.77.0.0/24',
                'nexthop': network.INTERNAL['client']}


@dataclasses.dataclass
class Subnet:
    id: str
    cidr: str
    gateway_ip: str = None
    enable_dhcp: bool = True
    dns_nameservers: list = dataclasses.field(default_factory=list)
    host_routes: list = dataclasses.field(default_factory=list)
    ipv6_ra_mode: str = None

    @property
    def prefixlen(self):
        return int(self.cidr.rsplit('/', 1)[1])


@dataclasses.dataclass
class Port:
    id: str
    network_id: str
    mac_address: str
    fixed_ips: list      # [(ip_address, subnet_id)]
    device_id: str
    name: str = ''


@dataclasses.dataclass
class Network:
    id: str
    subnets: list
    mtu: int = 1500


def subnet_config(subnet):
    """``common._subnet_config``."""
    return {
        'id': str(subnet.id),
        'cidr': str(subnet.cidr),
        'dhcp_enabled': bool(subnet.enable_dhcp
                             and subnet.ipv6_ra_mode != 'slaac'),
        'dns_nameservers': subnet.dns_nameservers,
        'host_routes': subnet.host_routes,
        'gateway_ip': (str(subnet.gateway_ip)
                       if subnet.gateway_ip is not None else ''),
    }


def interface_config(ifname, port, subnets, mtu):
    """``common._interface_config``: ifname, addresses/prefix, mtu."""
    config = {'ifname': ifname,
              'addresses': ['%s/%d' % (ip, subnets[subnet_id].prefixlen)
                            for ip, subnet_id in port.fixed_ips]}
    if mtu:
        config['mtu'] = mtu
    return config


def allocation_config(ports, subnets):
    """``common._allocation_config``: DHCP allocations of a network."""
    service_port = re.compile(
        '^ASTARA:(%s):.*$' % '|'.join(SERVICE_PORT_TYPES))
    allocations = []
    for port in ports:
        if service_port.match(port.name):
            continue
        addresses = {str(ip): subnets[subnet_id].enable_dhcp
                     for ip, subnet_id in port.fixed_ips}
        if not addresses:
            continue
        allocations.append({
            'ip_addresses': addresses,
            'device_id': port.device_id,
            'hostname': '%s.local' % re.sub('[:.]', '-',
                                            sorted(addresses)[0]),
            'mac_address': port.mac_address,
        })
    return allocations


def make_network_config_dict(interface, network_type, network_id,
                             mtu=None, v4_conf=SERVICE_STATIC,
                             v6_conf=SERVICE_STATIC, subnets=None,
                             ports=()):
    """``common._make_network_config_dict``."""
    subnets = subnets or {}
    return {'interface': interface,
            'network_id': network_id,
            'mtu': mtu,
            'v4_conf_service': v4_conf,
            'v6_conf_service': v6_conf,
            'network_type': network_type,
            'subnets': [subnet_config(s) for s in subnets.values()],
            'allocations': allocation_config(ports, subnets)}


def network_config(port, ifname, network_type, net, ports=()):
    """``common.network_config``: one network as the appliance sees it."""
    subnets = {s.id: s for s in net.subnets}
    return make_network_config_dict(
        interface_config(ifname, port, subnets, net.mtu), network_type,
        port.network_id, mtu=net.mtu, subnets=subnets, ports=ports)


def default_v4_gateway(networks):
    """``router.get_default_v4_gateway``: the external subnet's gateway."""
    for net in networks:
        if net['network_type'] != EXTERNAL_NET:
            continue
        addresses = [a.partition('/')[0] for a in net['interface']['addresses']
                     if ':' not in a]
        for subnet in net['subnets']:
            if ':' in subnet['cidr']:
                continue
            if any(_in_v4(address, subnet['cidr']) for address in addresses):
                return subnet['gateway_ip']
    return ''


def _in_v4(address, cidr):
    def number(text):
        return int.from_bytes(bytes(int(p) for p in text.split('.')), 'big')
    base, length = cidr.split('/')
    mask = (0xffffffff << (32 - int(length))) & 0xffffffff
    return number(address) & mask == number(base) & mask


def build_config(networks, floating_ips, ha=False, orchestrator=None):
    """``router.build_config``: the dict PUT to /v1/system/config."""
    return {
        'asn': DEFAULT_AS,
        'neighbor_asn': DEFAULT_AS,
        'default_v4_gateway': default_v4_gateway(networks),
        'networks': networks,
        'labels': LABELS,
        'floating_ips': [{'floating_ip': f, 'fixed_ip': t}
                         for f, t in floating_ips],
        'tenant_id': TENANT_ID,
        'hostname': 'ak-%s' % TENANT_ID,
        'orchestrator': orchestrator or {
            'address': network.ORCHESTRATOR,
            'metadata_port': ORCHESTRATOR_METADATA_PORT,
            'host': ORCHESTRATOR_HOST},
        'ha_resource': ha,
        'vpn': {},
    }


# The test networks, as Neutron would hold them.
def _networks():
    ext, int1, int2, mgmt = (network.EXTERNAL, network.INTERNAL,
                             network.INTERNAL2, network.MGMT)
    return {
        'mgmt': Network('mgmt-net', [Subnet('mgmt-v6', mgmt['net6'],
                                            gateway_ip=None,
                                            enable_dhcp=False)]),
        'external': Network('ext-net', [
            Subnet('ext-v4', ext['net'], gateway_ip=ext['host'],
                   enable_dhcp=False),
            Subnet('ext-v6', ext['net6'], gateway_ip=ext['host6'],
                   enable_dhcp=False)]),
        'internal': Network('tenant-net-1', [
            Subnet('tenant-1-v4', int1['net'], gateway_ip=int1['guest'],
                   host_routes=[STATIC_ROUTE]),
            Subnet('tenant-1-v6', int1['net6'], gateway_ip=int1['guest6'],
                   ipv6_ra_mode='slaac')]),
        'internal2': Network('tenant-net-2', [
            Subnet('tenant-2-v4', int2['net'], gateway_ip=int2['guest']),
            Subnet('tenant-2-v6', int2['net6'], gateway_ip=int2['guest6'],
                   ipv6_ra_mode='slaac')]),
    }


def management_address(index=0):
    """Router ``index``'s address on the management network."""
    return network.MGMT['guest6'][:-1] + str(index)


def router_ports(macs, index=0):
    """The appliance's own ports, role -> Port, with the guest's MACs."""
    ext, int1, int2 = network.EXTERNAL, network.INTERNAL, network.INTERNAL2
    return {
        'mgmt': Port('p-mgmt', 'mgmt-net', macs['mgmt'],
                     [(management_address(index), 'mgmt-v6')], 'router-vm',
                     name='ASTARA:MGT:router'),
        'external': Port('p-ext', 'ext-net', macs['external'],
                         [(ext['guest'], 'ext-v4'),
                          (ext['guest6'], 'ext-v6')], 'router-vm'),
        'internal': Port('p-int1', 'tenant-net-1', macs['internal'],
                         [(int1['guest'], 'tenant-1-v4'),
                          (int1['guest6'], 'tenant-1-v6')], 'router-vm',
                         name='ASTARA:RUG:router'),
        'internal2': Port('p-int2', 'tenant-net-2', macs['internal2'],
                          [(int2['guest'], 'tenant-2-v4'),
                           (int2['guest6'], 'tenant-2-v6')], 'router-vm',
                          name='ASTARA:RUG:router'),
    }


# The tenant instances: vm1 takes its address by DHCP; vm1b is a second
# address of the same tenant host, the first floating IP's target; vm2 is
# on the second tenant network.
VM1 = Port('p-vm1', 'tenant-net-1', network.INTERNAL['client_mac'],
           [(network.INTERNAL['client'], 'tenant-1-v4')],
           'tenant-instance-1', name='vm1')
VM1B = Port('p-vm1b', 'tenant-net-1', network.INTERNAL['second_mac'],
            [(network.INTERNAL['second'], 'tenant-1-v4')],
            'tenant-instance-1b', name='vm1b')
VM2 = Port('p-vm2', 'tenant-net-2', network.INTERNAL2['client_mac'],
           [(network.INTERNAL2['client'], 'tenant-2-v4')],
           'tenant-instance-2', name='vm2')
TENANT_PORTS = {'internal': (VM1, VM1B), 'internal2': (VM2,)}


def tenant_router(ifnames, macs, tenants=('internal',),
                  floating_to=VM1B, index=0, ha_peers=None):
    """The test router's config: management, external, ``tenants``.

    ``ifnames``: role -> the agent's interface name (from its
    ``/v1/system/interfaces``, matched by MAC); ``floating_to``: the
    tenant port that holds the floating IP. With ``ha_peers`` (the other
    routers' management addresses) it is one router of an HA pair:
    ``ha_resource`` and the ``ha_config`` astara's instance manager adds
    (``_ha_config``: the peers, priority 100 for the oldest instance,
    here router 0, and 50 for the others).
    """
    nets, ports = _networks(), router_ports(macs, index)
    configs = [
        network_config(ports['mgmt'], ifnames['mgmt'], MANAGEMENT_NET,
                       nets['mgmt']),
        network_config(ports['external'], ifnames['external'], EXTERNAL_NET,
                       nets['external']),
    ]
    for role in tenants:
        configs.append(network_config(
            ports[role], ifnames[role], INTERNAL_NET, nets[role],
            [ports[role]] + list(TENANT_PORTS[role])))
    floating = [(network.EXTERNAL['floating'], floating_to.fixed_ips[0][0])]
    config = build_config(configs, floating, ha=ha_peers is not None)
    if ha_peers is not None:
        config['ha_config'] = {'peers': list(ha_peers),
                               'priority': 100 if index == 0 else 50}
    return config


def allocation_of(config, mac):
    """The allocation of the port with ``mac``, or None."""
    for net in config['networks']:
        for allocation in net['allocations']:
            if allocation['mac_address'] == mac:
                return allocation
    return None
