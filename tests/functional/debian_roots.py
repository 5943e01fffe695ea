"""Real Debian roots for functional tests, made with debootstrap.

The base root is bootstrapped once per test process and copied for each
test. The mirror comes from the host's apt sources, or from
DIB_DISTRIBUTION_MIRROR.
"""

import atexit
import functools
import os
import shutil
import subprocess
import tempfile

from akanda_slim.debian import mirrors


RELEASE = os.environ.get('DIB_RELEASE', 'trixie')
OPT_NO_RECOMMENDS = [
    '-o', 'APT::AutoRemove::RecommendsImportant=false',
    '-o', 'APT::AutoRemove::SuggestsImportant=false',
]


def why_not_runnable():
    """A reason these tests cannot run here, or None."""
    if os.geteuid() != 0:
        return 'needs root (debootstrap, chroot, mount)'
    for tool in ('debootstrap', 'apt-get', 'chroot'):
        if not shutil.which(tool):
            return '%s is not installed (see bindep.txt)' % tool
    return None


def run(command, **kwargs):
    return subprocess.run(command, check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          **kwargs).stdout


def in_root(root, *command):
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive', LC_ALL='C')
    return run(['chroot', root] + list(command), env=env)


@functools.lru_cache(maxsize=None)
def _workdir():
    return tempfile.mkdtemp(prefix='akanda-slim-roots-', dir='/var/tmp')


@functools.lru_cache(maxsize=None)
def base_root():
    """A minbase root of RELEASE, bootstrapped once per process."""
    root = os.path.join(_workdir(), 'base')
    run(['debootstrap', '--variant=minbase', RELEASE, root,
         mirrors.debian_mirror()])
    return root


def copy_root(name):
    root = os.path.join(_workdir(), name)
    if os.path.exists(root):
        shutil.rmtree(root)
    run(['cp', '-a', base_root(), root])
    return root


def root_with(name, packages, recommends, extras=('less', 'vim-tiny')):
    """A copy of the base root with ``packages`` and ``extras`` installed.

    Everything not Priority required is then marked automatic but for
    ``packages``, so apt's autoremove has real work to compare against.
    """
    root = copy_root(name)
    flag = '--install-recommends' if recommends else '--no-install-recommends'
    in_root(root, 'apt-get', 'install', '-y', '-q', flag, *packages, *extras)
    optional = in_root(root, 'dpkg-query', '-W', '-f',
                       '${Package} ${Priority}\n').splitlines()
    in_root(root, 'apt-mark', 'auto', *[line.split()[0] for line in optional
                                        if line.split()[1] != 'required'])
    in_root(root, 'apt-mark', 'manual', *packages)
    return root


def apt_autoremove(root):
    """The packages apt's autoremove would remove from ``root``, per apt."""
    command = ['apt-get', '-s'] + OPT_NO_RECOMMENDS + ['autoremove']
    output = run(command) if root == '/' else in_root(root, *command)
    return sorted(line.split()[1] for line in output.splitlines()
                  if line.startswith('Remv '))


@atexit.register
def cleanup():
    if _workdir.cache_info().currsize:
        shutil.rmtree(_workdir(), ignore_errors=True)
