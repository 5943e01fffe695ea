"""Configuration files the checks write into the guest, as the agent does.

Each function takes the guest's interface names (``nics``: role -> name)
and returns file text. Addresses come from ``network``.
"""

from akanda_slim.bootcheck import network

EXT = network.EXTERNAL
INT = network.INTERNAL
NAT_TEST_PORT = 8765
DNS_NAME = 'upstream.akanda.test'
STATIC_ROUTE4 = '203.0.113.0/24'
STATIC_ROUTE6 = '2001:db8:77::/48'
VIRTUAL_ADDRESS = '192.168.77.254'
APP_DIR = '/opt/akanda-verify'
ROOTWRAP_CONF = '/etc/akanda-verify/rootwrap.conf'


def _filter(nics):
    """Forward from internal to external and back, drop the rest."""
    return [
        '*filter',
        ':INPUT ACCEPT [0:0]',
        ':FORWARD DROP [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        '-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A FORWARD -i %s -o %s -j ACCEPT'
        % (nics['internal'], nics['external'])]


def iptables_v4(nics):
    return '\n'.join([
        '*nat',
        ':PREROUTING ACCEPT [0:0]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        '-A POSTROUTING -s 192.168.77.0/24 -o %s -j SNAT --to-source %s'
        % (nics['external'], EXT['guest']),
        'COMMIT'] + _filter(nics) + [
        '-A INPUT -i %s -p tcp --dport 22 -j DROP' % nics['external'],
        'COMMIT', ''])


def iptables_v6(nics):
    return '\n'.join(_filter(nics) + [
        '-A FORWARD -p ipv6-icmp -j ACCEPT',
        'COMMIT', ''])


def dnsmasq(nics):
    return '\n'.join([
        'interface=%s' % nics['internal'],
        'bind-interfaces',
        'no-resolv',
        'no-hosts',
        'dhcp-range=%s,%s,255.255.255.0,1h'
        % (INT['dhcp_first'], INT['dhcp_last']),
        'dhcp-option=option:router,%s' % INT['guest'],
        'dhcp-option=option:dns-server,%s' % INT['guest'],
        'host-record=%s,%s' % (DNS_NAME, EXT['host']),
        ''])


def bird(nics):
    return '\n'.join([
        'router id %s;' % EXT['guest'],
        'protocol device { }',
        'protocol direct { ipv4; ipv6; interface "%s", "%s"; }'
        % (nics['external'], nics['internal']),
        'protocol kernel kernel4 { ipv4 { export all; }; }',
        'protocol kernel kernel6 { ipv6 { export all; }; }',
        'protocol static static4 { ipv4; route %s via %s; }'
        % (STATIC_ROUTE4, EXT['host']),
        'protocol static static6 { ipv6; route %s via %s; }'
        % (STATIC_ROUTE6, EXT['host6']),
        'protocol radv radv6 {',
        '  interface "%s" {' % nics['internal'],
        '    min ra interval 3; max ra interval 5;',
        '    prefix %s { };' % INT['net6'],
        '  };',
        '}', ''])


def keepalived(nics):
    return '\n'.join([
        'global_defs {',
        '  router_id akanda-verify',
        '}',
        'vrrp_instance akanda {',
        '  state BACKUP',
        '  interface %s' % nics['internal'],
        '  virtual_router_id 77',
        '  priority 100',
        '  advert_int 1',
        '  virtual_ipaddress {',
        '    %s/24 dev %s' % (VIRTUAL_ADDRESS, nics['internal']),
        '  }',
        '}', ''])


def conntrackd(nics):
    return '\n'.join([
        'Sync {',
        '  Mode FTFW {',
        '    DisableExternalCache Off',
        '  }',
        '  UDP {',
        '    IPv4_address %s' % INT['guest'],
        '    IPv4_Destination_Address 192.168.77.2',
        '    Port 3780',
        '    Interface %s' % nics['internal'],
        '    Checksum on',
        '  }',
        '}',
        'General {',
        '  HashSize 8192',
        '  HashLimit 65535',
        '  Syslog on',
        '  LockFile /var/lock/conntrackd.lock',
        '  UNIX {',
        '    Path /var/run/conntrackd.sock',
        '  }',
        '  Systemd on',
        '  Filter From Userspace {',
        '    Address Ignore {',
        '      IPv4_address 127.0.0.1',
        '    }',
        '  }',
        '}', ''])


APP = '''\
"""A stand-in for the appliance's REST agent: Flask under gunicorn."""
import socket

import flask
import netaddr

app = flask.Flask(__name__)


@app.route("/v1/verify")
def verify():
    return {"hostname": socket.gethostname(),
            "network": str(netaddr.IPNetwork("192.168.77.1/24").cidr)}
'''

ROOTWRAP = '''\
[DEFAULT]
filters_path=/etc/akanda-verify/rootwrap.d
exec_dirs=/sbin,/usr/sbin,/bin,/usr/bin
use_syslog=False
'''

ROOTWRAP_FILTERS = '''\
[Filters]
ip: CommandFilter, ip, root
'''


def sudoers(user):
    return ('%s ALL=(root) NOPASSWD: /usr/bin/oslo-rootwrap %s *\n'
            % (user, ROOTWRAP_CONF))
