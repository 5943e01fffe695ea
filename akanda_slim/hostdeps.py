"""Install the host packages that bindep.txt lists for a profile.

Used by ``akanda-slim build`` and by the functional tests, so there is one
list of host packages: bindep.txt.
"""

import logging
import os
import subprocess
import sys

from akanda_slim import errors

LOG = logging.getLogger(__name__)

BINDEP_FILE = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'bindep.txt')


def missing_packages(profile, bindep_file=BINDEP_FILE):
    """Return the bindep.txt packages of ``profile`` not installed here."""
    if not os.path.exists(bindep_file):
        raise errors.UsageError('bindep file not found: %s' % bindep_file)
    result = subprocess.run(
        [sys.executable, '-m', 'bindep', '-b', '-f', bindep_file, profile],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode not in (0, 1):
        raise errors.UsageError('bindep failed: %s' % result.stderr.strip())
    return result.stdout.split()


def install_missing(profile, bindep_file=BINDEP_FILE):
    """Install what ``profile`` lacks with apt-get; needs root."""
    missing = missing_packages(profile, bindep_file)
    if not missing:
        return []
    if os.geteuid() != 0:
        raise errors.UsageError(
            'missing host packages (run as root to install them): %s'
            % ' '.join(missing))
    LOG.info('installing host packages: %s', ' '.join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for command in (['apt-get', 'update', '-qq'],
                    ['apt-get', 'install', '-y', '-qq'] + missing):
        if subprocess.run(command, env=env).returncode != 0:
            raise errors.UsageError('%s failed' % ' '.join(command))
    return missing


def main():
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    profile = sys.argv[1] if len(sys.argv) > 1 else 'test'
    try:
        install_missing(profile)
    except errors.SlimError as exc:
        print('akanda-slim: error: %s' % exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == '__main__':
    sys.exit(main())
