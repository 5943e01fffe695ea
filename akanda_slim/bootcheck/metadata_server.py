"""Nova's metadata service for one guest connection, on stdin/stdout.

QEMU's user network starts this once per guest connection to
169.254.169.254:80 (``guestfwd=...-cmd:``), with the connection as its
standard input and output (and error: nothing may be printed). It answers
one HTTP request from the JSON file of ``instance.metadata_api`` answers
and exits. Bounded: the request line and headers are capped, the whole
exchange must end within ``LIFETIME`` seconds, GET and HEAD only. Each
request is appended to ``REQUESTS_LOG`` beside the answers file, so verify
can show what the guest asked for. At most ``SLOTS`` of these processes
serve at once, however many connections the guest opens: each holds one
of the slot locks beside the answers file, and one that finds none free
closes its connection at once.

Usage: python -m akanda_slim.bootcheck.metadata_server ANSWERS.json
"""

import fcntl
import http.server
import json
import os
import signal
import sys

LIFETIME = 30
SLOTS = 4
MAX_ANSWERS_BYTES = 1 << 20
REQUESTS_LOG = 'metadata-requests.log'


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``answers`` (path -> text); 404 for anything else."""

    protocol_version = 'HTTP/1.0'
    server_version = 'akanda-slim-metadata'
    answers = {}
    log_path = os.devnull

    def setup(self):
        # The connection is our stdin and stdout, not a socket we accepted.
        self.rfile = os.fdopen(0, 'rb', buffering=0)
        self.wfile = os.fdopen(1, 'wb', buffering=0)

    def finish(self):
        self.wfile.flush()

    def _answer(self, body):
        path = self.path.split('?', 1)[0]
        text = self.answers.get(path)
        if text is None:
            self.send_error(404)
            return
        data = text.encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json'
                         if path.endswith('.json') else 'text/plain')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):
        self._answer(body=True)

    def do_HEAD(self):
        self._answer(body=False)

    def log_message(self, format, *args):
        with open(self.log_path, 'a') as log:
            log.write((format % args) + '\n')


def _expire(signum, frame):
    os._exit(1)


def load_answers(path):
    """The answers file as a dict; bounded in size."""
    with open(path, 'rb') as data:
        raw = data.read(MAX_ANSWERS_BYTES + 1)
    if len(raw) > MAX_ANSWERS_BYTES:
        raise ValueError('%s is larger than %d bytes' % (
            path, MAX_ANSWERS_BYTES))
    return json.loads(raw)


def take_slot(directory, slots=SLOTS):
    """An open, locked slot file, or None when all ``slots`` are taken."""
    for number in range(slots):
        slot = open(os.path.join(directory, '.metadata-slot-%d' % number),
                    'a')
        try:
            fcntl.flock(slot, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return slot
        except OSError:
            slot.close()
    return None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGALRM, _expire)
    signal.alarm(LIFETIME)
    slot = take_slot(os.path.dirname(os.path.abspath(argv[0])))
    if slot is None:
        return 1
    Handler.answers = load_answers(argv[0])
    Handler.log_path = os.path.join(os.path.dirname(argv[0]), REQUESTS_LOG)
    Handler(None, ('169.254.169.254', 80), None)
    return 0


if __name__ == '__main__':
    sys.exit(main())
