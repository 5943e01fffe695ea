"""The result of a policy decision: what stays, what goes, and why.

``Plan.to_dict()`` is the stable JSON schema of ``plan``/``apply --json``::

    {"tool": "akanda-slim", "version": str, "policy": str, "root": str,
     "roots": {package: reason},
     "totals": {"installed"|"keep"|"remove":
                {"packages": int, "installed_size_kib": int}},
     "keep": [package],
     "remove": [{"package", "version", "installed_size_kib",
                 "reason", "reason_code"}],
     "purge_config_files": [package],
     "warnings": [str]}

``reason_code`` is one of: requested, recommended-only, suggested-only,
needed-by-removed, alternative-kept, unneeded.
"""

import dataclasses

from akanda_slim import version

REQUESTED = 'requested'
RECOMMENDED_ONLY = 'recommended-only'
SUGGESTED_ONLY = 'suggested-only'
NEEDED_BY_REMOVED = 'needed-by-removed'
ALTERNATIVE_KEPT = 'alternative-kept'
UNNEEDED = 'unneeded'


@dataclasses.dataclass
class Removal:
    package: str
    version: str
    installed_size_kib: int
    reason: str
    reason_code: str


@dataclasses.dataclass
class Plan:
    """What a policy decided for one target."""

    policy: str
    root: str
    roots: dict                # key -> why it is a root
    keep: list                 # sorted keys
    remove: list               # Removal, biggest first
    purge_config_files: list   # keys in config-files state
    kept_by: dict              # key -> (parent key, field, group text)
    installed_size_kib: dict   # key -> KiB, every installed package
    warnings: list = dataclasses.field(default_factory=list)

    def _total(self, keys):
        return {'packages': len(keys),
                'installed_size_kib': sum(self.installed_size_kib[k]
                                          for k in keys)}

    @property
    def totals(self):
        return {
            'installed': self._total(list(self.installed_size_kib)),
            'keep': self._total(self.keep),
            'remove': self._total([r.package for r in self.remove]),
        }

    @property
    def remove_names(self):
        return [r.package for r in self.remove]

    def why(self, key):
        """Chain of (package, how it is kept) from a root down to ``key``.

        Returns [] when ``key`` is not kept.
        """
        if key not in self.kept_by and key not in self.roots:
            return []
        chain = []
        while key not in self.roots:
            parent, field, group = self.kept_by[key]
            chain.append((key, '%s %s: %s' % (parent, field, group)))
            key = parent
        chain.append((key, 'root: %s' % self.roots[key]))
        return list(reversed(chain))

    def to_dict(self):
        return {
            'tool': 'akanda-slim',
            'version': version.version_string(),
            'policy': self.policy,
            'root': self.root,
            'roots': dict(sorted(self.roots.items())),
            'totals': self.totals,
            'keep': list(self.keep),
            'remove': [dataclasses.asdict(r) for r in self.remove],
            'purge_config_files': list(self.purge_config_files),
            'warnings': list(self.warnings),
        }
