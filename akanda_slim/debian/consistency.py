"""Check that every installed package's hard dependencies hold."""

from akanda_slim.debian import relations
from akanda_slim.debian import satisfiers as universe_mod


def broken_dependencies(target):
    """List of 'PKG Depends: GROUP' strings for unsatisfied hard deps."""
    universe = universe_mod.Universe(target.packages, target.architecture)
    broken = []
    for key in sorted(target.packages):
        package = target.packages[key]
        for field, group in package.hard_groups:
            if not universe.group_satisfiers(group, package):
                broken.append('%s %s: %s' % (
                    key, field, relations.format_group(group)))
    return broken
