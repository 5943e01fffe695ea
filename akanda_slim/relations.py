"""Debian relationship fields: parsing and version satisfaction.

Parsing follows dpkg (``dpkg_status.parse_relations``); version comparison
is python-debian's ``version_compare``. This module only adds strictness
(a malformed relation is an error, not a raw string) and the ``satisfies``
test for one installed version against one relation.
"""

import collections
import functools

from debian import debian_support

from akanda_slim import dpkg_status
from akanda_slim import errors

# One alternative of a dependency: name, arch qualifier, operator, version.
Relation = collections.namedtuple('Relation', 'name archqual op version')


def parse_field(text, field, package):
    """Parse a relationship field into a list of OR-groups of Relations.

    ``field`` and ``package`` only name the place in error messages.
    Raises StatusError on anything dpkg itself would not accept (the rules
    of dpkg's f_dependency, in dpkg_status).
    """
    try:
        groups = dpkg_status.parse_relations(text.strip(), field)
    except dpkg_status.Refused as exc:
        raise errors.StatusError('package %s: %s' % (package, exc.args[0]))
    return [tuple(Relation(*rel) for rel in group) for group in groups]


def parse_provides(text, package):
    """Parse a Provides field into Relations.

    dpkg allows no alternatives there; a relation other than '=' only draws
    its warning, and is read as '='.
    """
    return [Relation(rel.name, rel.archqual, '=' if rel.op else None,
                     rel.version)
            for group in parse_field(text, 'Provides', package)
            for rel in group]


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
