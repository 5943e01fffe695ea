"""The slim element's helpers, run by its post-root.d hooks on the host.

``apply ROOT`` decides what the image keeps and purges the rest in one
process and one read of the dpkg database before the purge (as
``akanda-slim apply`` would with the options below), then prints the plan
and its verification as JSON; ``plan ROOT`` is its dry run.
``options ROOT`` prints those ``akanda-slim plan/apply`` options (one word a
line): the policy, the keep patterns (what the appliance elements declared
in package-installs, the chosen kernel, the boot-critical set) and the
remove patterns (the generic kernel when the cloud one serves, the user's).
``prune ROOT`` deletes files an image never needs and prints what it freed
as JSON. Settings come from the DIB_SLIM_* variables (see the element's
README.rst).
"""

import fnmatch
import glob
import json
import logging
import os
import re
import shutil
import sys

import yaml

from akanda_slim import dib_entry
from akanda_slim import errors
from akanda_slim import policy as policy_mod
from akanda_slim import rootfs
from akanda_slim import target as target_mod

LOG = logging.getLogger(__name__)

PACKAGE_INSTALLS_JSON = 'tmp/package-installs.json'
MAX_JSON = 16 * 1024 * 1024
DPKG_CONF_DIR = 'etc/dpkg/dpkg.cfg.d'

GENERIC_KERNEL = r'^linux-image-(\S+-)?%s$'

LOG_FILES = ('var/log/apt', 'var/log/dpkg.log', 'var/log/alternatives.log',
             'var/log/bootstrap.log', 'var/log/journal')
APT_STATE = ('var/lib/apt/lists', 'var/cache/apt')
# Elements that install packages in finalise.d, after the slim step: the
# apt lists stay for them (finalise.d/99-slim-apt-lists drops them later).
LATE_INSTALLERS = ('bootloader',)
# This element: the packages it asks package-installs for stay.
SLIM_ELEMENT = 'slim'
GROWROOT = 'cloud-initramfs-growroot'
# The cloud-init modules that grow the root partition and file system.
GROWROOT_MODULES = ('growpart', 'resizefs')
CLOUD_CFG = 'etc/cloud/cloud.cfg'
CLOUD_CFG_D = 'etc/cloud/cloud.cfg.d'
CLOUD_INIT_STAGES = ('cloud_init_modules', 'cloud_config_modules',
                     'cloud_final_modules')
# Build leftovers: dpkg's and debconf's backups of their own databases,
# rewritten by them on their next run.
BACKUP_FILES = ('var/lib/dpkg/*-old', 'var/cache/debconf/*-old')


def declared_packages(root):
    """element -> sorted package names it asked package-installs for."""
    path = rootfs.resolve(root, PACKAGE_INSTALLS_JSON)
    if not os.path.lexists(path):
        return {}
    text = rootfs.read_text(path, MAX_JSON, 'package-installs list')
    try:
        phases = json.loads(text)
        declared = {}
        for lists in phases.values():
            build_only = {name for name, _ in lists.get('uninstall', ())}
            for name, element in lists.get('install', ()):
                if name not in build_only:
                    declared.setdefault(element, set()).add(name)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise errors.InputError('%s: not a package-installs list (%s)'
                                % (path, exc)) from None
    return {element: sorted(names) for element, names in declared.items()}


def _words(environ, name):
    return environ.get(name, '').replace(',', ' ').split()


def appliance_packages(declared, environ):
    """Packages the appliance elements (DIB_SLIM_APPLIANCE_ELEMENTS) need."""
    names = set()
    for element in _words(environ, 'DIB_SLIM_APPLIANCE_ELEMENTS'):
        names.update(declared.get(element, ()))
    return sorted(names)


def kernel_names(architecture, installed, environ):
    """(keep, remove) kernel package names for DIB_SLIM_KERNEL."""
    flavour = environ.get('DIB_SLIM_KERNEL') or 'cloud'
    if flavour not in ('cloud', 'generic'):
        raise errors.UsageError('DIB_SLIM_KERNEL must be cloud or generic, '
                                'not %r' % flavour)
    if flavour == 'generic':
        return ['linux-image-%s' % architecture], []
    cloud = 'linux-image-cloud-%s' % architecture
    if cloud not in installed:
        raise errors.UsageError(
            'DIB_SLIM_KERNEL=cloud but %s is not installed (Debian has a '
            'cloud kernel for amd64 and arm64 only, and package-installs '
            'asks for it on amd64); set DIB_SLIM_KERNEL=generic' % cloud)
    generic = re.compile(GENERIC_KERNEL % re.escape(architecture))
    return ([cloud],
            sorted(n for n in installed if generic.match(n)
                   and 'cloud-' not in n))


