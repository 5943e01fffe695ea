"""Purge a plan's removal set inside the target, then verify the target.

Order of work: decide, let apt simulate the purge and refuse if apt would
remove anything the plan did not name (nothing is removed then), purge for
real, verify. Verification is the core's dependency check plus
``dpkg --audit`` and ``apt-get check`` inside the target.
"""

import dataclasses
import logging
import re
import time

from akanda_slim import chroot as chroot_mod
from akanda_slim import consistency
from akanda_slim import errors
from akanda_slim import policy as policy_mod
from akanda_slim import target as target_mod

LOG = logging.getLogger(__name__)

APT_OPTIONS = [
    '-o', 'APT::Get::AutomaticRemove=false',
    '-o', 'Dpkg::Options::=--force-confold',
    '-o', 'Dpkg::Use-Pty=false',
]
_APT_ACTION = re.compile(r'^(?:Purg|Remv) (\S+)', re.M)


@dataclasses.dataclass
class Verification:
    broken_dependencies: list
    dpkg_audit: str
    apt_check: str
    ok: bool

    def to_dict(self):
        return dataclasses.asdict(self)

    def problems(self):
        found = ['broken dependency: %s' % b
                 for b in self.broken_dependencies]
        if self.dpkg_audit:
            found.append('dpkg --audit: %s' % self.dpkg_audit)
        if self.apt_check:
            found.append('apt-get check: %s' % self.apt_check)
        return found


def simulate(chroot, names):
    """Names apt would remove for ``apt-get purge NAMES``."""
    result = chroot.run(['apt-get', '-s', '-q'] + APT_OPTIONS
                        + ['purge'] + names)
    return set(_APT_ACTION.findall(result.stdout))


def purge(chroot, plan):
    names = plan.remove_names + plan.purge_config_files
    LOG.info('checking the purge of %d packages with apt', len(names))
    would_remove = simulate(chroot, names)
    extra = sorted(would_remove - set(names))
    if extra:
        raise errors.ApplyError(
            'apt would also remove %s; nothing was removed' % ', '.join(extra))
    LOG.info('purging %d packages (%d KiB) in %s', len(plan.remove),
             plan.totals['remove']['installed_size_kib'], chroot.root)
    started = time.monotonic()
    chroot.run(['apt-get', '-y', '-q'] + APT_OPTIONS + ['purge'] + names)
    LOG.info('purged in %.1f s', time.monotonic() - started)


def verify(root):
    """Check the target: dependencies, dpkg --audit, apt-get check."""
    LOG.info('verifying %s', root)
    target = target_mod.read_target(root)
    broken = consistency.broken_dependencies(target)
    with chroot_mod.Chroot(root) as chroot:
        audit = chroot.run(['dpkg', '--audit'], check=False)
        check = chroot.run(['apt-get', 'check', '-q'], check=False)
    audit_text = audit.stdout.strip() if (
        audit.returncode or audit.stdout.strip()) else ''
    check_text = check.stdout.strip() if check.returncode else ''
    return Verification(broken_dependencies=broken, dpkg_audit=audit_text,
                        apt_check=check_text,
                        ok=not (broken or audit_text or check_text))


def apply(root, policy):
    """Decide, purge and verify; returns (plan, verification).

    Raises PolicyError/ApplyError before anything is removed when the plan
    cannot be carried out, VerificationError when the result is broken.
    """
    target = target_mod.read_target(root)
    plan = policy_mod.decide(target, policy)
    if plan.remove or plan.purge_config_files:
        with chroot_mod.Chroot(root) as chroot:
            purge(chroot, plan)
    else:
        LOG.info('nothing to remove in %s', root)
    verification = verify(root)
    if not verification.ok:
        raise errors.VerificationError(
            'target %s is inconsistent: %s'
            % (root, '; '.join(verification.problems())))
    return plan, verification
