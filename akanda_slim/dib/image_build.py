"""Build the appliance image with diskimage-builder, slim or baseline.

Picks the elements (``debian akanda-appliance`` plus ``slim`` unless a
baseline is asked for, plus ``vm`` where device-mapper works, else
``baremetal`` for a filesystem image with its kernel and initrd beside it),
sets the release and the mirrors, runs ``disk-image-create`` from the Python
environment akanda_slim runs in and says where the outputs are.
"""

import dataclasses
import logging
import os
import shutil
import sys
import time

from akanda_slim.debian import mirrors
from akanda_slim.debian import releases
from akanda_slim.dib import shipped_files
from akanda_slim import errors
from akanda_slim import process

LOG = logging.getLogger(__name__)

DEFAULT_RELEASE = 'trixie'
DEFAULT_OUTPUT = 'akanda-slim-images'
BASE_ELEMENTS = ('debian', 'akanda-appliance')
# The agent (upstream astara-appliance) and where it comes from, the DIB
# way: a git repository or path, a directory or a tarball.
AGENT_ELEMENT = 'akanda-appliance-app'
AGENT_LOCATION = 'DIB_REPOLOCATION_akanda_appliance_app'
AGENT_REF = 'DIB_REPOREF_akanda_appliance_app'
OUR_ELEMENTS = ('akanda-appliance', 'slim')


def elements_dir_candidates():
    """Where our elements live: the source tree, then installed data."""
    return shipped_files.candidates('elements')


def find_elements_dir(candidates=None):
    """The first directory holding all of our elements."""
    candidates = candidates or elements_dir_candidates()
    for path in candidates:
        if all(os.path.isdir(os.path.join(path, e)) for e in OUR_ELEMENTS):
            return path
    raise errors.UsageError('akanda-slim elements not found in %s'
                            % ', '.join(candidates))


def device_mapper_works():
    """True when kpartx can map partitions (DIB's ``vm`` element)."""
    if not os.path.exists('/dev/mapper/control'):
        return False
    if not (shutil.which('kpartx') and shutil.which('dmsetup')):
        return False
    return process.run(['dmsetup', 'version'], check=False).returncode == 0


def check_sudo_quiet():
    """Refuse a host whose sudo writes a warning of its own.

    DIB reads the output of ``sudo losetup --show`` as the loop device's
    name, so a warning such as "unable to resolve host" ends the build at
    ``mkfs``, minutes in. Said up front instead.
    """
    if not shutil.which('sudo'):
        return
    result = process.run(['sudo', '-n', 'true'], check=False)
    said = result.stdout.strip()
    # A sudo that wants a password (exit 1) asks DIB's user itself.
    if result.returncode == 0 and said:
        raise errors.BuildError(
            'sudo prints "%s" on this host; DIB reads sudo\'s output as '
            'command output (the loop device name), so the build would fail. '
            'Fix that first (for "unable to resolve host": add the host name '
            'to /etc/hosts)' % said.splitlines()[0])


def image_elements(baseline=False, whole_disk=False, agent=True):
    """The element list for a build (``agent``: with the agent)."""
    elements = list(BASE_ELEMENTS)
    if agent:
        elements.append(AGENT_ELEMENT)
    elements.append('vm' if whole_disk else 'baremetal')
    if not baseline:
        elements.append('slim')
    return elements


def dib_environment(release, environ=None, elements_dir=None):
    """The environment for disk-image-create: release, mirrors, paths."""
    environ = dict(os.environ if environ is None else environ)
    environ['DIB_RELEASE'] = release
    environ['DIB_DISTRIBUTION_MIRROR'] = mirrors.debian_mirror(
        environ=environ)
    environ['DIB_DEBIAN_SECURITY_MIRROR'] = mirrors.security_mirror(
        environ=environ)
    paths = [elements_dir or find_elements_dir()]
    if environ.get('ELEMENTS_PATH'):
        paths.append(environ['ELEMENTS_PATH'])
    environ['ELEMENTS_PATH'] = ':'.join(paths)
    return environ


def check_release(release, environ=None):
    """Fail (exit 2) unless the build's mirror serves ``release``."""
    releases.check_release(release, mirrors.debian_mirror(environ=environ))


def disk_image_create():
    """disk-image-create of the Python environment we run in."""
    beside = os.path.join(os.path.dirname(sys.executable),
                          'disk-image-create')
    found = beside if os.path.exists(beside) else shutil.which(
        'disk-image-create')
    if not found:
        raise errors.UsageError('disk-image-create not found: install '
                                'diskimage-builder')
    return found


@dataclasses.dataclass
class BuildResult:
    """Where a build put its outputs, and how long it took."""

    name: str
    elements: list
    image: str
    kernel: str
    initrd: str
    report_json: str
    report_txt: str
    seconds: float
    log: str = ''

    def existing(self):
        """(label, path) of the outputs that exist."""
        return [(label, path) for label, path in (
            ('image', self.image), ('kernel', self.kernel),
            ('initrd', self.initrd), ('report', self.report_json),
            ('report', self.report_txt), ('log', self.log))
            if path and os.path.exists(path)]


def build(output_dir, name, elements, release=DEFAULT_RELEASE,
          extra_args=(), image_type='qcow2', log_path=None, environ=None):
    """Run disk-image-create; returns a BuildResult or raises BuildError."""
    os.makedirs(output_dir, exist_ok=True)
    prefix = os.path.join(os.path.abspath(output_dir), name)
    environment = dib_environment(release, environ)
    command = [disk_image_create(), '-t', image_type, '-o', prefix]
    command += list(extra_args) + list(elements)
    LOG.info('building %s: %s', name, ' '.join(elements))
    started = time.monotonic()
    try:
        if log_path:
            with open(log_path, 'w') as log:
                process.run(command, env=environment, output=log)
        else:
            process.run(command, env=environment, output=sys.stderr)
    except errors.CommandError as exc:
        raise errors.BuildError(
            'disk-image-create failed (%s)%s'
            % ('exit %s' % exc.returncode if exc.returncode is not None
               else 'could not run',
               ', see %s' % log_path if log_path else '')) from None
    seconds = time.monotonic() - started
    return BuildResult(
        name=name, elements=list(elements),
        image='%s.%s' % (prefix, image_type), kernel=prefix + '.vmlinuz',
        initrd=prefix + '.initrd', report_json=prefix + '.slim.json',
        report_txt=prefix + '.slim.txt', seconds=seconds,
        log=log_path or '')
