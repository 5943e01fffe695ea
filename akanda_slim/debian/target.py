"""Read the installed state of a Debian target root.

A target is a directory holding a Debian system: an image tree, a chroot or
``/``. Reads ``var/lib/dpkg/status``, ``var/lib/apt/extended_states`` and the
target's apt configuration. Pure reading: nothing here changes the target.
"""

import contextlib
import dataclasses
import itertools
import logging
import os
import re

from akanda_slim.debian import apt_groups
from akanda_slim.debian import apt_lists
from akanda_slim.debian import aptconf
from akanda_slim.debian import dpkg_status
from akanda_slim.debian import relations
from akanda_slim.debian import rootfs
from akanda_slim import errors
from akanda_slim import garbage_collector

LOG = logging.getLogger(__name__)

STATUS_FILE = 'var/lib/dpkg/status'
EXTENDED_STATES_FILE = 'var/lib/apt/extended_states'

INSTALLED = 'installed'
CONFIG_FILES = 'config-files'
NOT_INSTALLED = 'not-installed'
HARD_FIELDS = ('Pre-Depends', 'Depends')
MAX_STATUS = 256 * 1024 * 1024
MAX_EXTENDED_STATES = 64 * 1024 * 1024
MAX_INSTALLED_SIZE_KIB = 2 ** 40  # 1 PiB: more is no real package


@dataclasses.dataclass
class Package:
    """One package of the target as dpkg records it."""

    name: str
    version: str
    architecture: str = 'all'
    status: str = INSTALLED
    installed_size_kib: int = 0
    priority: str = 'optional'
    priority_from: str = ''      # the apt index apt's cache took it from
    section: str = ''
    multi_arch: str = 'no'
    essential: bool = False
    protected: bool = False
    auto: bool = False
    reinstall_required: bool = False
    size_warning: str = None
    selection: str = 'install'   # dpkg's want: install, hold, deinstall...
    source: str = ''             # source package name
    source_version: str = ''
    # field name -> list of OR-groups of relations.Relation
    relations: dict = dataclasses.field(default_factory=dict)
    provides: list = dataclasses.field(default_factory=list)
    # what apt compares to merge this version with an index's (SameVersion)
    same_version_key: tuple = ()
    # (field, value) of Essential/Important/Protected as dpkg recorded them
    flag_texts: list = dataclasses.field(default_factory=list)

    def groups(self, *fields):
        """(field, OR-group) pairs of the given relationship fields."""
        return [(field, group) for field in fields
                for group in self.relations.get(field, ())]

    @property
    def hard_groups(self):
        return self.groups(*HARD_FIELDS)


@dataclasses.dataclass
class Target:
    """The dpkg/apt state of one root."""

    root: str
    architecture: str
    packages: dict        # installed packages: name -> Package
    config_files: dict    # removed, configuration left: name -> Package
    apt_config: dict

    @property
    def never_autoremove(self):
        """apt's FindVector: every direct child's value, named ones too.

        So a set ``APT::NeverAutoRemove::KernelCount "3"`` is also the
        pattern ``3``, as in apt.
        """
        patterns = aptconf.get_list(self.apt_config, 'APT::NeverAutoRemove')
        prefix = 'apt::neverautoremove::'
        for key in sorted(self.apt_config):
            if key.startswith(prefix) and '::' not in key[len(prefix):]:
                patterns.extend(self.apt_config[key][-1:])
        return patterns

    def apt_setting(self, key, default=''):
        """A scalar apt setting of the target (last value), or default."""
        values = aptconf.get_list(self.apt_config, key)
        return values[-1] if values else default

    @property
    def versioned_kernel_patterns(self):
        return aptconf.get_list(self.apt_config,
                                'APT::VersionedKernelPackages')


def fold_flags(flag_texts, essential=False, protected=False):
    """(essential, protected) after stanzas' flag fields, as apt folds them.

    Important and Protected set one flag (apt's Important).
    """
    for flag, value in flag_texts:
        if flag == 'essential':
            essential = apt_lists.fold_flag(essential, value)
        else:
            protected = apt_lists.fold_flag(protected, value)
    return essential, protected


def merge_indexes(root, architecture, packages):
    """Priority and flags of ``packages`` as apt's cache has them.

    See ``apt_lists``: an installed version an index also carries takes
    the index's Priority; flags fold over the indexes, status last.
    """
    found = apt_lists.read_indexes(root, architecture, packages)
    for key, (record, flags) in found.items():
        package = packages[key]
        if record is not None:
            package.priority = record.priority
            package.priority_from = record.index
        package.essential, package.protected = fold_flags(
            flags + package.flag_texts)