def boot_keep(installed):
    """Installed packages of the core's boot-critical set, but the kernel.

    policy.BOOT_CRITICAL is the one definition; DIB_SLIM_KERNEL chooses
    the kernel.
    """
    return sorted(name for name in installed
                  if any(fnmatch.fnmatchcase(name, pattern)
                         for pattern in policy_mod.BOOT_CRITICAL)
                  and not name.startswith('linux-image'))


def cloud_init_modules(root):
    """Names of the modules cloud-init runs, from cloud.cfg and cloud.cfg.d.

    As cloud-init merges them: a later file's stage list replaces an
    earlier one's.
    """
    stages = {}
    paths = [CLOUD_CFG] + sorted(
        os.path.join(CLOUD_CFG_D, os.path.basename(p)) for p in glob.glob(
            os.path.join(rootfs.resolve(root, CLOUD_CFG_D), '*.cfg')))
    for path in paths:
        full = rootfs.resolve(root, path)
        if not os.path.isfile(full):
            continue
        text = rootfs.read_text(full, MAX_JSON, 'cloud-init configuration')
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise errors.InputError('%s: not YAML (%s)'
                                    % (full, exc)) from None
        if not isinstance(config, dict):
            continue
        for stage in CLOUD_INIT_STAGES:
            if isinstance(config.get(stage), list):
                stages[stage] = config[stage]
    names = set()
    for modules in stages.values():
        for entry in modules:
            name = entry[0] if isinstance(entry, list) and entry else entry
            if isinstance(name, str):
                names.add(name.replace('-', '_'))
    return names


def growroot_removal(root, installed, environ):
    """[GROWROOT] when DIB_SLIM_GROWROOT=cloud-init and it is installed.

    Only when cloud-init runs its growpart and resizefs modules, which
    grow the root partition and file system on the first boot instead.
    """
    choice = environ.get('DIB_SLIM_GROWROOT') or 'cloud-init'
    if choice not in ('cloud-init', 'initramfs'):
        raise errors.UsageError('DIB_SLIM_GROWROOT must be cloud-init or '
                                'initramfs, not %r' % choice)
    if choice == 'initramfs' or GROWROOT not in installed:
        return []
    missing = sorted(set(GROWROOT_MODULES) - cloud_init_modules(root))
    if missing:
        raise errors.UsageError(
            'DIB_SLIM_GROWROOT=cloud-init removes %s, but cloud-init does '
            'not run its %s module(s) in this image; set '
            'DIB_SLIM_GROWROOT=initramfs' % (GROWROOT, ', '.join(missing)))
    return [GROWROOT]


def settings(target, root, environ):
    """(policy name, keep patterns, remove patterns) for the image."""
    installed = {p.name for p in target.packages.values()}
    declared = declared_packages(root)
    needed = appliance_packages(declared, environ)
    policy = environ.get('DIB_SLIM_POLICY') or (
        policy_mod.APPLIANCE if needed else policy_mod.RECOMMENDS)
    keep_kernel, remove = kernel_names(target.architecture, installed,
                                       environ)
    remove += growroot_removal(root, installed, environ)
    keep = list(needed) + keep_kernel + [
        name for name in boot_keep(installed) + declared.get(
            SLIM_ELEMENT, []) if name not in remove]
    keep += _words(environ, 'DIB_SLIM_KEEP')
    remove += _words(environ, 'DIB_SLIM_REMOVE')
    return policy, sorted(set(keep)), sorted(set(remove))


def slim_policy(target, root, environ):
    """The policy.Policy the slim step applies, logged as its options."""
    name, keep, remove = settings(target, root, environ)
    LOG.info('policy %s; options: %s', name, ' '.join(_words_of(
        name, keep, remove)))
    return policy_mod.Policy(name=name, keep=tuple(keep),
                             remove=tuple(remove))


def _words_of(name, keep, remove):
    words = ['--policy', name]
    for pattern in keep:
        words += ['--keep', pattern]
    for pattern in remove:
        words += ['--remove', pattern]
    return words


def options(root, environ):
    """The plan/apply options (a list of words) for the image at ``root``."""
    return _words_of(*settings(target_mod.read_target(root), root, environ))


def read_path_filters(root):
    """(excludes, includes): dpkg path-exclude/-include globs of the target."""
    excludes, includes = [], []
    directory = rootfs.resolve(root, DPKG_CONF_DIR)
    for path in sorted(glob.glob(os.path.join(directory, '*'))):
        path = rootfs.resolve(root, os.path.join(
            DPKG_CONF_DIR, os.path.basename(path)))
        if os.path.isdir(path):
            continue
        text = rootfs.read_text(path, MAX_JSON, 'dpkg configuration file')
        for line in text.splitlines():
            key, _, value = line.strip().partition('=')
            if key == 'path-exclude':
                excludes.append(value)
            elif key == 'path-include':
                includes.append(value)
    return excludes, includes


def excluded(path, excludes, includes):
    """Whether dpkg would not unpack ``path``: an exclude and no include."""
    return (any(fnmatch.fnmatchcase(path, p) for p in excludes)
            and not any(fnmatch.fnmatchcase(path, p) for p in includes))


