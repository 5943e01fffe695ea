"""Mark from roots, sweep the rest: decide what a target can lose.

``decide(target, policy)`` is a pure function: a Target in, a Plan out.

Policies:

recommends
    apt's own autoremove with Recommends and Suggests not important
    (apt-pkg/depcache.cc MarkRequired, MarkPackage, Sweep). Roots: packages
    not marked automatic (extended_states; a stanza without Architecture
    marks every architecture, or nothing: see ``apt_groups``), Essential
    (and ``apt`` itself, as apt forces it), Protected/Important,
    ``Priority: required``, matches of the target's
    ``APT::NeverAutoRemove`` (regular expressions, any case), the newest
    ``APT::NeverAutoRemove::KernelCount`` kernel versions (default 2; the
    booted kernel is the build host's, so it does not count) and held
    packages. From each root apt follows every installed package satisfying
    a Depends/Pre-Depends alternative, but of providers built from one
    source only those of the newest source version, and of several
    versioned kernels only the protected ones. Not modelled: apt's
    Recommends/Suggests importance (both off here), pinning and candidate
    versions (the plan works on installed packages only). The functional
    fuzzer (tests/functional/test_apt_agreement.py) compares the removal
    set with ``apt-get -s autoremove`` on hundreds of generated sets.
appliance
    For service VMs: manual marks do not protect. Roots: Essential,
    Protected/Important, Priority required, the boot-critical defaults
    (``BOOT_CRITICAL``) and the keep patterns. An OR-dependency is satisfied
    by an alternative that is kept anyway; when none is, the first installed
    alternative in the maintainer's order is kept. Every kept package's hard
    dependencies hold, so apt accepts the result.

Both take keep patterns and a remove list (shell globs on package names).
A requested removal of a root, or of a package a kept package hard-depends
on with no other installed alternative, is a PolicyError naming the chain.
"""

import collections
import dataclasses
import fnmatch
import functools
import re

from akanda_slim.debian import relations
from akanda_slim.debian import satisfiers as universe_mod
from akanda_slim.debian import target as target_mod
from akanda_slim import errors
from akanda_slim import garbage_collector
from akanda_slim.slim import decision

RECOMMENDS = 'recommends'
APPLIANCE = 'appliance'
POLICIES = (RECOMMENDS, APPLIANCE)

# What a service VM cannot boot or be reached without.
BOOT_CRITICAL = (
    'linux-image-*', 'init', 'systemd-sysv', 'systemd', 'udev',
    'initramfs-tools', 'tiny-initramfs', 'dracut', 'kmod',
    'grub-pc', 'grub-efi-amd64', 'grub-efi-amd64-signed', 'shim-signed',
    'ifupdown', 'isc-dhcp-client', 'dhcpcd-base', 'netplan.io',
    'systemd-resolved', 'iproute2', 'openssh-server', 'cloud-init',
    'sudo', 'ca-certificates',
    # what a bootable VM disk needs (diskimage-builder's vm element)
    'grub-pc-bin', 'grub2-common', 'grub-efi-amd64*',
    'cloud-initramfs-growroot', 'cloud-guest-utils',
)
# Boot-critical only beside the package that puts them in the initramfs:
# tiny-initramfs' init is one static binary and needs no shell.
BOOT_CRITICAL_BESIDE = {'busybox': 'initramfs-tools'}


@dataclasses.dataclass(frozen=True)
class Policy:
    """A policy name plus the user's keep and remove patterns."""

    name: str = RECOMMENDS
    keep: tuple = ()
    remove: tuple = ()
    boot_critical: bool = True

    def __post_init__(self):
        if self.name not in POLICIES:
            raise errors.UsageError('unknown policy %r (choose from %s)'
                                    % (self.name, ', '.join(POLICIES)))


def _matching(keys, packages, pattern):
    """Keys whose key or package name matches the shell glob ``pattern``."""
    if not any(c in pattern for c in '*?['):
        return [k for k in (pattern,) if k in packages] or [
            k for k in keys if packages[k].name == pattern]
    regex = re.compile(fnmatch.translate(pattern))
    return [k for k in keys
            if regex.match(k) or regex.match(packages[k].name)]


_KERNEL_PREFIXES = ('linux-image-', 'kfreebsd-image-', 'gnumach-image-')


def kernel_uname(name):
    """apt's getUname: the kernel release a kernel image package is for.

    ``linux-image-6.12.48+deb13-amd64`` gives ``6.12.48+deb13-amd64``;
    meta-packages (``linux-image-amd64``) and -dbg/-dbgsym give ''.
    """
    for prefix in _KERNEL_PREFIXES:
        if (not name.startswith(prefix)
                or name.endswith(('-dbgsym', '-dbg'))):
            continue
        uname = name[len(prefix):]
        if re.match(r'^[0-9]+\.', uname):
            return uname
    return ''