def _size_kib(text, where):
    """Installed-Size in KiB; dpkg keeps any text, so do we (as 0, warned)."""
    if text.isascii() and text.isdigit() and \
            int(text) <= MAX_INSTALLED_SIZE_KIB:
        return int(text), None
    return 0, '%s: Installed-Size %r is not a size in KiB: counted as 0' % (
        where, text[:40])


def package_from_fields(fields, where):
    """Build a Package from one stanza of ``dpkg_status.parse``."""
    name = fields['package'].lower()
    want, eflag, state = fields.get('_status', ('unknown', 'ok',
                                                'not-installed'))
    version = fields.get('version', '').strip()
    source, _sep, source_version = (fields.get('source') or name).partition(
        ' ')
    source_version = source_version.strip().strip('()').strip() or version
    size, warning = _size_kib(fields.get('installed-size', '0') or '0',
                              '%s: package %s' % (where, name))
    package = Package(
        name=name,
        version=version,
        architecture=fields.get('architecture', '') or 'all',
        status=state,
        selection=want,
        reinstall_required=eflag == 'reinstreq',
        source=source.strip() or name,
        source_version=source_version,
        installed_size_kib=size,
        priority=apt_lists.apt_priority(fields.get('priority')),
        section=fields.get('section', ''),
        multi_arch=fields.get('_multi_arch', 'no'),
        same_version_key=apt_lists.same_version_key(fields),
        flag_texts=[(flag, fields[flag]) for flag in apt_lists.FLAG_FIELDS
                    if flag in fields])
    package.essential, package.protected = fold_flags(package.flag_texts)
    package.size_warning = warning
    for key, field in (('pre-depends', 'Pre-Depends'), ('depends', 'Depends'),
                       ('recommends', 'Recommends'),
                       ('suggests', 'Suggests')):
        groups = fields['_relations'].get(key)
        if groups:
            package.relations[field] = [
                tuple(relations.Relation(*rel) for rel in group)
                for group in groups]
    for group in fields['_relations'].get('provides', ()):
        for name_, archqual, op, provided in group:
            package.provides.append(relations.Relation(
                name_, archqual, '=' if op else None, provided))
    return package


_LEADING_INT = re.compile(r'^\s*[-+]?\d+', re.ASCII)


_STANZA_BREAK = re.compile(r'\n[ \t]*\n')


def _apt_int(text):
    """An integer as apt's FindI reads it (strtol: leading digits, else 0)."""
    match = _LEADING_INT.match(text or '')
    return int(match.group()) if match else 0


def parse_auto_marks(text):
    """(name, architecture) pairs apt marked automatic in extended_states.

    As apt reads it: a stanza counts when Auto-Installed is a positive
    integer; a stanza without Architecture has architecture '' (see
    ``apt_groups`` for the packages apt applies it to).
    """
    auto = set()
    for stanza in _STANZA_BREAK.split(text):
        fields = {}
        for line in stanza.split('\n'):
            if line[:1] not in ('', ' ', '\t'):
                name, _colon, value = line.partition(':')
                fields[name.strip().lower()] = value.strip()
        if _apt_int(fields.get('auto-installed', '0')) > 0:
            auto.add((fields.get('package', '').lower(),
                      fields.get('architecture', '')))
    return auto


def read_auto_marks(path):
    """parse_auto_marks of ``path``; an absent file marks nothing."""
    if not os.path.lexists(path):
        return set()
    return parse_auto_marks(rootfs.read_text(
        path, MAX_EXTENDED_STATES, 'apt extended_states file'))


def unfinished_business(package, key):
    """None, or what a package left by an unfinished dpkg run needs."""
    if package.reinstall_required:
        return ('package %s needs to be reinstalled (reinstreq); finish it: '
                'apt-get install --reinstall %s' % (key, key))
    if package.status == 'half-installed':
        return ('package %s is half-installed; finish it: apt-get install '
                '--reinstall %s' % (key, key))
    if package.status in ('unpacked', 'half-configured'):
        return ('package %s is %s; finish it: dpkg --configure -a'
                % (key, package.status))
    if package.status in ('triggers-awaited', 'triggers-pending'):
        return ('package %s is %s; finish it: dpkg --triggers-only -a'
                % (key, package.status))
    return None


