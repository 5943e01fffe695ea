"""Exceptions raised by akanda_slim; one class per kind of failure."""


class SlimError(Exception):
    """Base class: a failure reported to the user as one line."""

    exit_code = 1


class UsageError(SlimError):
    """The command line or its input files are wrong."""

    exit_code = 2


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