def _size(path):
    try:
        return os.lstat(path).st_blocks * 512
    except OSError:
        return 0


def _tree_size(path):
    total = _size(path)
    for top, dirs, files in os.walk(path):
        total += sum(_size(os.path.join(top, n)) for n in dirs + files)
    return total


def prune_excluded(root):
    """Delete files the target's dpkg excludes would have kept out."""
    excludes, includes = read_path_filters(root)
    freed = 0
    bases = sorted({p.split('*', 1)[0].rstrip('/') for p in excludes})
    for base in bases:
        for top, dirs, files in os.walk(os.path.join(root, base.lstrip('/'))):
            for name in files + [d for d in dirs if os.path.islink(
                    os.path.join(top, d))]:
                path = os.path.join(top, name)
                if excluded('/' + os.path.relpath(path, root), excludes,
                            includes):
                    freed += _size(path)
                    os.unlink(path)
    return freed


def _remove_contents(path, keep=('lock', 'partial')):
    freed = 0
    if os.path.islink(path) or os.path.ismount(path):
        return 0
    if os.path.isfile(path):
        freed = _size(path)
        os.unlink(path)
        return freed
    for entry in sorted(glob.glob(os.path.join(path, '*'))):
        if os.path.basename(entry) in keep or os.path.ismount(entry):
            continue
        if os.path.isdir(entry) and not os.path.islink(entry):
            if os.path.basename(entry) == 'archives':
                freed += _remove_contents(entry)
                continue
            freed += _tree_size(entry)
            shutil.rmtree(entry)
        else:
            freed += _size(entry)
            os.unlink(entry)
    return freed


def apt_lists_needed_later(environ):
    """Whether an element of the image installs packages after us."""
    elements = environ.get('IMAGE_ELEMENT', '').split()
    return any(name in elements for name in LATE_INSTALLERS)


def prune_apt_state(root):
    """Delete apt's lists and caches (locks and partial/ stay)."""
    return sum(_remove_contents(os.path.join(root, p)) for p in APT_STATE)


def prune(root, environ):
    """Delete what an image never needs; returns {category: bytes freed}."""
    freed = {'dpkg path excludes': prune_excluded(root)}
    if apt_lists_needed_later(environ):
        LOG.info('apt lists kept for %s (finalise.d installs packages)',
                 ' '.join(LATE_INSTALLERS))
    else:
        freed['apt lists and caches'] = prune_apt_state(root)
    freed['build logs'] = sum(
        _remove_contents(os.path.join(root, p), keep=())
        for p in LOG_FILES if os.path.lexists(os.path.join(root, p)))
    freed['database backups'] = sum(
        _remove_contents(path, keep=()) for pattern in BACKUP_FILES
        for path in glob.glob(os.path.join(root, pattern)))
    if environ.get('DIB_SLIM_UDEV_HWDB', 'remove') == 'remove':
        freed['udev hwdb'] = sum(
            _remove_contents(os.path.join(root, p))
            for p in ('etc/udev/hwdb.bin', 'usr/lib/udev/hwdb.bin')
            if os.path.exists(os.path.join(root, p)))
    if environ.get('DIB_SLIM_PYCACHE', 'keep') == 'remove':
        pattern = os.path.join(root, 'usr/lib/python3*/**/__pycache__')
        caches = glob.glob(pattern, recursive=True)
        freed['python bytecode caches'] = sum(_tree_size(c) for c in caches)
        for cache in caches:
            shutil.rmtree(cache, ignore_errors=True)
    for category, size in sorted(freed.items()):
        LOG.info('pruned %s: %.1f MiB', category, size / 1048576.0)
    return freed


def _plan(root):
    from akanda_slim.commands import plan as plan_command
    target = target_mod.read_target(root)
    policy = slim_policy(target, root, os.environ)
    plan_command.emit(policy_mod.decide(target, policy), as_json=True)


def _apply(root):
    from akanda_slim.commands import plan as plan_command
    from akanda_slim import purge
    target = target_mod.read_target(root)
    policy = slim_policy(target, root, os.environ)
    with target_mod.reused(target):
        plan, verification = purge.apply(root, policy)
    plan_command.emit(plan, True, verification)


def _print_options(root):
    print('\n'.join(options(root, os.environ)))


def _print_prune(root):
    print(json.dumps(prune(root, os.environ), sort_keys=True))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    actions = {'apply': _apply, 'plan': _plan, 'options': _print_options,
               'prune': _print_prune}
    if len(argv) != 2 or argv[0] not in actions:
        print('usage: python -m akanda_slim.dib_slim %s ROOT'
              % '|'.join(actions), file=sys.stderr)
        return 2
    return dib_entry.run(actions[argv[0]], argv[1])


if __name__ == '__main__':
    sys.exit(main())