def _apt_bool(text, default):
    """apt's StringToBool."""
    word = text.strip().lower()
    if word in ('no', 'false', 'without', 'off', 'disable'):
        return False
    if word in ('yes', 'true', 'with', 'on', 'enable'):
        return True
    if re.match(r'^-?\d+$', word, re.ASCII):
        return int(word) != 0
    return default


def _apt_int(text, default):
    match = re.match(r'^\s*[-+]?\d+', text or '', re.ASCII)
    return int(match.group()) if match else default


def protected_kernels(target):
    """The regex of kernel packages apt's autoremove protects, or None.

    apt's GetProtectedKernelsRegex (apt-pkg/algorithms.cc): installed
    kernel images (named as ``kernel_uname`` reads them) grouped by
    version; the newest ``APT::NeverAutoRemove::KernelCount`` versions
    (default 2, never fewer; apt before 2.7.12 always keeps 2) are kept,
    as ``^PATTERN-UNAME$`` for each ``APT::VersionedKernelPackages``
    pattern. The booted kernel is not counted: in a build chroot it is the
    host's, not the image's (apt does the same when SOURCE_DATE_EPOCH is
    set). ``APT::Protect-Kernels "false"`` protects none.
    """
    if not _apt_bool(target.apt_setting('APT::Protect-Kernels'), True):
        return None
    versions = []   # [version, [uname]] newest first, equal versions merged
    for package in target.packages.values():
        uname = kernel_uname(package.name)
        if not uname:
            continue
        for entry in versions:
            if relations.compare_versions(entry[0], package.version) == 0:
                entry[1].append(uname)
                break
        else:
            versions.append([package.version, [uname]])
    if not versions:
        return None
    versions.sort(key=functools.cmp_to_key(
        lambda a, b: relations.compare_versions(b[0], a[0])))
    count = max(2, _apt_int(target.apt_setting(
        'APT::NeverAutoRemove::KernelCount'), 2))
    alternatives = []
    for pattern in target.versioned_kernel_patterns:
        for _version, unames in versions[:count]:
            for uname in unames:
                alternatives.append('^%s-%s$' % (
                    pattern, uname.replace('.', r'\.').replace('+', r'\+')))
    if not alternatives:
        return None
    try:
        return re.compile('|'.join(alternatives), re.I)
    except re.error:
        return None


def _never_autoremove(target, warnings):
    """(pattern, compiled) for APT::NeverAutoRemove, as apt: ERE, any case."""
    compiled = []
    for pattern in target.never_autoremove:
        try:
            compiled.append((pattern, re.compile(pattern, re.I)))
        except re.error:
            warnings.append('invalid regular expression %r in '
                            'APT::NeverAutoRemove is ignored, as apt does'
                            % pattern)
    return compiled


# pkgCacheGen::ForceEssential: apt marks itself Essential whatever its
# Priority (bookworm's apt is "important", trixie's "required").
APT_FORCED_ESSENTIAL = 'apt'


def _required_reason(package):
    if package.priority_from:
        return 'Priority: required (in apt\'s index %s)' % (
            package.priority_from)
    return 'Priority: required'


def _policy_roots(target, policy, warnings):
    """key -> reason for the roots the policy itself defines.

    recommends: apt's MarkRequired roots, in apt's order: manually
    installed, Essential (apt forces it for ``apt`` itself), Important
    (dpkg's Protected), Priority required, APT::NeverAutoRemove or a
    protected kernel, held (dpkg selection hold, unless APT::Ignore-Hold).
    appliance: Essential (``apt`` too: apt refuses to remove itself),
    Protected, Priority required, held, the boot-critical set.
    """
    roots = {}
    holds = not _apt_bool(target.apt_setting('APT::Ignore-Hold'), False)
    never = (_never_autoremove(target, warnings)
             if policy.name == RECOMMENDS else [])
    kernels = (protected_kernels(target) if policy.name == RECOMMENDS
               else None)
    for key in sorted(target.packages):
        package = target.packages[key]
        reason = None
        if policy.name == RECOMMENDS and not package.auto:
            reason = 'manually installed'
        elif package.essential:
            reason = 'Essential: yes'
        elif package.name == APT_FORCED_ESSENTIAL:
            reason = 'Essential (apt always counts apt as essential)'
        elif package.protected:
            reason = 'Protected: yes'
        elif package.priority == 'required':
            reason = _required_reason(package)
        elif kernels is not None and kernels.search(package.name):
            reason = 'APT::VersionedKernelPackages, newest kernels kept'
        else:
            for text, regex in never:
                if regex.search(package.name):
                    reason = 'APT::NeverAutoRemove %s' % text
                    break
        if reason is None and holds and package.selection == 'hold':
            reason = 'held (dpkg selection hold)'
        if reason:
            roots[key] = reason
    if policy.name == APPLIANCE and policy.boot_critical:
        patterns = [(pattern, pattern) for pattern in BOOT_CRITICAL] + [
            (pattern, '%s, beside %s' % (pattern, user))
            for pattern, user in BOOT_CRITICAL_BESIDE.items()
            if user in target.packages]
        for pattern, why in patterns:
            for key in _matching(sorted(target.packages), target.packages,
                                 pattern):
                roots.setdefault(key, 'boot-critical (%s)' % why)
    return roots


