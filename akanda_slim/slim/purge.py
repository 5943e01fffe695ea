"""Purge a plan's removal set inside the target, then verify the target.

Order of work: lock the target (``target_lock``), check the record an
earlier run left (``apply_journal``), wait while apt or dpkg runs there (the
dpkg of a killed run, too), undo what an earlier run that did not end left
(an unfinished purge is finished first), decide, let apt
simulate the purge and refuse if apt would remove anything the plan did
not name (nothing is removed then), purge for real, verify. Verification
is the core's dependency check plus ``dpkg --audit`` and ``apt-get check``
inside the target. SIGTERM, SIGINT and SIGHUP unwind it all
(``termination``); a purge they stop is finished by the next run.
"""

import dataclasses
import logging
import re
import time

from akanda_slim.debian import consistency
from akanda_slim.debian import target as target_mod
from akanda_slim import errors
from akanda_slim.slim import apply_journal
from akanda_slim.slim import chroot as chroot_mod
from akanda_slim.slim import policy as policy_mod
from akanda_slim.slim import target_lock
from akanda_slim import termination

LOG = logging.getLogger(__name__)

APT_OPTIONS = [
    '-o', 'APT::Get::AutomaticRemove=false',
    '-o', 'Dpkg::Options::=--force-confold',
    '-o', 'Dpkg::Use-Pty=false',
]
_APT_ACTION = re.compile(r'^(?:Purg|Remv) (\S+)', re.M)
# How long a second apply on one target waits for the first, in seconds.
DEFAULT_LOCK_TIMEOUT = 600


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
    """Purge the plan's removal set; the run record names it meanwhile."""
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
    chroot.record.purge = names
    chroot.record.save()
    try:
        chroot.run(['apt-get', '-y', '-q'] + APT_OPTIONS
                   + ['purge'] + names)
    except termination.Interrupted as exc:
        raise termination.Interrupted(
            exc.signum, 'the purge in %s was stopped before it ended; run '
            'akanda-slim apply on it again to finish it' % chroot.root
        ) from None
    chroot.record.purge = None
    chroot.record.save()
    LOG.info('purged in %.1f s', time.monotonic() - started)


def finish_purge(chroot, names):
    """Bring dpkg to rest after a purge of ``names`` that did not end.

    ``dpkg --configure -a`` finishes what dpkg had begun; packages of
    ``names`` it leaves half-installed or needing reinstallation are
    purged (they were being removed).
    """
    LOG.warning('finishing the purge an earlier run began in %s: dpkg '
                '--configure -a', chroot.root)
    chroot.run(['dpkg', '--configure', '-a'])
    states = chroot.run(['dpkg-query', '-W', '-f',
                         '${db:Status-Abbrev}\t${Package}\n'] + names,
                        check=False).stdout
    unfinished = []
    for line in states.splitlines():
        abbrev, _, name = line.partition('\t')
        if name in names and (abbrev[1:2] not in ('i', 'c', 'n')
                              or abbrev[2:3].strip()):
            unfinished.append(name)
    if unfinished:
        LOG.warning('purging what the earlier run left half-removed: %s',
                    ', '.join(unfinished))
        chroot.run(['dpkg', '--purge', '--force-remove-reinstreq']
                   + unfinished)
    chroot.record.purge = None
    chroot.record.save()


def verify(chroot):
    """Check the target: dependencies, dpkg --audit, apt-get check."""
    LOG.info('verifying %s', chroot.root)
    target = target_mod.read_target(chroot.root)
    broken = consistency.broken_dependencies(target)
    audit = chroot.run(['dpkg', '--audit'], check=False)
    check = chroot.run(['apt-get', 'check', '-q'], check=False)
    audit_text = audit.stdout.strip() if (
        audit.returncode or audit.stdout.strip()) else ''
    check_text = check.stdout.strip() if check.returncode else ''
    return Verification(broken_dependencies=broken, dpkg_audit=audit_text,
                        apt_check=check_text,
                        ok=not (broken or audit_text or check_text))


def apply(root, policy, allow_running_system=False,
          lock_timeout=DEFAULT_LOCK_TIMEOUT):
    """Decide, purge and verify; returns (plan, verification).

    Holds the target's lock throughout and waits while apt or dpkg runs
    there (both for at most ``lock_timeout`` seconds); refuses a run record
    it cannot trust before anything runs; first undoes what an earlier run
    that did not end left (said on stderr). Raises PolicyError/ApplyError
    before anything is removed when the plan cannot be carried out,
    VerificationError when the result is broken, termination.Interrupted
    on SIGTERM/SIGINT/SIGHUP (after undoing its mounts and policy-rc.d);
    a file of the target it cannot move, remove or list is an ApplyError.
    """
    if chroot_mod.is_running_system(root) and not allow_running_system:
        raise errors.UsageError(
            '%s is the running system: apply would purge packages from this '
            'machine; give --allow-running-system if that is meant' % root)
    try:
        return _apply(root, policy, lock_timeout)
    except OSError as exc:  # moving, removing or listing a target's file
        raise errors.ApplyError('%s: %s' % (
            exc.filename or root, exc.strerror or exc)) from None


def _apply(root, policy, lock_timeout):
    deadline = time.monotonic() + lock_timeout
    with termination.handled(), target_lock.hold(root, lock_timeout):
        stale = apply_journal.RunRecord.load(root)  # checked before any action
        target_lock.wait_for_dpkg(root, max(0, deadline - time.monotonic()))
        with termination.deferred():
            record = _recover(root, stale)
        try:
            return _apply_locked(root, policy, record)
        finally:
            with termination.deferred():
                record.save()


def _recover(root, stale):
    """The run record to use, after undoing what a dead run left.

    ``stale``: the record found in ``root``, or None; one written before
    this host booted is not acted on (its mounts went with that boot).
    """
    if stale is not None and not stale.this_boot():
        LOG.warning('run record %s was written before this host booted or '
                    'on another host: not acted on', stale.path)
        stale = None
    done = chroot_mod.recover(root, stale)
    record = apply_journal.RunRecord(
        root, purge=stale.purge if stale is not None else None)
    if done or record.purge:
        LOG.warning('an earlier run%s did not end; cleaned up after it: %s',
                    ' (pid %d)' % stale.pid if stale is not None else '',
                    '; '.join(done + (['its purge is unfinished']
                                      if record.purge else [])) or '-')
    record.save()
    return record


def _apply_locked(root, policy, record):
    if record.purge:
        with chroot_mod.Chroot(root, record) as chroot:
            finish_purge(chroot, record.purge)
    target = target_mod.read_target(root)
    plan = policy_mod.decide(target, policy)
    with chroot_mod.Chroot(root, record) as chroot:
        if plan.remove or plan.purge_config_files:
            purge(chroot, plan)
        else:
            LOG.info('nothing to remove in %s', root)
        verification = verify(chroot)
    if not verification.ok:
        raise errors.VerificationError(
            'target %s is inconsistent: %s'
            % (root, '; '.join(verification.problems())))
    return plan, verification
