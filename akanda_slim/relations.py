"""Debian relationship fields: parsing and version satisfaction.

Parsing is python-debian's ``PkgRelation``; version comparison is
python-debian's ``version_compare``. This module only adds strictness
(a malformed relation is an error, not a raw string) and the ``satisfies``
test for one installed version against one relation.
"""

import collections
import functools
import logging
import re

from debian import deb822
from debian import debian_support

from akanda_slim import errors

# python-debian warns and returns malformed relations raw; we raise instead.
logging.getLogger('debian.deb822').setLevel(logging.ERROR)

PACKAGE_NAME = re.compile(r'^[a-z0-9][a-z0-9.+-]*$')
OPERATORS = {'<<', '<=', '=', '>=', '>>', '<', '>'}

# One alternative of a dependency: name, arch qualifier, operator, version.
Relation = collections.namedtuple('Relation', 'name archqual op version')


def parse_field(text, field, package):
    """Parse a relationship field into a list of OR-groups of Relations.

    ``field`` and ``package`` only name the place in error messages.
    Raises StatusError on anything dpkg itself would not accept.
    """
    groups = []
    for group in deb822.PkgRelation.parse_relations(text):
        alternatives = []
        for rel in group:
            version = rel['version']
            if (not PACKAGE_NAME.match(rel['name'])
                    or (version and version[0] not in OPERATORS)
                    or (version and not version[1])):
                raise errors.StatusError(
                    'package %s: malformed %s field: %r'
                    % (package, field, text.strip()))
            op, ver = version if version else (None, None)
            alternatives.append(
                Relation(rel['name'], rel['archqual'], op, ver))
        groups.append(tuple(alternatives))
    return groups


def parse_provides(text, package):
    """Parse a Provides field into Relations (only '=' versions allowed)."""
    provided = []
    for group in parse_field(text, 'Provides', package):
        for rel in group:
            if len(group) > 1 or rel.op not in (None, '='):
                raise errors.StatusError(
                    'package %s: malformed Provides field: %r'
                    % (package, text.strip()))
            provided.append(rel)
    return provided


@functools.lru_cache(maxsize=65536)
def compare_versions(left, right):
    """Debian version comparison: <0, 0 or >0."""
    return debian_support.version_compare(left, right)


def version_satisfies(version, op, wanted):
    """Does ``version`` satisfy ``op wanted``? (None op: always.)"""
    if op is None:
        return True
    if version is None:
        return False
    cmp = compare_versions(version, wanted)
    if op in ('>=', '>'):
        return cmp >= 0
    if op in ('<=', '<'):
        return cmp <= 0
    if op == '>>':
        return cmp > 0
    if op == '<<':
        return cmp < 0
    return cmp == 0


def format_group(group):
    """Render an OR-group the way Debian writes it."""
    return ' | '.join(format_relation(rel) for rel in group)


def format_relation(rel):
    text = rel.name + (':' + rel.archqual if rel.archqual else '')
    if rel.op:
        text += ' (%s %s)' % (rel.op, rel.version)
    return text
