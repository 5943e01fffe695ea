"""Read list values from a target's apt configuration (apt.conf syntax).

Only what the policies need: ``APT::NeverAutoRemove`` and
``APT::VersionedKernelPackages``. Keys are case-insensitive, as in apt.
"""

import os
import re

from akanda_slim.debian import rootfs
from akanda_slim import errors

_TOKEN = re.compile(r'"(?P<quoted>[^"]*)"|(?P<punct>[{};])'
                    r'|(?P<word>[^\s{};"]+)')
_COMMENT = re.compile(r'/\*.*?\*/|//[^\n]*|^\s*#(?!clear|include)[^\n]*',
                      re.S | re.M)
_PART_NAME = re.compile(r'^[A-Za-z0-9_.-]+$')
_IGNORED_SUFFIXES = ('~', '.disabled', '.bak', '.swp', '.save')
_IGNORED_INFIXES = ('.dpkg-', '.ucf-')


def _tokens(text, path):
    text = _COMMENT.sub('', text)
    pos = 0
    for match in _TOKEN.finditer(text):
        if text[pos:match.start()].strip():
            raise errors.StatusError('%s: cannot parse near %r'
                                     % (path, text[pos:match.start()][:40]))
        pos = match.end()
        if match.group('quoted') is not None:
            yield 'value', match.group('quoted')
        elif match.group('punct'):
            yield match.group('punct'), None
        else:
            yield 'word', match.group('word')


def parse(text, config, path='<string>'):
    """Add the settings in apt.conf ``text`` to ``config`` (key -> list)."""
    scope = []
    pending = []
    for kind, value in _tokens(text, path):
        if kind in ('word', 'value'):
            pending.append((kind, value))
        elif kind == '{':
            if len(pending) != 1:
                raise errors.StatusError('%s: unexpected "{"' % path)
            scope.append(pending[0][1].strip(':'))
            pending = []
        elif kind == '}':
            if not scope:
                raise errors.StatusError('%s: unbalanced "}"' % path)
            scope.pop()
            pending = []
        elif kind == ';':
            _statement(pending, scope, config, path)
            pending = []
    if scope:
        raise errors.StatusError('%s: missing "}"' % path)
    return config


def _statement(tokens, scope, config, path):
    if not tokens:
        return
    if tokens[0] == ('word', '#clear'):
        for _kind, key in tokens[1:]:
            config.pop(_key(scope, key), None)
        return
    if tokens[0] == ('word', '#include'):
        return  # includes are not used by Debian's own configuration
    if len(tokens) == 1:  # a list item inside a block
        config.setdefault(_key(scope, ''), []).append(tokens[0][1])
        return
    key, value = tokens[0][1], tokens[-1][1]
    if key.endswith('::'):
        config.setdefault(_key(scope, key), []).append(value)
    else:
        config[_key(scope, key)] = [value]


def _key(scope, key):
    return '::'.join([s for s in scope if s] + [key.strip(':')]) \
        .strip(':').lower()


def _part_files(directory):
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    parts = []
    for name in names:
        if (not _PART_NAME.match(name)
                or name.endswith(_IGNORED_SUFFIXES)
                or any(infix in name for infix in _IGNORED_INFIXES)):
            continue
        extension = os.path.splitext(name)[1]
        if extension not in ('', '.conf'):
            continue
        parts.append(os.path.join(directory, name))
    return parts


MAX_CONFIG = 4 * 1024 * 1024


def read_config(root):
    """Read ROOT/etc/apt/apt.conf.d/* then ROOT/etc/apt/apt.conf, as apt."""
    config = {}
    # every file resolved inside the root, as apt in a chroot sees it
    paths = [rootfs.resolve(root, 'etc/apt/apt.conf.d/'
                            + os.path.basename(part)) for part in
             _part_files(rootfs.resolve(root, 'etc/apt/apt.conf.d'))]
    paths.append(rootfs.resolve(root, 'etc/apt/apt.conf'))
    for path in paths:
        if not os.path.lexists(path) or os.path.isdir(path):
            continue
        text = rootfs.read_bytes(path, MAX_CONFIG, 'apt configuration file')
        parse(text.decode('utf-8', 'replace'), config, path)
    return config


def get_list(config, key):
    return list(config.get(key.lower(), []))
