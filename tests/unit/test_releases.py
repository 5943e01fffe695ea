"""The release check asked of the mirror before a build."""

import socket

import testtools

from akanda_slim.debian import releases
from akanda_slim import errors
from tests.unit import test_image_build


def closed_port():
    """A loopback URL nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return 'http://127.0.0.1:%d/debian' % sock.getsockname()[1]


class ReleaseCheckTest(testtools.TestCase):

    def test_served_release_passes(self):
        mirror = self.useFixture(test_image_build.FakeMirror('trixie'))
        releases.check_release('trixie', mirror.url)

    def test_release_not_served_is_refused(self):
        mirror = self.useFixture(test_image_build.FakeMirror('trixie'))
        error = self.assertRaises(errors.UsageError, releases.check_release,
                                  'bookworm', mirror.url)
        self.assertIn('dists/bookworm/Release is not on the mirror',
                      str(error))

    def test_bad_names_are_refused_without_asking(self):
        for name in ('', 'Trixie', 'a/../b', 'x y', '-rc', 'a' * 40,
                     'trixie\n'):
            self.assertRaises(errors.UsageError, releases.check_release,
                              name, 'http://192.0.2.1/debian', timeout=0.01)

    def test_unreachable_mirror_falls_back_to_known_releases(self):
        url = closed_port()
        releases.check_release('bookworm', url)
        error = self.assertRaises(errors.UsageError, releases.check_release,
                                  'bogus', url)
        self.assertIn('cannot confirm Debian release', str(error))
