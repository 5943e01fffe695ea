"""Which installed packages satisfy a dependency.

Real packages and (versioned) Provides, architecture qualifiers
(``:any``, ``:native``, ``:ARCH``) and Multi-Arch, Debian version relations.
"""

import collections

from akanda_slim.debian import relations


class Universe:
    """An index over installed packages for answering dependency queries."""

    def __init__(self, packages, architecture):
        """``packages``: key -> target.Package; keys are names or name:arch."""
        self.packages = packages
        self.architecture = architecture
        self._real = collections.defaultdict(list)
        self._virtual = collections.defaultdict(list)
        for key in sorted(packages):
            package = packages[key]
            self._real[package.name].append(key)
            for provided in package.provides:
                self._virtual[provided.name].append((key, provided.version))
        self._cache = {}

    def _arch_ok(self, candidate, archqual, depender_arch):
        arch = candidate.architecture
        if archqual is None:
            return (arch in ('all', depender_arch)
                    or candidate.multi_arch == 'foreign')
        if archqual == 'any':
            return (candidate.multi_arch in ('allowed', 'foreign')
                    or arch in ('all', depender_arch))
        if archqual == 'native':
            return arch in ('all', self.architecture)
        return arch == archqual

    def satisfiers(self, relation, depender_arch):
        """Keys of installed packages satisfying one relation, real first."""
        found = []
        for key in self._real.get(relation.name, ()):
            candidate = self.packages[key]
            if (self._arch_ok(candidate, relation.archqual, depender_arch)
                    and relations.version_satisfies(
                        candidate.version, relation.op, relation.version)):
                found.append(key)
        for key, provided_version in self._virtual.get(relation.name, ()):
            candidate = self.packages[key]
            if (self._arch_ok(candidate, relation.archqual, depender_arch)
                    and relations.version_satisfies(
                        provided_version, relation.op, relation.version)):
                found.append(key)
        return found

    def candidates(self, relation, arch):
        """(satisfying keys, whether an installed candidate fails it).

        Candidates are the installed package of that name and the
        providers of it that the architecture rules allow; a candidate
        fails when its (provided) version does not meet the relation.
        """
        satisfying, failing = [], False
        for key in self._real.get(relation.name, ()):
            candidate = self.packages[key]
            if self._arch_ok(candidate, relation.archqual, arch):
                if relations.version_satisfies(
                        candidate.version, relation.op, relation.version):
                    satisfying.append(key)
                else:
                    failing = True
        for key, provided_version in self._virtual.get(relation.name, ()):
            candidate = self.packages[key]
            if self._arch_ok(candidate, relation.archqual, arch):
                if relations.version_satisfies(
                        provided_version, relation.op, relation.version):
                    satisfying.append(key)
                else:
                    failing = True
        return satisfying, failing

    def group_satisfiers(self, group, depender):
        """Keys satisfying any alternative of an OR-group, in its order."""
        arch = depender.architecture
        if arch == 'all':
            arch = self.architecture
        cache_key = (group, arch)
        found = self._cache.get(cache_key)
        if found is None:
            found = []
            for relation in group:
                for key in self.satisfiers(relation, arch):
                    if key not in found:
                        found.append(key)
            found = tuple(found)
            self._cache[cache_key] = found
        return found
