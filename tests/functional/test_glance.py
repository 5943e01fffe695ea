"""The devstack plugin's upload against a real Glance, then a boot of it.

Glance comes from PyPI, with python-openstackclient, in a venv of its own
(``AKANDA_SLIM_GLANCE_VENV``, default /var/tmp/akanda-slim-glance-venv,
made once and reused). Glance's API runs on loopback the way a deployment
without Keystone runs it: paste flavor empty (the unauthenticated context),
SQLite, the local file store, a policy file allowing every action (the
unauthenticated context has no roles, and Glance's defaults want
``admin`` to make an image public), served by a small threaded WSGI
server (Glance no longer ships a standalone server). The plugin's
``upload_akanda_slim_image`` runs with the real ``openstack`` client
(``OS_AUTH_TYPE=none``, ``OS_ENDPOINT``); the test reads the images back,
downloads them by id and boots the downloaded bytes with ``verify``. The
downloads are the slim image's bytes (asserted), whose router checks run
in test_footprint; here verify boots them (``--no-checks``: SSH answers,
the boot finishes), which keeps the gate within its hour.
"""

import functools
import hashlib
import json
import os
import subprocess
import sys
import time

import testtools

from tests.functional import images

SKIP_REASON = images.why_not_runnable()
REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VENV = os.environ.get('AKANDA_SLIM_GLANCE_VENV',
                      '/var/tmp/akanda-slim-glance-venv')
PACKAGES = ('glance', 'python-openstackclient', 'python-glanceclient')
NAME = 'akanda-slim-glance'

CONF = '''[DEFAULT]
bind_host = 127.0.0.1
enabled_backends = local:file
log_file = {dir}/glance-api.log
[database]
connection = sqlite:///{dir}/glance.sqlite
[paste_deploy]
flavor =
config_file = {dir}/glance-api-paste.ini
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = {dir}/images/
[os_glance_staging_store]
filesystem_store_datadir = {dir}/staging/
[os_glance_tasks_store]
filesystem_store_datadir = {dir}/tasks/
[oslo_policy]
enforce_new_defaults = False
enforce_scope = False
policy_file = {dir}/policy.json
'''

# Glance's WSGI application under a threaded server on a free port.
SERVE = '''
import socketserver, sys
from wsgiref import simple_server
from glance.wsgi.api import application

class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True

class Quiet(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass

httpd = simple_server.make_server('127.0.0.1', 0, application,
                                  server_class=Server, handler_class=Quiet)
print('listening %d' % httpd.server_port, flush=True)
httpd.serve_forever()
'''

POLICY = '''
import json, sys
from glance import policies
json.dump({rule.name: '@' for rule in policies.list_rules()},
          open(sys.argv[1], 'w'))
'''

DEVSTACK_FUNCTIONS = '''
is_service_enabled() { return 1; }
die() { echo "die: ${*:2}" >&2; exit 1; }
'''


def _run(command, **kwargs):
    return subprocess.run(command, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, **kwargs)


@functools.lru_cache(maxsize=None)
def glance_venv():
    """The venv's bin directory, or the reason it cannot be had."""
    marker = os.path.join(VENV, '.akanda-slim-complete')
    if not os.path.exists(marker):
        made = _run([sys.executable, '-m', 'venv', '--clear', VENV])
        if made.returncode != 0:
            return None, 'python3 -m venv failed: ' + made.stdout[-500:]
        pip = _run([os.path.join(VENV, 'bin', 'pip'), 'install', '-q']
                   + list(PACKAGES), timeout=1200)
        if pip.returncode != 0:
            return None, ('Glance and the openstack client could not be '
                          'installed from PyPI: ' + pip.stdout[-800:])
        open(marker, 'w').close()
    return os.path.join(VENV, 'bin'), None


