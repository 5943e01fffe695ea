"""Host programs the verification needs, found or explained."""

import shutil

from akanda_slim import errors

PACKAGES = {
    'qemu-system-x86_64': 'qemu-system-x86',
    'qemu-img': 'qemu-utils',
    'genisoimage': 'genisoimage',
    'ssh': 'openssh-client',
    'scp': 'openssh-client',
    'ssh-keygen': 'openssh-client',
    'ip': 'iproute2',
    'busybox': 'busybox',
}


def require(program):
    """The path of ``program``; MissingToolError naming its package."""
    path = shutil.which(program)
    if not path:
        raise errors.MissingToolError(
            '%s not found: install the %s package (bindep profile "test")'
            % (program, PACKAGES.get(program, program)))
    return path