def parse_status(text, where, auto_marks=frozenset(), root=None,
                 index_stanzas=()):
    """Parse dpkg status text: (architecture, installed, config_files).

    The reader is dpkg's (``dpkg_status``): what dpkg refuses is a
    StatusError naming file and line. The native architecture is the one
    of the target's own dpkg package. A package an unfinished dpkg run
    left behind is an UnsafeStateError naming the command that finishes
    it. Foreign-architecture packages are keyed ``name:arch``.
    """
    stanzas = dpkg_status.parse(text, where)
    packages = [package_from_fields(fields, '%s:%d' % (where, line))
                for line, fields in stanzas]
    architecture = next((p.architecture for p in packages
                         if p.name == 'dpkg'), 'amd64')
    marks = {(name, '' if arch in apt_groups.ARCHLESS
              else apt_groups.normal_arch(arch, architecture))
             for name, arch in auto_marks}
    archless = {name for name, arch in marks if not arch}
    if archless:
        archless = apt_groups.marked_by_archless(
            archless, itertools.chain(index_stanzas,
                                      [[f for _l, f in stanzas]]),
            architecture)
    installed, config_files, unfinished = {}, {}, []
    for package in packages:
        key = package.name
        arch = package.architecture
        if arch not in (architecture, 'all'):
            key = '%s:%s' % (package.name, arch)
        problem = unfinished_business(package, key)
        if problem:
            unfinished.append(problem)
            continue
        if package.size_warning:
            LOG.warning('%s', package.size_warning)
        # apt records arch:all packages under the native architecture.
        package.auto = (package.name in archless
                        or (package.name, architecture if arch == 'all'
                            else arch) in marks)
        if package.status == INSTALLED:
            installed[key] = package
        elif package.status == CONFIG_FILES:
            config_files[key] = package
        else:
            installed.pop(key, None)
            config_files.pop(key, None)
    if unfinished:
        raise errors.UnsafeStateError(
            '%sdpkg did not finish its last run: %s%s' % (
                '%s: ' % root if root else '', '; '.join(unfinished[:3]),
                ' (and %d more)' % (len(unfinished) - 3)
                if len(unfinished) > 3 else ''))
    return architecture, installed, config_files


UPDATES_DIR = 'var/lib/dpkg/updates'


def pending_updates(root):
    """Names of dpkg's journal files in ``updates/`` (an unfinished run)."""
    updates = rootfs.resolve(root, UPDATES_DIR)
    try:
        names = os.listdir(updates)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise errors.TargetError('cannot list %s: %s' % (updates, exc))
    # dpkg's journal entries are named by decimal numbers; tmp.i is its
    # scratch file.
    return sorted(n for n in names if n.isdigit() or n == 'tmp.i')


_REUSE = {}


@contextlib.contextmanager
def reused(target):
    """Inside: the next read_target of ``target.root`` returns ``target``.

    Lets the slim step hand what it has read to purge.apply, so the dpkg
    database is read once before the purge; any later read is fresh.
    """
    key = os.path.realpath(target.root)
    _REUSE[key] = target
    try:
        yield
    finally:
        _REUSE.pop(key, None)


@garbage_collector.while_paused
def read_target(root):
    """Read the dpkg/apt state of ``root``; raises TargetError/StatusError.

    Every path is resolved inside ``root`` as a chroot would see it. An
    unfinished dpkg run (a journal in ``updates/``, or a package left
    half-installed, half-configured, unpacked, awaiting or pending
    triggers, or needing reinstallation) is an UnsafeStateError.
    """
    if _REUSE:
        reuse = _REUSE.pop(os.path.realpath(root), None)
        if reuse is not None:
            return reuse
    if not os.path.isdir(root):
        raise errors.TargetError('target root %s is not a directory' % root)
    status_path = rootfs.resolve(root, STATUS_FILE)
    if not os.path.lexists(status_path):
        raise errors.TargetError('%s has no dpkg database (%s missing)'
                                 % (root, STATUS_FILE))
    journal = pending_updates(root)
    if journal:
        raise errors.UnsafeStateError(
            '%s: dpkg did not finish its last run (%d journal entries in '
            '%s); finish it first: chroot %s dpkg --configure -a'
            % (root, len(journal), UPDATES_DIR, root))
    auto_marks = read_auto_marks(rootfs.resolve(root, EXTENDED_STATES_FILE))
    text = rootfs.read_bytes(status_path, MAX_STATUS, 'dpkg status file') \
        .decode('utf-8', 'surrogateescape')
    archless = {name for name, arch in auto_marks
                if arch in apt_groups.ARCHLESS}
    architecture, installed, config_files = parse_status(
        text, status_path, auto_marks, root=root,
        index_stanzas=apt_lists.stanzas_mentioning(root, archless))
    merge_indexes(root, architecture, installed)
    LOG.info('%s: %d installed packages, %d with configuration left', root,
             len(installed), len(config_files))
    return Target(root=root, architecture=architecture, packages=installed,
                  config_files=config_files,
                  apt_config=aptconf.read_config(root))
