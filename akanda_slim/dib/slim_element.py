"""The slim element's helpers, run by its post-root.d hooks on the host.

``apply ROOT`` decides what the image keeps and purges the rest in one
process and one read of the dpkg database before the purge (as
``akanda-slim apply`` would with the options below), then prints the plan
and its verification as JSON; ``plan ROOT`` is its dry run.
``options ROOT`` prints those ``akanda-slim plan/apply`` options (one word a
line): the policy, the keep patterns (what the appliance elements declared
in package-installs, the chosen kernel, the boot-critical set) and the
remove patterns (the generic kernel when the cloud one serves, the user's).
``prune ROOT`` deletes files an image never needs (``prune_files``) and
prints what it freed as JSON. Settings come from the DIB_SLIM_* variables
(see the element's README.rst).
"""

import fnmatch
import glob
import json
import logging
import os
import re
import sys

import yaml

from akanda_slim.debian import rootfs
from akanda_slim.debian import target as target_mod
from akanda_slim.dib import element_python
from akanda_slim import dib_entry
from akanda_slim import errors
from akanda_slim.slim import plan_output
from akanda_slim.slim import policy as policy_mod
from akanda_slim.slim import prune_files

LOG = logging.getLogger(__name__)

PACKAGE_INSTALLS_JSON = 'tmp/package-installs.json'
MAX_JSON = 16 * 1024 * 1024

GENERIC_KERNEL = r'^linux-image-(\S+-)?%s$'

# This element: the packages it asks package-installs for stay.
SLIM_ELEMENT = 'slim'
GROWROOT = 'cloud-initramfs-growroot'
# The cloud-init modules that grow the root partition and file system.
GROWROOT_MODULES = ('growpart', 'resizefs')
CLOUD_CFG = 'etc/cloud/cloud.cfg'
CLOUD_CFG_D = 'etc/cloud/cloud.cfg.d'


def package_installs_by_element(root):
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
    cloud_init = element_python.load('slim_cloud_init')
    stages = {}
    paths = [CLOUD_CFG] + sorted(
        os.path.join(CLOUD_CFG_D, os.path.basename(p)) for p in glob.glob(
            os.path.join(glob.escape(rootfs.resolve(root, CLOUD_CFG_D)),
                         '*.cfg')))
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
        for stage in cloud_init.STAGES:
            if isinstance(config.get(stage), list):
                stages[stage] = config[stage]
    return {cloud_init.module_name(entry) for modules in stages.values()
            for entry in modules} - {None}


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
    declared = package_installs_by_element(root)
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


def _plan(root):
    target = target_mod.read_target(root)
    policy = slim_policy(target, root, os.environ)
    plan_output.emit(policy_mod.decide(target, policy), as_json=True)


def _apply(root):
    from akanda_slim.slim import purge
    target = target_mod.read_target(root)
    policy = slim_policy(target, root, os.environ)
    with target_mod.reused(target):
        plan, verification = purge.apply(root, policy)
    plan_output.emit(plan, True, verification)


def _print_options(root):
    print('\n'.join(options(root, os.environ)))


def _print_prune(root):
    print(json.dumps(prune_files.prune(root, os.environ), sort_keys=True))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    actions = {'apply': _apply, 'plan': _plan, 'options': _print_options,
               'prune': _print_prune}
    if len(argv) != 2 or argv[0] not in actions:
        print('usage: python -m akanda_slim.dib.slim_element %s ROOT'
              % '|'.join(actions), file=sys.stderr)
        return 2
    return dib_entry.run(actions[argv[0]], argv[1])


if __name__ == '__main__':
    sys.exit(main())
