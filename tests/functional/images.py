"""Real DIB builds of the appliance image, shared by the functional tests.

Each image is built once per test process (stestr runs the functional tests
in one process): ``baseline_image()`` (``debian akanda-appliance`` plus what
booting needs), ``slim_image()`` (the same plus ``slim``) and
``rebuild_slim_image()`` (the slim image again from the same inputs). Each
returns an ``Image`` with the paths a test needs:

* ``image``: the qcow2. Boot it with ``snapshot=on`` so it stays pristine.
* ``kernel``, ``initrd``: written beside it by DIB's ``baremetal`` element
  when the host has no device-mapper (then ``image`` is one ext4 filesystem:
  boot with ``-kernel K -initrd I``, command line
  ``root=/dev/vda console=ttyS0 net.ifnames=0``).
  With device-mapper the image is a whole disk (``vm``) and these are None.
* ``report_json``, ``report_txt``: the slim report (None for the baseline).
* ``build_seconds``, ``slim_seconds``: wall time of the build and of the
  slim step (from the report).
* ``packages``: name -> version, read from the image's own dpkg database;
  ``installed_size_kib``: the sum of its Installed-Size fields.

The images have the appliance's agent (upstream astara-appliance from
``../shared/upstream/``, or AKANDA_SLIM_AGENT_SOURCE), cloud-init with the
NoCloud and ConfigDrive data sources, openssh-server and a serial console
on ttyS0 (systemd starts a getty on the kernel's console). Builds use
DIB's cache in ~/.cache/image-create, so rebuilds fetch little. The
mirrors come from the host's apt sources or the DIB variables. Set
AKANDA_SLIM_KEEP_IMAGES=1 to keep the work directory.
"""

import atexit
import dataclasses
import functools
import json
import os
import shutil
import subprocess
import tempfile
import time

from akanda_slim.debian import mirrors
from akanda_slim.debian import target as target_mod
from akanda_slim.dib import image_build
from akanda_slim import errors
from akanda_slim.footprint import imagefs
from tests import upstream

RELEASE = os.environ.get('DIB_RELEASE', image_build.DEFAULT_RELEASE)
COPIED_FROM_IMAGE = ('var/lib/dpkg/status', 'var/lib/apt/extended_states')


def _existing(path):
    return path if path and os.path.exists(path) else None


@dataclasses.dataclass
class Image:
    result: image_build.BuildResult
    slim_seconds: float
    packages: dict
    installed_size_kib: int
    tree_kib: int
    dpkg_root: str

    name = property(lambda self: self.result.name)
    elements = property(lambda self: self.result.elements)
    image = property(lambda self: self.result.image)
    build_seconds = property(lambda self: self.result.seconds)
    log = property(lambda self: self.result.log)
    kernel = property(lambda self: _existing(self.result.kernel))
    initrd = property(lambda self: _existing(self.result.initrd))
    report_json = property(lambda self: _existing(self.result.report_json))
    report_txt = property(lambda self: _existing(self.result.report_txt))

    @property
    def qcow2_bytes(self):
        return os.path.getsize(self.image)

    def report(self):
        with open(self.report_json) as data:
            return json.load(data)


def why_not_runnable():
    """A reason image builds cannot run here, or None."""
    if os.geteuid() != 0:
        return 'needs root (diskimage-builder chroots, loop mounts)'
    try:
        image_build.disk_image_create()
        mirrors.debian_mirror()
    except errors.SlimError as exc:
        return str(exc)
    for tool in ('qemu-img', 'mount', 'losetup'):
        if not shutil.which(tool):
            return '%s is not installed (see bindep.txt)' % tool
    return None


@functools.lru_cache(maxsize=None)
def workdir():
    return tempfile.mkdtemp(prefix='akanda-slim-images-', dir='/var/tmp')


def _run(command):
    return subprocess.run(command, check=True, text=True,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT).stdout


mounted = imagefs.mounted


