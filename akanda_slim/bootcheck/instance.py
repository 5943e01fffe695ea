"""What Nova tells a guest about itself, in Nova's own formats.

Pure functions of an ``Instance``: the config drive's files
(``config_drive_files``) and the metadata service's answers
(``metadata_api``), laid out as nova/api/metadata/base.py writes them
(``metadata_for_config_drive`` and the HTTP handler): EC2-style
``ec2/VERSION/meta-data.json`` and OpenStack ``openstack/VERSION/`` with
``meta_data.json``, ``user_data``, ``vendor_data.json``,
``vendor_data2.json`` and ``network_data.json``. cloud-init reads the
newest version it knows, and the EC2 tree besides.
"""

import dataclasses
import json

EC2_VERSIONS = ('2009-04-04', 'latest')
HAVANA, LIBERTY, NEWTON_TWO = '2013-10-17', '2015-10-15', '2016-10-06'
OPENSTACK_VERSIONS = ('2012-08-10', '2013-04-04', HAVANA, LIBERTY,
                      '2016-06-30', NEWTON_TWO, '2017-02-22', '2018-08-27',
                      '2020-10-14', 'latest')
AVAILABILITY_ZONE = 'nova'
# The access NIC gets DHCP; the agent configures the router's NICs, so
# Neutron describes them with the fixed addresses the checks give them.
ROLES = ('access', 'mgmt', 'external', 'internal', 'internal2')


@dataclasses.dataclass
class Instance:
    uuid: str
    hostname: str
    public_key: str
    user_data: str
    macs: dict
    addresses: dict = dataclasses.field(default_factory=dict)
    key_name: str = 'akanda-slim-verify'


def meta_data(instance):
    """openstack/VERSION/meta_data.json."""
    return {
        'uuid': instance.uuid,
        'name': instance.hostname,
        'hostname': instance.hostname,
        'launch_index': 0,
        'availability_zone': AVAILABILITY_ZONE,
        'project_id': '0' * 32,
        'public_keys': {instance.key_name: instance.public_key},
        'keys': [{'name': instance.key_name, 'type': 'ssh',
                  'data': instance.public_key}],
        'meta': {},
        'devices': [],
    }


def _port_id(role):
    return 'tap-akanda-%s' % role


def network_data(instance):
    """openstack/VERSION/network_data.json: links, networks, services."""
    links, networks = [], []
    for role in ROLES:
        links.append({'id': _port_id(role), 'type': 'phy',
                      'vif_id': 'akanda-%s' % role, 'mtu': 1500,
                      'ethernet_mac_address': instance.macs[role]})
        address = instance.addresses.get(role)
        network = {'id': 'network-%s' % role, 'link': _port_id(role),
                   'network_id': 'akanda-%s-net' % role}
        if address is None:
            network['type'] = 'ipv4_dhcp'
        else:
            network.update(type='ipv4', ip_address=address['ip'],
                           netmask=address['netmask'], routes=[],
                           services=[])
        networks.append(network)
    return {'links': links, 'networks': networks, 'services': []}


def ec2_meta_data(instance):
    """ec2/VERSION/meta-data.json (the EC2 API's meta-data tree)."""
    return {
        'ami-id': 'ami-00000001',
        'ami-launch-index': 0,
        'ami-manifest-path': 'FIXME',
        'instance-id': 'i-00000001',
        'instance-type': 'akanda.router',
        'hostname': instance.hostname,
        'local-hostname': instance.hostname,
        'placement': {'availability-zone': AVAILABILITY_ZONE},
        'public-keys': {'0': {'openssh-key': instance.public_key}},
        'reservation-id': 'r-00000001',
        'security-groups': ['default'],
    }


def _json(data):
    return json.dumps(data, indent=2, sort_keys=True) + '\n'


def _openstack_files(instance, version):
    files = {'meta_data.json': _json(meta_data(instance)),
             'user_data': instance.user_data}
    if version == 'latest' or version >= HAVANA:
        files['vendor_data.json'] = _json({})
    if version == 'latest' or version >= LIBERTY:
        files['network_data.json'] = _json(network_data(instance))
    if version == 'latest' or version >= NEWTON_TWO:
        files['vendor_data2.json'] = _json({})
    return files


def config_drive_files(instance):
    """{relative path: text} of the config drive, as Nova writes it."""
    files = {}
    for version in EC2_VERSIONS:
        files['ec2/%s/meta-data.json' % version] = _json(
            ec2_meta_data(instance))
        files['ec2/%s/user-data' % version] = instance.user_data
    for version in OPENSTACK_VERSIONS:
        for name, text in _openstack_files(instance, version).items():
            files['openstack/%s/%s' % (version, name)] = text
    return files


def _ec2_tree(prefix, tree, answers, key_name):
    """Answers of the EC2 API for a meta-data dict: listings and leaves."""
    listing = []
    for key, value in sorted(tree.items()):
        if key == 'public-keys':
            # The EC2 API lists keys as INDEX=NAME, each a directory.
            listing.append(key + '/')
            answers[prefix + key + '/'] = '\n'.join(
                '%s=%s' % (index, key_name)
                for index in sorted(value))
            for index, key_data in value.items():
                _ec2_tree('%s%s/%s/' % (prefix, key, index), key_data,
                          answers, key_name)
        elif isinstance(value, dict):
            listing.append(key + '/')
            _ec2_tree(prefix + key + '/', value, answers, key_name)
        else:
            listing.append(key)
            answers[prefix + key] = (
                '\n'.join(value) if isinstance(value, list) else str(value))
    answers[prefix] = '\n'.join(listing)
    answers[prefix.rstrip('/')] = answers[prefix]


def metadata_api(instance):
    """{URL path: text}: what Nova's metadata service answers."""
    answers = {'/': '\n'.join(EC2_VERSIONS + ('openstack',))}
    for version in EC2_VERSIONS:
        _ec2_tree('/%s/meta-data/' % version, ec2_meta_data(instance),
                  answers, instance.key_name)
        answers['/%s/user-data' % version] = instance.user_data
        answers['/%s/' % version] = 'meta-data/\nuser-data'
        answers['/%s' % version] = answers['/%s/' % version]
    answers['/openstack'] = answers['/openstack/'] = '\n'.join(
        OPENSTACK_VERSIONS)
    for version in OPENSTACK_VERSIONS:
        files = _openstack_files(instance, version)
        base = '/openstack/%s' % version
        answers[base] = answers[base + '/'] = '\n'.join(sorted(files))
        for name, text in files.items():
            answers['%s/%s' % (base, name)] = text
    return answers