class Glance:
    """Glance's API on loopback, no Keystone; ``stop()`` ends it."""

    def __init__(self, bin_dir, work):
        self.bin_dir, self.dir = bin_dir, work
        os.makedirs(work, exist_ok=True)
        python = os.path.join(bin_dir, 'python')
        paste = os.path.join(os.path.dirname(bin_dir), 'etc', 'glance',
                             'glance-api-paste.ini')
        with open(paste) as source, open(
                os.path.join(work, 'glance-api-paste.ini'), 'w') as out:
            out.write(source.read())
        conf = os.path.join(work, 'glance-api.conf')
        with open(conf, 'w') as out:
            out.write(CONF.format(dir=work))
        for command in ([python, '-c', POLICY,
                         os.path.join(work, 'policy.json')],
                        [os.path.join(bin_dir, 'glance-manage'),
                         '--config-file', conf, 'db_sync']):
            result = _run(command)
            if result.returncode != 0:
                raise AssertionError('%s failed:\n%s' % (
                    command[0], result.stdout[-2000:]))
        self.log = open(os.path.join(work, 'serve.log'), 'w')
        self.process = subprocess.Popen(
            [python, '-c', SERVE], stdout=subprocess.PIPE, stderr=self.log,
            text=True, env=dict(os.environ, OS_GLANCE_CONFIG_DIR=work))
        line = self.process.stdout.readline().split()
        if line[:1] != ['listening']:
            self.stop()
            raise AssertionError('Glance did not start: see %s'
                                 % self.log.name)
        self.endpoint = 'http://127.0.0.1:%s' % line[1]

    def environ(self):
        return dict(os.environ, OS_AUTH_TYPE='none',
                    OS_ENDPOINT=self.endpoint,
                    PATH=self.bin_dir + os.pathsep + os.environ['PATH'])

    def openstack(self, *arguments):
        result = _run([os.path.join(self.bin_dir, 'openstack')]
                      + list(arguments), env=self.environ(), timeout=600)
        if result.returncode != 0:
            raise AssertionError('openstack %s failed:\n%s' % (
                ' '.join(arguments), result.stdout[-2000:]))
        return result.stdout

    def show(self, image_id):
        return json.loads(self.openstack('image', 'show', '-f', 'json',
                                         image_id))

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as data:
        for block in iter(lambda: data.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _outputs(slim, directory):
    """The build's outputs under the plugin's names, as links."""
    os.makedirs(directory, exist_ok=True)
    sources = {'.qcow2': slim.image, '.vmlinuz': slim.kernel,
               '.initrd': slim.initrd, '.slim.json': slim.report_json}
    for suffix, source in sources.items():
        if source:
            os.symlink(source, os.path.join(directory, NAME + suffix))
    return {suffix: os.path.join(directory, NAME + suffix)
            for suffix, source in sources.items() if source}


def _upload(glance, directory):
    """Run the plugin's upload; the image id it set."""
    functions = os.path.join(glance.dir, 'devstack-functions')
    with open(functions, 'w') as out:
        out.write(DEVSTACK_FUNCTIONS)
    script = ('set -e; source %s; source %s/devstack/settings; '
              'source %s/devstack/plugin.sh; _akanda_slim_defaults; '
              'upload_akanda_slim_image; '
              'echo "IMAGE_ID=$AKANDA_SLIM_IMAGE_ID"' % (functions, REPO,
                                                         REPO))
    environ = dict(glance.environ(), DEST=glance.dir,
                   DATA_DIR=glance.dir, AKANDA_SLIM_OUTPUT_DIR=directory,
                   AKANDA_SLIM_IMAGE_NAME=NAME)
    result = _run(['bash', '-c', script], env=environ, timeout=900)
    if result.returncode != 0:
        raise AssertionError('upload_akanda_slim_image failed:\n'
                             + result.stdout[-3000:])
    ids = [line.split('=', 1)[1] for line in result.stdout.splitlines()
           if line.startswith('IMAGE_ID=')]
    return ids[0], result.stdout


@functools.lru_cache(maxsize=None)
def uploaded():
    """Upload, read back, download and boot once; a dict of findings."""
    bin_dir, why = glance_venv()
    if why:
        return {'skip': why}
    slim = images.slim_image()
    work = os.path.join(images.workdir(), 'glance')
    glance = Glance(bin_dir, work)
    try:
        originals = _outputs(slim, os.path.join(work, 'outputs'))
        started = time.monotonic()
        image_id, output = _upload(glance, os.path.join(work, 'outputs'))
        shown = {'image': glance.show(image_id)}
        properties = shown['image'].get('properties', {})
        downloads = {}
        for role, key in (('image', None), ('kernel', 'kernel_id'),
                          ('ramdisk', 'ramdisk_id')):
            wanted = image_id if key is None else properties.get(key)
            if not wanted:
                continue
            if key:
                shown[role] = glance.show(wanted)
            downloads[role] = os.path.join(work, 'downloaded-' + role)
            glance.openstack('image', 'save', '--file', downloads[role],
                             wanted)
        upload_seconds = time.monotonic() - started
    finally:
        glance.stop()
    command = [sys.executable, '-m', 'akanda_slim', 'verify', '--json',
               '--no-checks', '--log-dir', os.path.join(work, 'verify-logs'),
               downloads['image']]
    if 'kernel' in downloads:
        command += ['--kernel', downloads['kernel'],
                    '--initrd', downloads['ramdisk']]
    booted = subprocess.run(command, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    return {'image_id': image_id, 'output': output, 'shown': shown,
            'originals': originals, 'downloads': downloads,
            'upload_seconds': upload_seconds, 'slim': slim,
            'verify_code': booted.returncode, 'verify_stderr': booted.stderr,
            'verify': (json.loads(booted.stdout)['image']
                       if booted.stdout.strip() else {})}


@testtools.skipIf(SKIP_REASON, SKIP_REASON)
class GlanceUploadTest(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.found = uploaded()
        if 'skip' in self.found:
            self.skipTest(self.found['skip'])

    def test_image_active_with_formats_and_properties(self):
        image = self.found['shown']['image']
        self.assertEqual(('active', 'qcow2', 'bare', 'public'), (
            image['status'], image['disk_format'],
            image['container_format'], image['visibility']))
        properties = image['properties']
        self.assertEqual('virtio', properties['hw_disk_bus'])
        self.assertEqual('virtio', properties['hw_vif_model'])
        self.assertEqual('debian', properties['os_distro'])
        self.assertEqual(images.RELEASE, properties['os_version'])
        with open(self.found['slim'].report_json) as report:
            packages = len(json.load(report)['packages'])
        self.assertEqual(str(packages),
                         str(properties['akanda_slim_packages']))
        print('uploaded and downloaded in %.1f s'
              % self.found['upload_seconds'])

    def test_filesystem_image_names_its_kernel_and_ramdisk(self):
        if not self.found['slim'].kernel:
            self.skipTest('whole-disk image: no kernel or ramdisk to upload')
        shown = self.found['shown']
        properties = shown['image']['properties']
        self.assertEqual(('aki', 'aki', 'active'), (
            shown['kernel']['disk_format'],
            shown['kernel']['container_format'], shown['kernel']['status']))
        self.assertEqual(('ari', 'ari', 'active'), (
            shown['ramdisk']['disk_format'],
            shown['ramdisk']['container_format'],
            shown['ramdisk']['status']))
        self.assertEqual(properties['kernel_id'], shown['kernel']['id'])
        self.assertEqual(properties['ramdisk_id'], shown['ramdisk']['id'])
        self.assertIn('root=/dev/vda', properties['os_command_line'])

    def test_downloads_are_the_uploaded_bytes(self):
        originals = self.found['originals']
        for role, suffix in (('image', '.qcow2'), ('kernel', '.vmlinuz'),
                             ('ramdisk', '.initrd')):
            if role in self.found['downloads']:
                self.assertEqual(_sha256(originals[suffix]),
                                 _sha256(self.found['downloads'][role]))

    def test_downloaded_image_boots(self):
        report = self.found['verify']
        self.assertTrue(report, self.found['verify_stderr'][-3000:])
        self.assertEqual(0, self.found['verify_code'],
                         self.found['verify_stderr'][-2000:])
        boot = report['boots'][0]
        self.assertGreater(boot['boot_finished_seconds'], 0)
        self.assertGreater(boot['memory_used_kib'], 0)
        print('downloaded image: SSH after %.1f s, boot finished after '
              '%.1f s' % (boot['ssh_ready_seconds'],
                          boot['boot_finished_seconds']))
