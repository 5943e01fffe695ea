"""Is a Debian release name one the mirror serves? Asked before a build.

The mirror is asked for ``dists/RELEASE/Release`` (one short request): a
release it does not serve fails at once, instead of minutes into
disk-image-create. When the mirror cannot be reached the name must be one
of the codenames DIB's debian element builds.
"""

import logging
import re
import urllib.error
import urllib.request

from akanda_slim import errors

LOG = logging.getLogger(__name__)

KNOWN_RELEASES = ('bullseye', 'bookworm', 'trixie', 'forky', 'sid')
NAME = re.compile(r'[a-z][a-z0-9-]{0,30}\Z')
TIMEOUT_SECONDS = 5


def release_url(mirror, release):
    """The URL of the release's Release file on the mirror."""
    return '%s/dists/%s/Release' % (mirror.rstrip('/'), release)


def _not_served(url, reason):
    return errors.UsageError(
        'unknown Debian release: %s is not on the mirror (%s); known '
        'releases: %s' % (url, reason, ', '.join(KNOWN_RELEASES)))


def check_release(release, mirror, timeout=TIMEOUT_SECONDS):
    """Raise UsageError unless ``mirror`` serves ``release``."""
    if not NAME.match(release):
        raise errors.UsageError(
            'bad Debian release name %r (a codename, such as trixie)'
            % release)
    url = release_url(mirror, release)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            answer.read(1)
    except urllib.error.HTTPError as exc:
        raise _not_served(url, 'HTTP %d' % exc.code) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, 'reason', exc)
        if url.startswith('file:') and isinstance(reason, FileNotFoundError):
            raise _not_served(url, 'no such file') from None
        if release not in KNOWN_RELEASES:
            raise errors.UsageError(
                'cannot confirm Debian release %r: the mirror did not '
                'answer for %s (%s), and it is not one of %s'
                % (release, url, reason, ', '.join(KNOWN_RELEASES))
            ) from None
        LOG.warning('mirror did not answer for %s (%s); %s is a known '
                    'release, going on', url, reason, release)
        return
    LOG.debug('mirror serves %s', url)
