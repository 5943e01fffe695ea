"""Read the installed state of a Debian target root.

A target is a directory holding a Debian system: an image tree, a chroot or
``/``. Reads ``var/lib/dpkg/status``, ``var/lib/apt/extended_states`` and the
target's apt configuration. Pure reading: nothing here changes the target.
"""

import dataclasses
import logging
import os

from debian import deb822

from akanda_slim import aptconf
from akanda_slim import errors
from akanda_slim import gcpause
from akanda_slim import relations

LOG = logging.getLogger(__name__)

STATUS_FILE = 'var/lib/dpkg/status'
EXTENDED_STATES_FILE = 'var/lib/apt/extended_states'

INSTALLED = 'installed'
CONFIG_FILES = 'config-files'
NOT_INSTALLED = 'not-installed'
UNSAFE_STATES = {'half-installed', 'unpacked', 'half-configured',
                 'triggers-awaited', 'triggers-pending'}
HARD_FIELDS = ('Pre-Depends', 'Depends')


@dataclasses.dataclass
class Package:
    """One package of the target as dpkg records it."""

    name: str
    version: str
    architecture: str = 'all'
    status: str = INSTALLED
    installed_size_kib: int = 0
    priority: str = 'optional'
    section: str = ''
    multi_arch: str = 'no'
    essential: bool = False
    protected: bool = False
    auto: bool = False
    # field name -> list of OR-groups of relations.Relation
    relations: dict = dataclasses.field(default_factory=dict)
    provides: list = dataclasses.field(default_factory=list)

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
        return aptconf.get_list(self.apt_config, 'APT::NeverAutoRemove')

    @property
    def versioned_kernel_patterns(self):
        return aptconf.get_list(self.apt_config,
                                'APT::VersionedKernelPackages')


def _required(stanza, field, where):
    value = stanza.get(field)
    if not value or not value.strip():
        raise errors.StatusError('%s: stanza without %s' % (where, field))
    return value.strip()


def _yes(stanza, field):
    return stanza.get(field, '').strip().lower() == 'yes'


def parse_stanza(stanza, where):
    """Build a Package from one dpkg status stanza (a dict of fields)."""
    name = _required(stanza, 'Package', where)
    where = '%s: package %s' % (where, name)
    status_words = _required(stanza, 'Status', where).split()
    if len(status_words) != 3:
        raise errors.StatusError('%s: malformed Status %r'
                                 % (where, stanza['Status']))
    size = stanza.get('Installed-Size', '0').strip() or '0'
    if not size.isdigit():
        raise errors.StatusError('%s: malformed Installed-Size %r'
                                 % (where, size))
    state = status_words[2]
    package = Package(
        name=name,
        version=(stanza.get('Version') or '').strip(),
        architecture=stanza.get('Architecture', 'all').strip(),
        status=state,
        installed_size_kib=int(size),
        priority=stanza.get('Priority', 'optional').strip().lower(),
        section=stanza.get('Section', '').strip(),
        multi_arch=stanza.get('Multi-Arch', 'no').strip().lower(),
        essential=_yes(stanza, 'Essential'),
        protected=_yes(stanza, 'Protected') or _yes(stanza, 'Important'))
    if state == INSTALLED and not package.version:
        raise errors.StatusError('%s: installed without Version' % where)
    for field in HARD_FIELDS + ('Recommends', 'Suggests'):
        text = stanza.get(field)
        if text and text.strip():
            package.relations[field] = relations.parse_field(
                text, field, name)
    if stanza.get('Provides', '').strip():
        package.provides = relations.parse_provides(stanza['Provides'], name)
    return package


def read_auto_marks(path):
    """(name, architecture) pairs apt marked automatic in extended_states."""
    auto = set()
    if not os.path.exists(path):
        return auto
    with open(path, encoding='utf-8', errors='replace') as states:
        for stanza in deb822.Deb822.iter_paragraphs(states,
                                                    use_apt_pkg=False):
            if stanza.get('Auto-Installed', '0').strip() == '1':
                auto.add((stanza.get('Package', '').strip(),
                          stanza.get('Architecture', '').strip()))
    return auto


def parse_status(stream, where, auto_marks=frozenset()):
    """Parse a dpkg status stream: (architecture, installed, config_files).

    The native architecture is the one of the target's own dpkg package.
    Refuses packages in an unfinished state and duplicate stanzas.
    Foreign-architecture packages are keyed ``name:arch``.
    """
    packages = [
        parse_stanza(dict(stanza), '%s: stanza %d' % (where, index))
        for index, stanza in enumerate(
            deb822.Deb822.iter_paragraphs(stream, use_apt_pkg=False), 1)]
    architecture = next((p.architecture for p in packages
                         if p.name == 'dpkg'), 'amd64')
    installed, config_files, seen = {}, {}, set()
    for package in packages:
        key = package.name
        arch = package.architecture
        if arch not in (architecture, 'all'):
            key = '%s:%s' % (package.name, arch)
        if key in seen:
            raise errors.StatusError('%s: duplicate stanza for %s'
                                     % (where, key))
        seen.add(key)
        if package.status in UNSAFE_STATES:
            raise errors.UnsafeStateError(
                'package %s is %s: finish or fix the interrupted dpkg run '
                '(dpkg --configure -a) first' % (key, package.status))
        # apt records arch:all packages under the native architecture.
        package.auto = (package.name, architecture if arch == 'all'
                        else arch) in auto_marks
        if package.status == INSTALLED:
            installed[key] = package
        elif package.status == CONFIG_FILES:
            config_files[key] = package
    return architecture, installed, config_files


@gcpause.while_paused
def read_target(root):
    """Read the dpkg/apt state of ``root``; raises TargetError/StatusError."""
    if not os.path.isdir(root):
        raise errors.TargetError('target root %s is not a directory' % root)
    status_path = os.path.join(root, STATUS_FILE)
    if not os.path.isfile(status_path):
        raise errors.TargetError('%s has no dpkg database (%s missing)'
                                 % (root, STATUS_FILE))
    try:
        auto_marks = read_auto_marks(
            os.path.join(root, EXTENDED_STATES_FILE))
        with open(status_path, encoding='utf-8') as stream:
            architecture, installed, config_files = parse_status(
                stream, status_path, auto_marks)
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.StatusError('cannot read %s: %s' % (status_path, exc))
    LOG.info('%s: %d installed packages, %d with configuration left', root,
             len(installed), len(config_files))
    return Target(root=root, architecture=architecture, packages=installed,
                  config_files=config_files,
                  apt_config=aptconf.read_config(root))
