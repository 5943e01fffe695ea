"""SIGTERM, SIGINT and SIGHUP as an exception, so ``with`` blocks unwind.

Inside ``handled()`` the first of these signals raises ``Interrupted``
where the program is, so every context manager undoes its work on the way
out. Work that must not be cut in half (a mount and its record, an
unmount) runs inside ``deferred()``: a signal arriving there is held and
raised when the block ends. While a child runs under ``forwarding(pgid)``
the signal goes to the child's process group instead, and is raised once
the child has exited. Signals after the first are logged, never raised,
so cleanup is not cut short.
"""

import contextlib
import logging
import os
import signal

from akanda_slim import errors

LOG = logging.getLogger(__name__)

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Interrupted(errors.SlimError):
    """A termination signal arrived; exit status 128 + its number."""

    def __init__(self, signum, detail=''):
        self.signum = signum
        self.exit_code = 128 + signum
        message = 'interrupted by %s' % signal.Signals(signum).name
        super().__init__(message + ('; ' + detail if detail else ''))


class _State:
    def __init__(self):
        self.pending = None      # the first signal received
        self.raised = False      # Interrupted was raised for it
        self.defer_depth = 0
        self.forward_to = None   # process group of a running child


_state = _State()


def _handler(signum, frame):
    if _state.forward_to is not None:
        LOG.warning('%s: passing it to the running command, then stopping',
                    signal.Signals(signum).name)
        try:
            os.killpg(_state.forward_to, signum)
        except ProcessLookupError:
            pass  # the child has just exited: nothing to forward to
    if _state.pending is not None:
        if _state.forward_to is None:
            LOG.warning('%s: already stopping, cleaning up first',
                        signal.Signals(signum).name)
        return
    _state.pending = signum
    if _state.defer_depth or _state.forward_to is not None:
        return
    _state.raised = True
    raise Interrupted(signum)


def pending():
    """The signal received so far (a number), or None."""
    return _state.pending


def raise_pending(detail=''):
    """Raise ``Interrupted`` for a held signal, if one arrived."""
    if _state.pending is not None and not _state.raised:
        _state.raised = True
        raise Interrupted(_state.pending, detail)


@contextlib.contextmanager
def handled():
    """Turn termination signals into ``Interrupted`` inside the block."""
    global _state
    _state = _State()
    previous = {signum: signal.signal(signum, _handler)
                for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    raise_pending()


@contextlib.contextmanager
def deferred():
    """Hold termination signals until the block has ended."""
    _state.defer_depth += 1
    try:
        yield
    finally:
        _state.defer_depth -= 1
    if not _state.defer_depth and _state.forward_to is None:
        raise_pending()


@contextlib.contextmanager
def forwarding(pgid):
    """Send termination signals to process group ``pgid`` in the block."""
    _state.forward_to = pgid
    if _state.pending is not None:
        os.killpg(pgid, _state.pending)
    try:
        yield
    finally:
        _state.forward_to = None


def _as_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt('signal %d' % signum)


@contextlib.contextmanager
def as_ctrl_c():
    """SIGTERM and SIGHUP unwind like Ctrl-C inside the block (exit 130).

    For commands whose cleanups are ``with`` blocks and ``finally``
    clauses (verify, failover): QEMU, taps and namespaces go however the
    run ends. The previous handlers come back after the block.
    """
    previous = {signum: signal.signal(signum, _as_keyboard_interrupt)
                for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
