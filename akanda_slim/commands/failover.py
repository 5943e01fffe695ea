"""akanda-slim failover: two routers as an HA pair; kill the MASTER."""

import json
import logging
import os
import shutil
import tempfile

from akanda_slim.bootcheck import ha_pair
from akanda_slim.bootcheck import network
from akanda_slim.bootcheck import runner
from akanda_slim import errors
from akanda_slim import termination

HELP = ('boot two instances of an image as an HA pair, configure both '
        'through the agent, kill the MASTER and measure the failover')
LOG = logging.getLogger(__name__)
# The agent's four Python processes (gunicorn's master and worker, the
# rootwrap daemon, the metadata proxy) and the kernel's own 49 MiB do not
# fit a 128 MiB guest without swapping it to a standstill under TCG.
MEMORY_MIB = 256


def add_arguments(parser):
    runner.add_image_arguments(parser)
    parser.add_argument('--memory', type=int, default=MEMORY_MIB,
                        metavar='MIB', help='memory of each guest (default: '
                        '%(default)s)')
    parser.add_argument('--hold', type=int, default=90, metavar='SECONDS',
                        help='how long the tenant holds its connection '
                        'through the failover (default: 90)')
    parser.add_argument('--boot-timeout', type=int, default=600,
                        metavar='SECONDS', help='per boot (default: 600)')
    parser.add_argument('--log-dir', help='keep seeds and serial console '
                        'logs here (default: a temporary directory, kept '
                        'when something fails)')
    parser.add_argument('--json', action='store_true',
                        help='print the report as JSON')


def run(args):
    if args.memory < 64 or args.hold < 20:
        raise errors.UsageError('--memory must be at least 64 and --hold '
                                'at least 20')
    why = network.why_not_available()
    if why:
        raise errors.UsageError('failover %s' % why)
    runner.boot_files(args.image, args.kernel, args.initrd)
    options = runner.Options(memory_mib=args.memory,
                             boot_timeout=args.boot_timeout)
    log_dir = args.log_dir or tempfile.mkdtemp(
        prefix='akanda-slim-failover-', dir='/var/tmp')
    os.makedirs(log_dir, exist_ok=True)
    try:
        with termination.as_ctrl_c():
            report = ha_pair.run_pair(args.image, log_dir, args.kernel,
                                      args.initrd, options, args.hold)
    except BaseException:
        LOG.error('logs kept in %s', log_dir)
        raise
    report['log_dir'] = log_dir
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        held = report['held_connection']
        print('MASTER router %d killed; the BACKUP held the addresses after '
              '%.1f s, new connections passed after %.1f s; the held '
              'connection %s (largest gap %s s)' % (
                  report['master'], report['backup_holds_addresses_seconds'],
                  report['new_connections_seconds'],
                  'survived' if held['survived'] else 'broke',
                  held['largest_gap_seconds']))
    if not args.log_dir:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0
