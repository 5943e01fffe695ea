"""The appliance's REST API, called the way the orchestrator calls it.

As ``astara/api/astara_client.py`` does, on the management network:
``is_alive`` is ``GET /v1/firewall/rules`` answering 200 (within
``ALIVE_TIMEOUT``);
``interfaces`` is ``GET /v1/system/interfaces``; ``put_config`` is
``PUT /v1/system/config`` with the JSON router configuration (within
``CONFIG_TIMEOUT``). Every request runs in the management
namespace (``ip netns exec``) through ``probe http``, so it reaches the
guest over the management network's IPv6 as the orchestrator would.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

from akanda_slim import errors

PORT = 5000
# The orchestrator gives is_alive 3 s and a config PUT 90 s, for guests
# under KVM. Under TCG a first PUT takes half a minute on an idle host and
# minutes on a loaded one, and a client that gives up early only queues
# more requests behind the agent's one worker.
ALIVE_TIMEOUT = 30
CONFIG_TIMEOUT = 600
# The probe's own start and end beyond its HTTP timeout.
PROBE_MARGIN = 15


class ApiError(errors.VerificationError):
    """The agent did not answer, or answered what the caller did not want."""


class Agent:
    """The agent of one guest at ``address`` (scoped link-local or not)."""

    def __init__(self, networks, address, port=PORT, alive=lambda: True):
        self.networks = networks
        self.address = address
        self.port = port
        # False once the guest is gone (its QEMU exited, it panicked): a
        # request waiting on it ends at once instead of at its timeout.
        self.alive = alive

    def request(self, method, path, body=None, timeout=30,
                content_type=None):
        """(status, text); ApiError when no HTTP answer came."""
        command = [sys.executable, '-m', 'akanda_slim.bootcheck.probe',
                   'http', '-t', str(timeout), method, self.address,
                   str(self.port), path]
        body_file = None
        try:
            if body is not None:
                fd, body_file = tempfile.mkstemp(suffix='.json')
                with os.fdopen(fd, 'w') as out:
                    out.write(body if isinstance(body, str)
                              else json.dumps(body))
                command.append(body_file)
                if content_type:
                    command.append(content_type)
            stdout, stderr = self._run(command, timeout + PROBE_MARGIN)
        finally:
            if body_file:
                os.unlink(body_file)
        if stdout is None:
            raise ApiError('%s %s: no answer: %s' % (method, path, stderr))
        try:
            answer = json.loads(stdout)
        except ValueError:
            raise ApiError('%s %s: no answer (%s)' % (
                method, path, (stderr or stdout).strip()[-300:]))
        if 'error' in answer:
            raise ApiError('%s %s: %s' % (method, path, answer['error']))
        return answer['status'], answer['body']

    def _run(self, command, timeout):
        """(stdout, stderr) of the probe; (None, why) if it was stopped."""
        probe = self.networks.popen('mgmt', command)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return probe.communicate(timeout=1)
            except subprocess.TimeoutExpired:
                if not self.alive():
                    why = 'the guest is gone (QEMU exited or panicked)'
                elif time.monotonic() > deadline:
                    why = 'no answer within %d s' % timeout
                else:
                    continue
                probe.kill()
                probe.communicate()
                return None, why

    def json(self, method, path, body=None, timeout=30, status=200):
        got, text = self.request(method, path, body, timeout)
        if got != status:
            # A traceback's last lines say what failed.
            raise ApiError('%s %s answered %d, not %d: %s' % (
                method, path, got, status, ' / '.join(
                    line.strip() for line in text.strip().splitlines()[-6:]
                )[-800:]))
        try:
            return json.loads(text)
        except ValueError:
            raise ApiError('%s %s answered no JSON: %r' % (
                method, path, text[:200]))

    def is_alive(self):
        try:
            status, _ = self.request('GET', '/v1/firewall/rules',
                                     timeout=ALIVE_TIMEOUT)
        except ApiError:
            return False
        return status == 200

    def wait_alive(self, timeout):
        """Poll ``is_alive`` as the orchestrator does; seconds it took.

        None when ``timeout`` passed or the guest is gone (``alive``).
        """
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if not self.alive():
                return None
            if self.is_alive():
                return time.monotonic() - started
            time.sleep(1)
        return None

    def interfaces(self):
        return self.json('GET', '/v1/system/interfaces')['interfaces']

    def config(self):
        return self.json('GET', '/v1/system/config')['configuration']

    def put_config(self, config):
        return self.json('PUT', '/v1/system/config', config,
                         timeout=CONFIG_TIMEOUT)['configuration']
