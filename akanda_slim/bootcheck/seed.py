"""The NoCloud seed: a fresh SSH key and the cloud-init data on an ISO.

cloud-init in the image finds the ISO by its volume label ``cidata``,
creates the login user with the key and password-less sudo, as a cloud
would through its metadata.
"""

import dataclasses
import json
import os
import subprocess
import uuid

from akanda_slim.bootcheck import tools

USER = 'akanda'
HOSTNAME = 'akanda-router'


@dataclasses.dataclass
class Seed:
    iso: str
    private_key: str
    public_key: str
    user: str = USER


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


def make_seed(directory):
    """Write a key pair and the seed ISO into ``directory``."""
    key = os.path.join(directory, 'id_ed25519')
    subprocess.run([tools.require('ssh-keygen'), '-q', '-t', 'ed25519',
                    '-N', '', '-C', 'akanda-slim-verify', '-f', key],
                   check=True)
    with open(key + '.pub') as pub:
        public_key = pub.read().strip()
    data = os.path.join(directory, 'cidata')
    os.makedirs(data, exist_ok=True)
    with open(os.path.join(data, 'user-data'), 'w') as out:
        out.write(user_data(public_key))
    with open(os.path.join(data, 'meta-data'), 'w') as out:
        out.write(meta_data('akanda-slim-%s' % uuid.uuid4()))
    iso = os.path.join(directory, 'seed.iso')
    subprocess.run([tools.require('genisoimage'), '-quiet', '-output', iso,
                    '-volid', 'cidata', '-joliet', '-rock',
                    os.path.join(data, 'user-data'),
                    os.path.join(data, 'meta-data')], check=True)
    return Seed(iso=iso, private_key=key, public_key=public_key)
