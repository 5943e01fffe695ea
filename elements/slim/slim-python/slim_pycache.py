"""Keep Python bytecode only for the modules an image's Python imports.

Run inside the image by post-install.d/72-slim-pycache-imported:
``python3 slim_pycache.py PATTERN...`` imports each PATTERN (a module
name, ``parent.glob*`` expanded over the parent package, or
``cloud-init-config``: the config modules and datasources the image's
cloud-init names), then removes every other __pycache__ file under
/usr/lib/python3* and the caches left empty. A module imported later
without bytecode is compiled then.
"""

import fnmatch
import glob
import importlib
import os
import pkgutil
import sys

CACHE_FILES = '/usr/lib/python3*/**/__pycache__/*.pyc'
CACHE_DIRS = '/usr/lib/python3*/**/__pycache__'


def _stages():
    """slim_cloud_init.STAGES, imported without writing its bytecode."""
    writes = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        import slim_cloud_init
    finally:
        sys.dont_write_bytecode = writes
    return slim_cloud_init


def cloud_init_config():
    """The config modules and datasources the image's cloud-init names."""
    from cloudinit import util
    slim_cloud_init = _stages()
    config = util.read_conf_with_confd('/etc/cloud/cloud.cfg')
    names = []
    for stage in slim_cloud_init.STAGES:
        for item in config.get(stage) or ():
            name = slim_cloud_init.module_name(item)
            if name:
                names.append('cloudinit.config.cc_' + name)
    for source in config.get('datasource_list') or ():
        names.append('cloudinit.sources.DataSource' + source)
    return names


def expand(pattern):
    """Module names for ``pattern`` (see the module's docstring)."""
    if pattern == 'cloud-init-config':
        return cloud_init_config()
    if '*' not in pattern:
        return [pattern]
    parent, _, leaf = pattern.rpartition('.')
    package = importlib.import_module(parent)
    return ['%s.%s' % (parent, info.name)
            for info in pkgutil.iter_modules(package.__path__)
            if fnmatch.fnmatchcase(info.name, leaf)]


def import_all(patterns):
    """Import what ``patterns`` name; returns the ones that failed."""
    failed = []
    for pattern in patterns:
        try:
            names = expand(pattern)
        except ImportError as exc:
            failed.append('%s (%s)' % (pattern, exc))
            continue
        for name in names:
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: B902 - compiled later instead
                failed.append('%s (%s)' % (name, exc.__class__.__name__))
    return failed


def imported_caches(modules):
    """Real paths of the bytecode files of ``modules`` (sys.modules)."""
    keep = set()
    for module in list(modules.values()):
        cached = getattr(module, '__cached__', None)
        if cached:
            keep.add(os.path.realpath(cached))
    return keep


def prune(keep, files=CACHE_FILES, dirs=CACHE_DIRS):
    """Remove bytecode not in ``keep`` and empty caches; (kept, removed)."""
    removed = kept = 0
    for path in glob.glob(files, recursive=True):
        if os.path.realpath(path) in keep:
            kept += 1
            continue
        os.unlink(path)
        removed += 1
    for cache in glob.glob(dirs, recursive=True):
        if not os.listdir(cache):
            os.rmdir(cache)
    return kept, removed


def main(patterns):
    failed = import_all(patterns)
    kept, removed = prune(imported_caches(sys.modules))
    print('bytecode kept for %d imported modules, %d files removed' % (
        kept, removed))
    for entry in failed:
        print('not imported: %s' % entry)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
