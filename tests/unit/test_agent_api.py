"""agent_api.Agent's requests, with a stand-in for the probe process."""

import json
import subprocess
import sys
import time

import testtools

from akanda_slim.bootcheck import agent_api


class Networks:
    """Runs the probe's stand-in, a Python snippet, in no namespace."""

    def __init__(self, snippet):
        self.snippet = snippet
        self.commands = []

    def popen(self, side, command):
        self.commands.append((side, command))
        return subprocess.Popen([sys.executable, '-c', self.snippet],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def answering(status, body):
    return 'print(%r)' % json.dumps({'status': status, 'body': body})


class AgentRequestTest(testtools.TestCase):

    def test_answer_through_the_management_network(self):
        nets = Networks(answering(200, '{"interfaces": []}'))
        agent = agent_api.Agent(nets, 'fe80::1%br0')
        self.assertEqual({'interfaces': []}, agent.json(
            'GET', '/v1/system/interfaces'))
        side, command = nets.commands[0]
        self.assertEqual('mgmt', side)
        self.assertEqual(['GET', 'fe80::1%br0', '5000',
                          '/v1/system/interfaces'], command[-4:])

    def test_error_status_names_the_traceback_tail(self):
        nets = Networks(answering(500, 'Traceback\n  ...\nValueError: x'))
        agent = agent_api.Agent(nets, 'fe80::1%br0')
        error = self.assertRaises(agent_api.ApiError, agent.json, 'PUT',
                                  '/v1/system/config', {})
        self.assertIn('answered 500, not 200', str(error))
        self.assertIn('ValueError: x', str(error))

    def test_gone_guest_ends_the_request_at_once(self):
        nets = Networks('import time; time.sleep(60)')
        agent = agent_api.Agent(nets, 'fe80::1%br0', alive=lambda: False)
        started = time.monotonic()
        error = self.assertRaises(agent_api.ApiError, agent.request, 'PUT',
                                  '/v1/system/config', {}, timeout=600)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn('the guest is gone', str(error))

    def test_silent_guest_ends_at_the_timeout(self):
        nets = Networks('import time; time.sleep(60)')
        agent = agent_api.Agent(nets, 'fe80::1%br0')
        self.patch(agent_api, 'PROBE_MARGIN', 2)
        error = self.assertRaises(agent_api.ApiError, agent.request, 'GET',
                                  '/v1/firewall/rules', timeout=0)
        self.assertIn('no answer within 2 s', str(error))

    def test_wait_alive_ends_once_the_guest_is_gone(self):
        nets = Networks(answering(200, '[]'))
        agent = agent_api.Agent(nets, 'fe80::1%br0', alive=lambda: False)
        self.assertIsNone(agent.wait_alive(60))
        self.assertEqual([], nets.commands)