def _unremovable(package):
    """Why a --remove of ``package`` is refused (apt would refuse), or None."""
    if package.essential:
        return 'Essential: yes'
    if package.name == APT_FORCED_ESSENTIAL:
        return 'Essential (apt always counts apt as essential)'
    if package.protected:
        return 'Protected: yes'
    if package.priority == 'required':
        return _required_reason(package)
    if package.selection == 'hold':
        return 'held (dpkg selection hold)'
    return None


class _VersionOrder:
    """Sort key: Debian version order."""

    def __init__(self, version):
        self.version = version

    def __lt__(self, other):
        return relations.compare_versions(self.version, other.version) < 0


class _Marker:
    """Walks hard dependencies from the roots, recording who keeps whom."""

    def __init__(self, target, universe, removed, first_alternative):
        self.target = target
        self.universe = universe
        self.removed = removed
        self.first_alternative = first_alternative
        self.kept_by = {}
        self.marked = set()
        self.explored = set()
        self.kernels = protected_kernels(target)
        patterns = target.versioned_kernel_patterns
        self.versioned_kernel = re.compile(
            '|'.join('^%s-.*$' % p for p in patterns) or '$^', re.I)

    def run(self, roots):
        """Mark ``roots`` and everything they need; returns the marked set."""
        self.marked.update(roots)
        queue = collections.deque(sorted(roots))
        deferred = collections.deque()
        while True:
            while queue:
                self._visit(queue.popleft(), queue, deferred)
            # Settle one open OR-group with its first alternative, then
            # propagate again: a later visit may satisfy the other groups.
            while deferred:
                parent, field, group, found = deferred.popleft()
                if not any(k in self.marked for k in found):
                    self._mark(found[0], parent, field, group, queue)
                    break
            if not queue:
                return self.marked

    def _visit(self, key, queue, deferred):
        package = self.target.packages[key]
        for field, group in package.hard_groups:
            every = self.universe.group_satisfiers(group, package)
            found = [k for k in every if k not in self.removed]
            if every and not found:
                raise errors.PolicyError(
                    'cannot remove %s: %s needs it (%s)'
                    % (', '.join(every), key,
                       self.chain_text(key, field, group)))
            if not found:
                continue  # already broken in the target; the check reports it
            if not self.first_alternative:
                for relation in group:
                    for dep in self._apt_follows(relation, package):
                        self._mark(dep, key, field, group, queue)
                continue
            if len(found) > 1:
                if not any(k in self.marked for k in found):
                    deferred.append((key, field, group, found))
                continue
            for dep in found:
                self._mark(dep, key, field, group, queue)

    def _apt_follows(self, relation, package):
        """What apt's MarkPackage follows for one alternative.

        apt-pkg/depcache.cc: every installed package satisfying it, but of
        providers built from one source package only those of its newest
        source version, and of several versioned kernel packages only the
        protected ones; a dependency target apt has explored fully (met
        once with no installed package failing its version) is skipped.
        """
        arch = package.architecture
        if arch == 'all':
            arch = self.target.architecture
        explored_key = (relation.name, relation.archqual or arch)
        if explored_key in self.explored:
            return []
        satisfying, unsatisfied = self.universe.candidates(relation, arch)
        satisfying = [k for k in satisfying if k not in self.removed]
        by_source = collections.defaultdict(list)
        for dep in satisfying:
            by_source[self.target.packages[dep].source].append(dep)
        follow = []
        for keys in by_source.values():
            newest = max((self.target.packages[k].source_version
                          for k in keys), key=_VersionOrder)
            keys = [k for k in keys if relations.compare_versions(
                self.target.packages[k].source_version, newest) == 0]
            if len(keys) > 1 and self.kernels is not None and all(
                    self.versioned_kernel.search(
                        self.target.packages[k].name) for k in keys):
                protected = [k for k in keys if self.kernels.search(
                    self.target.packages[k].name)]
                keys = protected or keys
            follow.extend(keys)
        if not unsatisfied:
            self.explored.add(explored_key)
        return follow

    def _mark(self, dep, parent, field, group, queue):
        if dep not in self.marked:
            self.marked.add(dep)
            self.kept_by[dep] = (parent, field,
                                 relations.format_group(group))
            queue.append(dep)

    def chain_text(self, key, field, group):
        chain = [key]
        while key in self.kept_by:
            key = self.kept_by[key][0]
            chain.append(key)
        return ' -> '.join(reversed(chain)) + ' %s %s' % (
            field, relations.format_group(group))


