"""Changes the slim element's host-side hooks make in a target root.

Run as ``python -m akanda_slim.slim.root_edit ACTION ROOT PATH ...``:

- ``write ROOT PATH [MODE]``: PATH's content from stdin (mode 0644 or the
  octal MODE), its directories made;
- ``link ROOT PATH TARGET``: PATH a symlink to TARGET (``ln -sfn``);
- ``remove ROOT PATH``: PATH (a file or link) gone, if there;
- ``test ROOT -e|-f|-x PATH``: prints ``yes`` or ``no`` (exists, is a
  regular file, is an executable regular file).

PATH is a path in the target resolved as inside a chroot (``rootfs``), so
no target symlink or ``..`` leads a change onto the host; a refusal is one
line and exit 2.
"""

import stat
import sys

from akanda_slim.debian import rootfs
from akanda_slim import dib_entry
from akanda_slim import errors

MAX_INPUT = 16 * 1024 * 1024
TESTS = ('-e', '-f', '-x')


def write(root, path, mode='0644'):
    """Write stdin to ``path`` in-root with the octal ``mode``."""
    try:
        mode = int(mode, 8)
    except ValueError:
        raise errors.UsageError('mode must be octal, not %r' % mode) from None
    data = sys.stdin.buffer.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise errors.InputError('%s: more than %d bytes on stdin'
                                % (path, MAX_INPUT))
    rootfs.write_file(root, path, data, mode & 0o7777)


def link(root, path, target):
    """Make ``path`` in-root a symlink to ``target``."""
    rootfs.symlink(root, path, target)


def remove(root, path):
    """Remove the file or link ``path`` in-root."""
    rootfs.remove(root, path)


def found(root, test, path):
    """Whether ``path`` in-root passes ``test`` (-e, -f or -x)."""
    if test not in TESTS:
        raise errors.UsageError('test must be one of %s, not %r'
                                % (' '.join(TESTS), test))
    info = rootfs.lstat(root, path)
    if info is None:
        return False
    if test == '-e':
        return True
    if not stat.S_ISREG(info.st_mode):
        return False
    return test == '-f' or bool(info.st_mode & 0o111)


def _print_test(root, test, path):
    print('yes' if found(root, test, path) else 'no')


ACTIONS = {'write': (write, (2, 3)), 'link': (link, (3,)),
           'remove': (remove, (2,)), 'test': (_print_test, (3,))}


def _act(action, root, *args):
    rootfs.check_root(root)
    return ACTIONS[action][0](root, *args)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ACTIONS:
        argv = []
    return dib_entry.main(
        'akanda_slim.slim.root_edit write ROOT PATH [MODE] | link ROOT PATH '
        'TARGET | remove ROOT PATH | test ROOT -e|-f|-x PATH', _act,
        [count + 1 for count in ACTIONS[argv[0]][1]] if argv else (),
        argv)


if __name__ == '__main__':
    sys.exit(main())
