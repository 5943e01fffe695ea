"""Plans and why-chains for people (a table) and programs (JSON)."""

import json
import sys

from akanda_slim import sizes


def plan_text(plan, verification=None):
    """The plan as a readable table, one removal a line."""
    totals = plan.totals
    lines = ['policy: %s   root: %s' % (plan.policy, plan.root)]
    if plan.remove:
        width = max(len(r.package) for r in plan.remove)
        lines.append('')
        lines.append('%-*s %10s  %s' % (width, 'REMOVE', 'KiB', 'REASON'))
        for removal in plan.remove:
            lines.append('%-*s %10d  %s' % (
                width, removal.package, removal.installed_size_kib,
                removal.reason))
    else:
        lines.append('nothing to remove')
    if plan.purge_config_files:
        lines.append('')
        lines.append('purge left-over configuration: %s'
                     % ', '.join(plan.purge_config_files))
    lines.append('')
    for name in ('installed', 'keep', 'remove'):
        lines.append('%-10s %5d packages %12s' % (
            name + ':', totals[name]['packages'],
            sizes.mib(totals[name]['installed_size_kib'])))
    lines.append('roots:     %5d packages' % len(plan.roots))
    if verification is not None:
        lines.append('verification: %s' % ('ok' if verification.ok else
                                           'FAILED'))
    return '\n'.join(lines)


def why_text(plan, key):
    """Why ``key`` is kept, or why it goes."""
    chain = plan.why(key)
    if chain:
        return '\n'.join('%s%s  (%s)' % ('  ' * depth, name, how)
                         for depth, (name, how) in enumerate(chain))
    for removal in plan.remove:
        if removal.package == key:
            return '%s is removed by policy %s: %s' % (
                key, plan.policy, removal.reason)
    return None


def emit(plan, as_json, verification=None):
    """Print a plan (and verification) as JSON or as a table."""
    for warning in plan.warnings:
        print('akanda-slim: warning: %s' % warning, file=sys.stderr)
    if as_json:
        data = plan.to_dict()
        if verification is not None:
            data['applied'] = True
            data['verification'] = verification.to_dict()
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write('\n')
    else:
        print(plan_text(plan, verification))