def read_image(image_path, into):
    """Copy the image's dpkg/apt state into ``into``; returns tree KiB."""
    os.makedirs(into, exist_ok=True)
    with mounted(image_path, into) as mount:
        for path in COPIED_FROM_IMAGE:
            destination = os.path.join(into, 'root', path)
            os.makedirs(os.path.dirname(destination), exist_ok=True)
            if os.path.exists(os.path.join(mount, path)):
                shutil.copy(os.path.join(mount, path), destination)
        shutil.copytree(os.path.join(mount, 'etc/apt'),
                        os.path.join(into, 'root/etc/apt'), symlinks=True)
        return int(_run(['du', '-sxk', mount]).split()[0])


def agent_environment(environ=None):
    """The build environment with the agent's source.

    The source is the upstream tarball beside the clone unless
    AKANDA_SLIM_AGENT_SOURCE names another.
    """
    environ = dict(os.environ if environ is None else environ)
    environ[image_build.AGENT_LOCATION] = os.environ.get(
        'AKANDA_SLIM_AGENT_SOURCE') or upstream.tarball(upstream.APPLIANCE)
    return environ


def _build(name, baseline, more_elements=(), environ=None):
    work = workdir()
    elements = image_build.image_elements(
        baseline, image_build.device_mapper_works())
    elements += list(more_elements)
    environ = agent_environment(environ)
    log = os.path.join(work, name + '.log')
    try:
        result = image_build.build(work, name, elements, release=RELEASE,
                                   log_path=log, environ=environ)
    except errors.BuildError:
        with open(log) as text:
            tail = text.read()[-4000:]
        raise AssertionError('build of %s failed:\n%s' % (name, tail))
    extracted = os.path.join(work, name + '.extracted')
    tree_kib = read_image(result.image, extracted)
    dpkg_root = os.path.join(extracted, 'root')
    target = target_mod.read_target(dpkg_root)
    slim_seconds = None
    if os.path.exists(result.report_json):
        with open(result.report_json) as data:
            slim_seconds = json.load(data).get('slim_step_seconds')
    return Image(
        result=result, slim_seconds=slim_seconds,
        packages={p.name: p.version for p in target.packages.values()},
        installed_size_kib=sum(p.installed_size_kib
                               for p in target.packages.values()),
        tree_kib=tree_kib, dpkg_root=dpkg_root)


@functools.lru_cache(maxsize=None)
def baseline_image():
    """``debian akanda-appliance`` (+ baremetal or vm), built once."""
    return _build('baseline', baseline=True)


@functools.lru_cache(maxsize=None)
def slim_image():
    """``debian akanda-appliance slim`` (+ baremetal or vm), built once."""
    return _build('slim', baseline=False)


@functools.lru_cache(maxsize=None)
def rebuild_slim_image():
    """The slim image built again from the same inputs."""
    slim_image()
    return _build('slim-rebuild', baseline=False)


def run_in_image(image_path, command):
    """Run ``command`` chrooted in the read-only mounted image; output."""
    work = tempfile.mkdtemp(dir=workdir())
    try:
        with mounted(image_path, work) as mount:
            return _run(['chroot', mount] + list(command))
    finally:
        shutil.rmtree(work, ignore_errors=True)


@atexit.register
def cleanup():
    if workdir.cache_info().currsize and not os.environ.get(
            'AKANDA_SLIM_KEEP_IMAGES'):
        shutil.rmtree(workdir(), ignore_errors=True)


def run_side_by_side(commands):
    """Start ``commands`` (name -> argv) together; wait for all.

    Their output goes to files in the work directory (NAME.out, NAME.err),
    so no run waits on a full pipe. Returns name -> (returncode, stdout,
    stderr); prints each run's exit status and time.
    """
    started = {}
    for name, argv in commands.items():
        out, err = (open(os.path.join(workdir(), '%s.%s' % (name, suffix)),
                         'w+') for suffix in ('out', 'err'))
        started[name] = (time.monotonic(), out, err, subprocess.Popen(
            argv, stdout=out, stderr=err))
    results = {}
    for name, (began, out, err, process) in started.items():
        process.wait()
        with out, err:
            out.seek(0)
            err.seek(0)
            results[name] = (process.returncode, out.read(), err.read())
        print('%s: exit %d after %.0f s'
              % (name, process.returncode, time.monotonic() - began))
    return results
