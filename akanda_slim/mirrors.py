"""Debian mirrors for builds, taken from the host, never hard-coded.

Order: DIB_DISTRIBUTION_MIRROR / DIB_DEBIAN_SECURITY_MIRROR when set, else
the host's apt sources (deb822 ``*.sources`` and one-line ``*.list``). The
security suite is served by the configured mirror under its
``debian-security`` path when the host lists no separate security source.
"""

import glob
import os

from debian import deb822

from akanda_slim import errors

SOURCES_DIR = 'etc/apt/sources.list.d'
SOURCES_LIST = 'etc/apt/sources.list'


def _one_line_sources(path):
    with open(path) as sources:
        for line in sources:
            words = line.split('#', 1)[0].split()
            if words and words[0] == 'deb':
                words = [w for w in words[1:] if not w.startswith('[')]
                if len(words) >= 2:
                    yield words[0], words[1]


def _deb822_sources(path):
    with open(path) as sources:
        for stanza in deb822.Deb822.iter_paragraphs(sources,
                                                    use_apt_pkg=False):
            if ('deb' not in stanza.get('Types', '').split()
                    or stanza.get('Enabled', 'yes').strip() == 'no'):
                continue
            for uri in stanza.get('URIs', '').split():
                for suite in stanza.get('Suites', '').split():
                    yield uri, suite


def host_sources(root='/'):
    """(uri, suite) pairs of the host's enabled binary apt sources."""
    pairs = []
    main_list = os.path.join(root, SOURCES_LIST)
    if os.path.isfile(main_list):
        pairs.extend(_one_line_sources(main_list))
    for path in sorted(glob.glob(os.path.join(root, SOURCES_DIR, '*'))):
        if path.endswith('.list'):
            pairs.extend(_one_line_sources(path))
        elif path.endswith('.sources'):
            pairs.extend(_deb822_sources(path))
    return pairs


def _http(uri):
    return uri.startswith(('http://', 'https://'))


def debian_mirror(root='/', environ=None):
    """The Debian archive mirror URL."""
    environ = os.environ if environ is None else environ
    if environ.get('DIB_DISTRIBUTION_MIRROR'):
        return environ['DIB_DISTRIBUTION_MIRROR']
    for uri, suite in host_sources(root):
        if _http(uri) and not suite.endswith('-security'):
            return uri.rstrip('/')
    raise errors.UsageError(
        'no Debian mirror in the host apt sources; set '
        'DIB_DISTRIBUTION_MIRROR')


def security_mirror(root='/', environ=None):
    """The Debian security mirror URL."""
    environ = os.environ if environ is None else environ
    if environ.get('DIB_DEBIAN_SECURITY_MIRROR'):
        return environ['DIB_DEBIAN_SECURITY_MIRROR']
    for uri, suite in host_sources(root):
        if _http(uri) and suite.endswith('-security'):
            return uri.rstrip('/')
    mirror = debian_mirror(root, environ)
    if mirror.endswith('/debian'):
        return mirror + '-security'
    return mirror.rstrip('/') + '/debian-security'
