"""Debian relationship fields: parsing and version satisfaction.

Parsing follows dpkg (``dpkg_status.parse_relations``); version comparison
is dpkg's own (lib/dpkg/version.c ``dpkg_version_compare``, ``verrevcmp``),
checked against python-debian's in the unit tests. This module only adds
strictness (a malformed relation is an error, not a raw string) and the
``satisfies`` test for one installed version against one relation.
"""

import collections
import functools

from akanda_slim.debian import dpkg_status
from akanda_slim import errors

# One alternative of a dependency: name, arch qualifier, operator, version.
_DIGITS = frozenset('0123456789')

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


def _order(char):
    """dpkg's order(): digits 0, letters first, '~' before all, then rest."""
    if char in _DIGITS:
        return 0
    if char.isascii() and char.isalpha():
        return ord(char)
    if char == '~':
        return -1
    return ord(char) + 256


def _verrevcmp(left, right):
    """dpkg's verrevcmp over two upstream versions or two revisions."""
    i = j = 0
    left_end, right_end = len(left), len(right)
    while i < left_end or j < right_end:
        while ((i < left_end and left[i] not in _DIGITS)
               or (j < right_end and right[j] not in _DIGITS)):
            ac = _order(left[i]) if i < left_end else 0
            bc = _order(right[j]) if j < right_end else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < left_end and left[i] == '0':
            i += 1
        while j < right_end and right[j] == '0':
            j += 1
        first_diff = 0
        while (i < left_end and left[i] in _DIGITS
               and j < right_end and right[j] in _DIGITS):
            if not first_diff:
                first_diff = ord(left[i]) - ord(right[j])
            i += 1
            j += 1
        if i < left_end and left[i] in _DIGITS:
            return 1
        if j < right_end and right[j] in _DIGITS:
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_version(text):
    """(epoch, upstream, revision) as dpkg's parseversion splits them."""
    epoch, colon, rest = text.partition(':')
    if not colon:
        epoch, rest = '0', text
    upstream, hyphen, revision = rest.rpartition('-')
    if not hyphen:
        upstream, revision = rest, ''
    return int(epoch or 0), upstream, revision


@functools.lru_cache(maxsize=65536)
def compare_versions(left, right):
    """Debian version comparison, as dpkg does it: <0, 0 or >0."""
    left_epoch, left_up, left_rev = _split_version(left.strip())
    right_epoch, right_up, right_rev = _split_version(right.strip())
    if left_epoch != right_epoch:
        return left_epoch - right_epoch
    return (_verrevcmp(left_up, right_up)
            or _verrevcmp(left_rev, right_rev))


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
