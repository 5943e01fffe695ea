"""Which packages an extended_states stanza without Architecture marks.

apt (``pkgDepCache::readStateFile``) looks such a stanza up as
``FindPkg(name, "any")``: the first package of the name's group, in the
order its cache generator created the group's packages. When that package
has no version (a foreign-architecture package only a relation created,
e.g. ``Conflicts: libc6-x32:i386`` read before libc6-x32's own stanza)
the stanza is skipped; otherwise it marks that package and every other
package of the group that has a version. The generator reads the sources'
indexes, then the status file; within a stanza it creates the stanza's
own package, then the targets of its relations in
``debListParser::NewVersion``'s order, then its Provides. ``name:any``
is a group of its own (``name:any``) and creates nothing in ``name``'s.
Checked against ``apt-get -s autoremove`` (the cases of
tests/unit/test_policy.py, the functional fuzzer).
"""

# extended_states Architecture values apt reads as FindPkg(name, "any").
ARCHLESS = ('', 'any')
RELATION_ORDER = ('pre-depends', 'depends', 'conflicts', 'breaks',
                  'recommends', 'suggests', 'replaces', 'enhances',
                  'provides')


def normal_arch(arch, native):
    """apt's reading of an architecture: all and native are the native."""
    arch = (arch or '').strip().lower()
    return native if arch in ('', 'all', 'native') else arch


def _targets(value):
    """(name, qualifier) of every alternative of a relation field."""
    for group in value.split(','):
        for alternative in group.split('|'):
            token = alternative.strip()
            for stop in ('(', '[', '<', ' ', '\t', '\n'):
                token = token.split(stop, 1)[0]
            if token:
                name, _colon, qualifier = token.partition(':')
                yield name.lower(), qualifier.lower()


def created(fields, names, native):
    """(name, arch) of each package of ``names`` one stanza creates.

    In apt's order: the stanza's own package, then relation targets.
    """
    own_arch = normal_arch(fields.get('architecture'), native)
    own = (fields.get('package') or '').strip().lower()
    if own in names:
        yield own, own_arch
    for field in RELATION_ORDER:
        value = fields.get(field)
        if not value:
            continue
        for name, qualifier in _targets(value):
            if name in names and qualifier != 'any':
                yield name, (normal_arch(qualifier, native) if qualifier
                             else own_arch)


def marked_by_archless(names, stanza_lists, native):
    """The names of ``names`` whose arch-less stanza apt applies.

    ``stanza_lists``: field dicts of the stanzas apt reads, per file, in
    apt's reading order (stanzas that mention none of ``names`` may be
    left out).
    """
    names = frozenset(names)
    first, versions = {}, set()
    for stanzas in stanza_lists:
        for fields in stanzas:
            own = (fields.get('package') or '').strip().lower()
            if own in names:
                versions.add((own, normal_arch(fields.get('architecture'),
                                               native)))
            for name, arch in created(fields, names, native):
                first.setdefault(name, arch)
    return {name for name, arch in first.items() if (name, arch) in versions}
