"""Fetch .deb files of a Debian release on the host, as an update would.

apt on the host, with a private configuration and state under a work
directory (nothing of the host's own apt state is read or written), reads
the release's indexes from the host's mirror (``mirrors``: never a fixed
host) and downloads each package's candidate: the newest version in the
release, its ``-updates`` and its security suite, as the guest's apt would
choose.
"""

import glob
import os
import shutil

from akanda_slim.debian import mirrors
from akanda_slim import errors
from akanda_slim import process

KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
# Small packages with no dependencies a router image lacks: the first of
# NEW_CANDIDATES not installed is installed, the first of
# INSTALLED_CANDIDATES installed is updated (or reinstalled).
NEW_CANDIDATES = ('hello', 'dos2unix', 'tree')
INSTALLED_CANDIDATES = ('netbase', 'sensible-utils', 'iputils-ping')
APT_TIMEOUT = 300


def sources(release, root='/', environ=None):
    """The one-line apt sources of ``release`` from the host's mirrors."""
    signed = '[signed-by=%s]' % KEYRING
    main = mirrors.debian_mirror(root, environ)
    security = mirrors.security_mirror(root, environ)
    return ''.join('deb %s %s %s main\n' % (signed, uri, suite) for uri, suite
                   in ((main, release), (main, release + '-updates'),
                       (security, release + '-security')))


def apt_options(workdir):
    """apt -o options confining its configuration and state to workdir.

    The paths are absolute: apt reads a relative one from /etc/apt.
    """
    workdir = os.path.abspath(workdir)
    paths = {name: os.path.join(workdir, name) for name in
             ('lists', 'cache', 'parts', 'sources.list', 'status')}
    for name in ('lists', 'cache', 'parts'):
        os.makedirs(os.path.join(paths[name], 'partial'), exist_ok=True)
    open(paths['status'], 'a').close()
    settings = {
        'Dir::Etc::SourceList': paths['sources.list'],
        'Dir::Etc::SourceParts': paths['parts'],
        'Dir::Etc::Preferences': os.devnull,
        'Dir::Etc::PreferencesParts': paths['parts'],
        'Dir::State::Lists': paths['lists'],
        'Dir::State::Status': paths['status'],
        'Dir::Cache': paths['cache'],
        'Debug::NoLocking': 'true',
        'APT::Sandbox::User': 'root',
    }
    options = []
    for key, value in settings.items():
        options += ['-o', '%s=%s' % (key, value)]
    return options


def choose(installed):
    """(new, installed) package names to use, given the guest's packages."""
    new = [name for name in NEW_CANDIDATES if name not in installed]
    present = [name for name in INSTALLED_CANDIDATES if name in installed]
    if not new or not present:
        raise errors.VerificationError(
            'no candidate package: none of %s missing or none of %s '
            'installed' % (', '.join(NEW_CANDIDATES),
                           ', '.join(INSTALLED_CANDIDATES)))
    return new[0], present[0]


def download(release, packages, workdir, root='/', environ=None):
    """Download ``packages`` of ``release`` into workdir; their paths."""
    os.makedirs(workdir, exist_ok=True)
    options = apt_options(workdir)
    with open(os.path.join(workdir, 'sources.list'), 'w') as out:
        out.write(sources(release, root, environ))
    process.run(['apt-get', '-q'] + options + ['update'],
                timeout=APT_TIMEOUT)
    debs = os.path.join(workdir, 'debs')
    os.makedirs(debs, exist_ok=True)
    process.run(['apt-get', '-q'] + options + ['download'] + list(packages),
                timeout=APT_TIMEOUT, cwd=debs)
    for name in ('lists', 'cache'):
        # The indexes are tens of MiB and served their purpose.
        shutil.rmtree(os.path.join(workdir, name), ignore_errors=True)
    found = []
    for name in packages:
        matches = glob.glob(os.path.join(debs, '%s_*.deb' % name))
        if len(matches) != 1:
            raise errors.VerificationError(
                'apt-get download left %d files for %s' % (len(matches), name))
        found.append(matches[0])
    return found


def version_of(deb):
    """The Version field of a .deb file."""
    return process.run(['dpkg-deb', '-f', deb, 'Version']).stdout.strip()
