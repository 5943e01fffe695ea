"""Compare the package sets of two images: what was added, removed, changed.

Each side is an image report (``NAME.slim.json``, which lists the image's
packages) or a target root (a directory with ``var/lib/dpkg/status``).
``compare(a, b).to_dict()`` is the JSON of ``akanda-slim diff --json``::

    {"a": str, "b": str,
     "totals": {"a": {"packages": int, "installed_size_kib": int},
                "b": {...}, "delta_kib": int},
     "changes": [{"package": str, "change": "added"|"removed"|"changed",
                  "old_version": str|null, "new_version": str|null,
                  "old_kib": int, "new_kib": int, "delta_kib": int}]}

Changes come biggest impact (absolute size delta) first.
"""

import dataclasses
import json
import os

from akanda_slim.debian import rootfs
from akanda_slim.debian import target as target_mod
from akanda_slim import errors

MAX_REPORT = 64 * 1024 * 1024
MAX_KIB = 2 ** 40   # a KiB count no package reaches: 1 PiB


@dataclasses.dataclass
class Change:
    package: str
    change: str
    old_version: str
    new_version: str
    old_kib: int
    new_kib: int

    @property
    def delta_kib(self):
        return self.new_kib - self.old_kib


def load(path):
    """package -> (version, installed KiB) from a report or a root."""
    if os.path.isdir(path):
        return {key: (p.version, p.installed_size_kib) for key, p in
                target_mod.read_target(path).packages.items()}
    text = rootfs.read_text(path, MAX_REPORT, 'image report')
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    if not (isinstance(data, dict)
            and isinstance(data.get('packages'), list)):
        raise errors.InputError(
            '%s is neither an image report (NAME.slim.json with a package '
            'list) nor a Debian root' % path)
    packages = {}
    for number, entry in enumerate(data['packages'], 1):
        try:
            name, version = entry['package'], entry['version']
            kib = entry['installed_size_kib']
        except (KeyError, TypeError):
            raise errors.InputError(
                '%s: package entry %d lacks package, version or '
                'installed_size_kib' % (path, number)) from None
        if not (isinstance(name, str) and isinstance(version, str)
                and type(kib) is int and 0 <= kib <= MAX_KIB):
            raise errors.InputError(
                '%s: package entry %d: package and version must be '
                'strings, installed_size_kib an integer from 0 to %d'
                % (path, number, MAX_KIB))
        packages[name] = (version, kib)
    return packages


@dataclasses.dataclass
class Diff:
    a: str
    b: str
    old: dict
    new: dict
    changes: list

    def _total(self, packages):
        return {'packages': len(packages),
                'installed_size_kib': sum(s for _v, s in packages.values())}

    def to_dict(self):
        totals = {'a': self._total(self.old), 'b': self._total(self.new)}
        totals['delta_kib'] = (totals['b']['installed_size_kib']
                               - totals['a']['installed_size_kib'])
        return {'a': self.a, 'b': self.b, 'totals': totals,
                'changes': [dict(dataclasses.asdict(c),
                                 delta_kib=c.delta_kib)
                            for c in self.changes]}


def compare(a, b):
    """Diff of the package sets at paths ``a`` (old) and ``b`` (new)."""
    old, new = load(a), load(b)
    changes = []
    for name in sorted(set(old) | set(new)):
        old_version, old_kib = old.get(name, (None, 0))
        new_version, new_kib = new.get(name, (None, 0))
        if old_version == new_version and old_kib == new_kib:
            continue
        kind = ('added' if old_version is None else
                'removed' if new_version is None else 'changed')
        changes.append(Change(name, kind, old_version, new_version,
                              old_kib, new_kib))
    changes.sort(key=lambda c: (-abs(c.delta_kib), c.package))
    return Diff(a, b, old, new, changes)


def diff_text(diff):
    data = diff.to_dict()
    lines = []
    for change in diff.changes:
        versions = '%s -> %s' % (change.old_version or '-',
                                 change.new_version or '-')
        lines.append('%-8s %-36s %+10d KiB  %s' % (
            change.change, change.package, change.delta_kib, versions))
    if not lines:
        lines.append('no package differences')
    totals = data['totals']
    lines.append('')
    lines.append('a: %d packages, %d KiB   b: %d packages, %d KiB   '
                 'delta: %+d KiB' % (
                     totals['a']['packages'],
                     totals['a']['installed_size_kib'],
                     totals['b']['packages'],
                     totals['b']['installed_size_kib'], totals['delta_kib']))
    return '\n'.join(lines)
