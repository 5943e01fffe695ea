"""Install the host packages that bindep.txt lists for a profile.

One list of host packages, bindep.txt, shipped with the package (setup.cfg
installs it as ``share/akanda-slim/bindep.txt``), read by ``akanda-slim
build`` (profile ``build``), ``akanda-slim verify`` and the functional
tests (profile ``test``). ``install_missing(profile)`` is the API.
"""

import logging
import os
import sys

from akanda_slim.dib import shipped_files
from akanda_slim import errors
from akanda_slim import process

LOG = logging.getLogger(__name__)

PROFILES = ('build', 'test')


def find_bindep_file(candidates=None):
    """The bindep.txt of this installation (source tree or installed)."""
    candidates = candidates or shipped_files.candidates('bindep.txt')
    for path in candidates:
        if os.path.isfile(path):
            return path
    raise errors.UsageError('bindep.txt not found in %s: reinstall '
                            'akanda-slim' % ', '.join(candidates))


def missing_packages(profile, bindep_file=None):
    """The bindep.txt packages of ``profile`` not installed here."""
    if profile not in PROFILES:
        raise errors.UsageError('unknown bindep profile %r (one of %s)'
                                % (profile, ', '.join(PROFILES)))
    bindep_file = bindep_file or find_bindep_file()
    # bindep exits 1 when something is missing: that is its answer.
    result = process.run(
        [sys.executable, '-m', 'bindep', '-b', '-f', bindep_file, profile],
        check=False, merge_stderr=False)
    if result.returncode not in (0, 1):
        raise errors.CommandError(
            ['bindep', '-b', '-f', bindep_file, profile], result.returncode,
            result.stderr)
    return result.stdout.split()


def install_missing(profile, bindep_file=None):
    """Install what ``profile`` lacks with apt-get (needs root).

    Returns the packages installed (empty when nothing was missing) and
    logs them; raises UsageError naming them when not root, CommandError
    when apt-get fails.
    """
    missing = missing_packages(profile, bindep_file)
    if not missing:
        LOG.debug('host packages of profile %s: all installed', profile)
        return []
    if os.geteuid() != 0:
        raise errors.UsageError(
            'missing host packages (run as root to install them): %s'
            % ' '.join(missing))
    LOG.info('installing missing host packages (%s): %s', profile,
             ' '.join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    process.run(['apt-get', 'update', '-qq'], env=env)
    process.run(['apt-get', 'install', '-y', '-qq'] + missing, env=env)
    LOG.info('installed host packages: %s', ' '.join(missing))
    return missing


def main(argv=None):
    """``python -m akanda_slim.dib.hostdeps [PROFILE]`` (default: test)."""
    logging.basicConfig(level=logging.INFO,
                        format='akanda-slim: %(message)s')
    argv = sys.argv[1:] if argv is None else argv
    profile = argv[0] if argv else 'test'
    try:
        install_missing(profile)
    except errors.SlimError as exc:
        print('akanda-slim: error: %s' % exc, file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == '__main__':
    sys.exit(main())
