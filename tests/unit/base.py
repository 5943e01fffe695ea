"""Helpers for unit tests: tiny Debian roots made from status text."""

import os
import textwrap

import fixtures
import testtools

from akanda_slim.debian import target
from akanda_slim.slim import policy


def stanza(name, version='1.0', status='install ok installed', **fields):
    """One dpkg status stanza; field names use _ for - (Pre_Depends)."""
    lines = ['Package: %s' % name, 'Status: %s' % status,
             'Version: %s' % version]
    fields.setdefault('Architecture', 'amd64')
    for key, value in fields.items():
        lines.append('%s: %s' % (key.replace('_', '-'), value))
    return '\n'.join(lines) + '\n'


class RootTestCase(testtools.TestCase):
    """A TestCase that builds throw-away target roots."""

    def make_root(self, *stanzas, auto=(), apt_conf=None, raw=None):
        root = self.useFixture(fixtures.TempDir()).path
        os.makedirs(os.path.join(root, 'var/lib/dpkg'))
        os.makedirs(os.path.join(root, 'var/lib/apt'))
        os.makedirs(os.path.join(root, 'etc/apt/apt.conf.d'))
        with open(os.path.join(root, target.STATUS_FILE), 'w') as status:
            status.write(raw if raw is not None else '\n'.join(stanzas))
        with open(os.path.join(root, target.EXTENDED_STATES_FILE),
                  'w') as states:
            for key in auto:  # name or name:arch
                name, _sep, arch = key.partition(':')
                states.write('Package: %s\nArchitecture: %s\n'
                             'Auto-Installed: 1\n\n' % (name, arch or 'amd64'))
        for name, text in (apt_conf or {}).items():
            with open(os.path.join(root, 'etc/apt/apt.conf.d', name),
                      'w') as conf:
                conf.write(textwrap.dedent(text))
        return root

    def decide(self, *stanzas, auto=(), apt_conf=None, **policy_args):
        root = self.make_root(*stanzas, auto=auto, apt_conf=apt_conf)
        return policy.decide(target.read_target(root),
                             policy.Policy(**policy_args))
