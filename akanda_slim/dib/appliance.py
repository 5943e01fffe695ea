"""Facts about the appliance, read from the akanda-appliance element.

The element is the one place each fact is written: its
``package-installs.yaml`` lists the router's packages, its environment
file the agent's services (``DIB_AKANDA_AGENT_SERVICES``, which
``62-akanda-services`` also reads). Python reads them from there.
"""

import os
import re

import yaml

from akanda_slim.dib import image_build
from akanda_slim import errors

ELEMENT = 'akanda-appliance'
# The agent's privilege path, as upstream's image set it up: its gunicorn
# user may run only rootwrap through sudo, and rootwrap only its filters.
AGENT_USER = 'gunicorn'
ROOTWRAP = '/usr/local/bin/astara-rootwrap'
ROOTWRAP_CONF = '/etc/rootwrap.conf'
ENVIRONMENT_FILE = 'environment.d/10-akanda-appliance.bash'
AGENT_SERVICES = re.compile(
    r'^export DIB_AKANDA_AGENT_SERVICES=\$\{DIB_AKANDA_AGENT_SERVICES:-'
    r'"(?P<value>[^"]*)"\}$', re.MULTILINE)


def _element_file(name, elements_dir=None):
    return os.path.join(elements_dir or image_build.find_elements_dir(),
                        ELEMENT, name)


def declared_packages(elements_dir=None):
    """Package names the element's package-installs.yaml declares."""
    with open(_element_file('package-installs.yaml', elements_dir)) as text:
        return sorted(yaml.safe_load(text) or {})


def agent_services(elements_dir=None):
    """The services the agent configures and starts itself (its default)."""
    path = _element_file(ENVIRONMENT_FILE, elements_dir)
    with open(path) as text:
        match = AGENT_SERVICES.search(text.read())
    if not match:
        raise errors.InputError('%s: no DIB_AKANDA_AGENT_SERVICES default'
                                % path)
    return match.group('value').split()
