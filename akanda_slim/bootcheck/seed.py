"""The instance's data as a cloud hands it over, with a fresh SSH key.

Three ways, one per ``DATASOURCES`` entry, each creating the login user
with the key and password-less sudo from the same cloud-config:

* ``configdrive`` (the default): an ISO9660 volume labelled ``config-2``
  with Nova's config drive layout (``instance.config_drive_files``);
* ``metadata``: no disk; the answers of Nova's metadata service in a JSON
  file that ``metadata_server`` serves to the guest at 169.254.169.254;
* ``nocloud``: cloud-init's NoCloud seed, an ISO labelled ``cidata``.
"""

import dataclasses
import json
import os
import uuid

from akanda_slim.bootcheck import instance as instance_mod
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import qemu
from akanda_slim.bootcheck import tools
from akanda_slim import errors
from akanda_slim import process

USER = 'akanda'
HOSTNAME = 'akanda-router'
DEFAULT_DATASOURCE = 'configdrive'
# verify's name -> the name cloud-init reports for the data source.
DATASOURCES = {'configdrive': 'ConfigDrive', 'metadata': 'OpenStack',
               'nocloud': 'NoCloud'}
METADATA_ANSWERS = 'metadata-answers.json'


@dataclasses.dataclass
class Seed:
    iso: str
    private_key: str
    public_key: str
    user: str = USER
    datasource: str = DEFAULT_DATASOURCE
    instance_id: str = None
    hostname: str = HOSTNAME
    metadata_answers: str = None

    @property
    def cloud_init_name(self):
        """The data source name cloud-init reports for this seed."""
        return DATASOURCES[self.datasource]

    def key_files(self):
        return [self.private_key, self.private_key + '.pub']


def user_data(public_key, user=USER):
    """cloud-config creating ``user`` with the key and sudo."""
    config = {
        'users': [{
            'name': user,
            'sudo': 'ALL=(ALL) NOPASSWD:ALL',
            'shell': '/bin/bash',
            'lock_passwd': True,
            'ssh_authorized_keys': [public_key],
        }],
        'ssh_pwauth': False,
    }
    # JSON is YAML; cloud-init wants the header line.
    return '#cloud-config\n' + json.dumps(config, indent=2) + '\n'


def meta_data(instance_id, hostname=HOSTNAME):
    return 'instance-id: %s\nlocal-hostname: %s\n' % (instance_id, hostname)


def _genisoimage(iso, volume_id, source):
    """An ISO9660 volume of directory ``source``, as Nova's config drive."""
    process.run([tools.require('genisoimage'), '-quiet', '-o', iso,
                 '-ldots', '-allow-lowercase', '-allow-multidot', '-l',
                 '-publisher', 'akanda-slim verify', '-J', '-r',
                 '-V', volume_id, source])


def _write_tree(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as out:
            out.write(text)


def _addresses():
    """The fixed addresses Neutron would give the router's two ports."""
    def ipv4(side):
        prefix = side['prefix']
        mask = (0xffffffff << (32 - prefix)) & 0xffffffff
        return {'ip': side['guest'], 'netmask': '.'.join(
            str(mask >> shift & 0xff) for shift in (24, 16, 8, 0))}
    return {'external': ipv4(network.EXTERNAL),
            'internal': ipv4(network.INTERNAL)}


def make_seed(directory, datasource=DEFAULT_DATASOURCE, macs=None):
    """Write a key pair and the instance data for ``datasource``.

    ``macs`` (role -> MAC) go into network_data.json; QEMU's by default.
    """
    if datasource not in DATASOURCES:
        raise errors.UsageError('unknown data source %r (choose from %s)'
                                % (datasource, ', '.join(DATASOURCES)))
    if macs is None:
        macs = qemu.MACS
    key = os.path.join(directory, 'id_ed25519')
    process.run([tools.require('ssh-keygen'), '-q', '-t', 'ed25519',
                 '-N', '', '-C', 'akanda-slim-verify', '-f', key])
    with open(key + '.pub') as pub:
        public_key = pub.read().strip()
    instance_id = str(uuid.uuid4())
    instance = instance_mod.Instance(
        uuid=instance_id, hostname=HOSTNAME, public_key=public_key,
        user_data=user_data(public_key), macs=dict(macs),
        addresses=_addresses())
    seed = Seed(iso=None, private_key=key, public_key=public_key,
                datasource=datasource, instance_id=instance_id)
    if datasource == 'configdrive':
        tree = os.path.join(directory, 'config-drive')
        _write_tree(tree, instance_mod.config_drive_files(instance))
        seed.iso = os.path.join(directory, 'config-drive.iso')
        _genisoimage(seed.iso, 'config-2', tree)
    elif datasource == 'metadata':
        seed.metadata_answers = os.path.join(directory, METADATA_ANSWERS)
        with open(seed.metadata_answers, 'w') as out:
            json.dump(instance_mod.metadata_api(instance), out, indent=1)
    else:
        data = os.path.join(directory, 'cidata')
        _write_tree(data, {'user-data': instance.user_data,
                           'meta-data': meta_data(instance_id)})
        seed.iso = os.path.join(directory, 'seed.iso')
        _genisoimage(seed.iso, 'cidata', data)
    return seed
