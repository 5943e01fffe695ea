"""The named sets of checks verify and usage run, in their order.

Each entry is (name, function, prerequisites). The SSH checks prove what
the agent's API cannot (login, the boot, the instance data, package
updates, the agent's privilege path) and run first, while the user
network's SSH is open; the router checks then drive the agent as the
orchestrator does (``router_checks``).
"""

from akanda_slim.bootcheck import checks
from akanda_slim.bootcheck import router_checks as router

BOOT = (
    ('login', checks.login, ()),
    ('datasource', checks.datasource, ('login',)),
    ('boot-clean', checks.boot_clean, ('login',)),
)

ROUTER = (
    ('agent-alive', router.agent_alive, ('login',)),
    ('router-config', router.router_config_check, ('agent-alive',)),
    ('dhcp-dns', router.dhcp_dns, ('router-config',)),
    ('snat', router.snat, ('dhcp-dns',)),
    ('floating-ip', router.floating_ip, ('dhcp-dns',)),
)

DEFAULT = BOOT + (
    ('package-update', checks.package_update, ('login',)),
    ('rootwrap', checks.rootwrap, ('login',)),
) + ROUTER + (
    ('router-advertisements', router.router_advertisements,
     ('router-config',)),
    ('metadata-proxy', router.metadata_proxy, ('dhcp-dns',)),
    ('changed-config', router.changed_config, ('snat', 'floating-ip')),
    ('malformed-config', router.malformed_config, ('changed-config',)),
    ('reload', router.reload, ('changed-config',)),
)

# name -> checks: ``verify --checks NAME``.
SETS = {'all': DEFAULT, 'boot': BOOT, 'router': BOOT + ROUTER}