def _reverse_index(target, universe, kept):
    """field kind -> key -> set of installed keys that relate to it.

    Recommends and Suggests are only followed from kept packages: those are
    the only ones a removal reason names.
    """
    reverse = {kind: collections.defaultdict(set)
               for kind in ('hard', 'Recommends', 'Suggests')}
    for key, package in target.packages.items():
        fields = target_mod.HARD_FIELDS
        if key in kept:
            fields += ('Recommends', 'Suggests')
        for field, group in package.groups(*fields):
            kind = 'hard' if field in target_mod.HARD_FIELDS else field
            for dep in universe.group_satisfiers(group, package):
                if dep != key:
                    reverse[kind][dep].add(key)
    return reverse


def _reason(key, package, requested, reverse, kept, policy):
    if key in requested:
        return decision.REQUESTED, 'requested removal (%s)' % requested[key]
    for kind, code, words in (
            ('Recommends', decision.RECOMMENDED_ONLY, 'only recommended by'),
            ('Suggests', decision.SUGGESTED_ONLY, 'only suggested by')):
        by = sorted(reverse[kind][key])
        if by:
            return code, '%s %s' % (words, ', '.join(by))
    kept_dependers = sorted(reverse['hard'][key] & kept)
    if kept_dependers:
        return (decision.ALTERNATIVE_KEPT,
                'another kept alternative satisfies %s'
                % ', '.join(kept_dependers))
    needed_by = sorted(reverse['hard'][key])
    if needed_by:
        return (decision.NEEDED_BY_REMOVED,
                'needed only by packages removed too: %s'
                % ', '.join(needed_by))
    if policy.name == APPLIANCE and not package.auto:
        return (decision.UNNEEDED,
                'nothing kept depends on it (installed by hand or by an '
                'element, Priority: %s)' % package.priority)
    return decision.UNNEEDED, 'nothing installed depends on it'


def _match_option(keys, packages, option, patterns, warnings):
    """key -> 'OPTION PATTERN' that matched it; warns for idle patterns."""
    matched_by = {}
    for pattern in patterns:
        matched = _matching(keys, packages, pattern)
        if not matched:
            warnings.append('%s %s matches no installed package'
                            % (option, pattern))
        for key in matched:
            matched_by.setdefault(key, '%s %s' % (option, pattern))
    return matched_by


@garbage_collector.while_paused
def decide(target, policy):
    """Decide keep/remove for ``target`` under ``policy``; returns a Plan."""
    keys = sorted(target.packages)
    warnings = []
    roots = _policy_roots(target, policy, warnings)

    requested = _match_option(keys, target.packages, '--remove',
                              policy.remove, warnings)
    kept_by_user = _match_option(keys, target.packages, '--keep',
                                 policy.keep, warnings)

    for key in sorted(requested):
        if key in kept_by_user:
            raise errors.PolicyError('%s is both kept (%s) and removed (%s)'
                                     % (key, kept_by_user[key],
                                        requested[key]))
        reason = _unremovable(target.packages[key])
        if reason:
            raise errors.PolicyError('cannot remove %s: %s'
                                     % (key, reason))
        roots.pop(key, None)  # an explicit removal beats softer roots
    for key, reason in kept_by_user.items():
        roots.setdefault(key, reason)

    universe = universe_mod.Universe(target.packages, target.architecture)
    marker = _Marker(target, universe, set(requested),
                     first_alternative=policy.name == APPLIANCE)
    kept = marker.run(roots)

    reverse = _reverse_index(target, universe, kept)
    removals = []
    for key in keys:
        if key in kept:
            continue
        package = target.packages[key]
        code, reason = _reason(key, package, requested, reverse, kept,
                               policy)
        removals.append(decision.Removal(
            package=key, version=package.version,
            installed_size_kib=package.installed_size_kib,
            reason=reason, reason_code=code))
    removals.sort(key=lambda r: (-r.installed_size_kib, r.package))
    return decision.Plan(
        policy=policy.name, root=target.root, roots=roots,
        keep=sorted(kept), remove=removals,
        purge_config_files=sorted(target.config_files),
        kept_by=marker.kept_by,
        installed_size_kib={k: p.installed_size_kib
                            for k, p in target.packages.items()},
        warnings=warnings)
