"""Debian mirrors for builds, taken from the host, never hard-coded.

Order: DIB_DISTRIBUTION_MIRROR / DIB_DEBIAN_SECURITY_MIRROR when set, else
the host's apt sources (deb822 ``*.sources`` and one-line ``*.list``, read
as apt reads them: ``apt_lists.source_entries``). The security suite is
served by the configured mirror under its ``debian-security`` path when the
host lists no separate security source. A mirror URL holding a space, a
control or a non-ASCII character is refused (one line, exit 2).
"""

import os
import re

from akanda_slim.debian import apt_lists
from akanda_slim import errors

SOURCES_DIR = apt_lists.SOURCES_PARTS
SOURCES_LIST = apt_lists.SOURCES_LIST
# A scheme, then printable ASCII only: what a mirror URL can be.
_PLAIN_URL = re.compile(r'[A-Za-z][A-Za-z0-9+.-]*:[!-~]+\Z')


def host_sources(root='/'):
    """(uri, suite) pairs of the host's enabled binary apt sources."""
    return [(uri, suite) for uri, suite, _components in
            apt_lists.source_entries(root)]


def _http(uri):
    return uri.startswith(('http://', 'https://'))


def _plain(url, where):
    """``url`` when it is a plain URL, else a UsageError naming ``where``."""
    if not _PLAIN_URL.match(url):
        raise errors.UsageError(
            '%s %s is not a plain URL (it holds a space, a control or a '
            'non-ASCII character)' % (where, ascii(url)[:200]))
    return url


def _from_environment(environ, name):
    value = environ.get(name)
    return _plain(value, name) if value else None


def _configured(root, environ, name, security):
    """The mirror ``name`` sets, or the host's first (security) source."""
    environ = os.environ if environ is None else environ
    mirror = _from_environment(environ, name)
    if mirror:
        return mirror
    for uri, suite in host_sources(root):
        if _http(uri) and suite.endswith('-security') == security:
            return _plain(uri, 'the host apt source').rstrip('/')
    return None


def debian_mirror(root='/', environ=None):
    """The Debian archive mirror URL."""
    mirror = _configured(root, environ, 'DIB_DISTRIBUTION_MIRROR', False)
    if not mirror:
        raise errors.UsageError(
            'no Debian mirror in the host apt sources; set '
            'DIB_DISTRIBUTION_MIRROR')
    return mirror


def security_mirror(root='/', environ=None):
    """The Debian security mirror URL."""
    mirror = _configured(root, environ, 'DIB_DEBIAN_SECURITY_MIRROR', True)
    if mirror:
        return mirror
    mirror = debian_mirror(root, environ)
    if mirror.endswith('/debian'):
        return mirror + '-security'
    return mirror.rstrip('/') + '/debian-security'
