"""Exceptions raised by akanda_slim; one class per kind of failure."""


class SlimError(Exception):
    """Base class: a failure reported to the user as one line."""

    exit_code = 1


class UsageError(SlimError):
    """The command line or its input files are wrong."""

    exit_code = 2


class InputError(UsageError):
    """An input file is unusable, or a target path leads outside it."""


class TargetError(UsageError):
    """The target root is missing or is not a Debian system."""


class StatusError(UsageError):
    """The target's dpkg database cannot be read or is malformed."""


class UnsafeStateError(SlimError):
    """A package in the target is half-installed or half-configured."""


class PolicyError(SlimError):
    """The requested keep/remove sets contradict each other."""


class ApplyError(SlimError):
    """Running dpkg/apt inside the target failed."""


class VerificationError(SlimError):
    """The target is inconsistent after (or before) a removal."""


class BudgetError(SlimError):
    """The built image tree is larger than its size budget."""


class BuildError(SlimError):
    """diskimage-builder failed to build the image."""


class BootError(SlimError):
    """The image did not boot to SSH in time, or QEMU failed."""


class GuestPanicError(BootError):
    """The guest kernel panicked (its serial console says so)."""

    def __init__(self, panic, console_log):
        super().__init__('guest kernel panic (%s); serial console log: %s'
                         % (panic, console_log))
        self.panic = panic
        self.console_log = console_log


class MissingToolError(UsageError):
    """A host program that a command needs is not installed."""


class CommandError(SlimError):
    """A host program exited non-zero or timed out.

    ``command`` is the argument list, ``returncode`` None on a time-out,
    ``output`` what it printed; the message ends with the output's tail.
    """

    TAIL_LINES = 15

    def __init__(self, command, returncode, output, reason=None):
        self.command = list(command)
        self.returncode = returncode
        self.output = output or ''
        if reason is None:
            reason = ('exited with status %s' % returncode
                      if returncode is not None else 'could not run')
        tail = self.output.strip().splitlines()[-self.TAIL_LINES:]
        message = '%s %s' % (' '.join(self.command), reason)
        if tail:
            message += ':\n  ' + '\n  '.join(tail)
        super().__init__(message)

    def tail(self, lines=TAIL_LINES):
        """The last ``lines`` lines of the output."""
        return '\n'.join(self.output.strip().splitlines()[-lines:])
