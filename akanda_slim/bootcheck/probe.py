"""Tiny network clients and servers run inside the host's namespaces.

``python -m akanda_slim.bootcheck.probe serve ADDRESS PORT`` answers one TCP
connection with the peer address it saw (so the client learns whether NAT
rewrote it); ``connect ADDRESS PORT [SOURCE]`` prints that answer;
``dns SERVER NAME`` asks SERVER for NAME's A record and prints the addresses;
``http [-t SECONDS] METHOD HOST PORT PATH [BODY_FILE [CONTENT_TYPE]]``
makes one HTTP request (HOST may be a scoped IPv6 link-local address) and
prints its status and body as JSON; ``metadata ADDRESS PORT`` stands in for the
orchestrator's metadata service: it answers each GET with the request's
path and the proxy's headers as JSON, for at most ``METADATA_SECONDS``;
``echo ADDRESS PORT`` echoes one connection's lines and ``hold ADDRESS PORT
SOURCE SECONDS`` keeps a connection busy, printing each echo's time.
"""

import http.client
import http.server
import json
import random
import socket
import struct
import sys
import time


def accept_one(address, port, timeout):
    """One connection accepted on ``address``:``port`` within ``timeout``.

    Prints ``listening`` once bound; returns (connection, peer address).
    """
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, int(port)))
        server.listen(1)
        server.settimeout(timeout)
        print('listening', flush=True)
        connection, peer = server.accept()
        return connection, peer[0]


def serve_once(address, port, timeout=120):
    connection, peer = accept_one(address, port, timeout)
    with connection:
        connection.sendall(('%s\n' % peer).encode())
    return peer


def connect(address, port, source=None, timeout=20):
    """Connect (from ``source`` when given); the line the server sends."""
    bind = (source, 0) if source else None
    with socket.create_connection((address, port), timeout=timeout,
                                  source_address=bind) as conn:
        return conn.makefile().readline().strip()


def dns_query(name, query_id=None):
    """A DNS query packet for ``name``'s A record."""
    query_id = random.randrange(65536) if query_id is None else query_id
    header = struct.pack('!HHHHHH', query_id, 0x0100, 1, 0, 0, 0)
    labels = b''.join(bytes([len(part)]) + part.encode()
                      for part in name.rstrip('.').split('.'))
    return header + labels + b'\0' + struct.pack('!HH', 1, 1)


def _skip_name(packet, offset):
    while True:
        length = packet[offset]
        if length & 0xc0 == 0xc0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += length + 1


def dns_answers(packet):
    """The IPv4 addresses in a DNS response's answer section."""
    _, flags, questions, answers = struct.unpack('!HHHH', packet[:8])
    if flags & 0x000f:
        raise ValueError('DNS error code %d' % (flags & 0x000f))
    offset = 12
    for _ in range(questions):
        offset = _skip_name(packet, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = _skip_name(packet, offset)
        kind, _, _, length = struct.unpack('!HHIH', packet[offset:offset + 10])
        offset += 10
        if kind == 1 and length == 4:
            addresses.append(socket.inet_ntoa(packet[offset:offset + 4]))
        offset += length
    return addresses


def resolve(server, name, timeout=10):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(timeout)
        client.sendto(dns_query(name), (server, 53))
        return dns_answers(client.recv(4096))


def http_request(method, host, port, path, body=None, timeout=10,
                 content_type='application/json'):
    """One HTTP request; (status, body text). Raises OSError."""
    connection = http.client.HTTPConnection(host, int(port),
                                            timeout=timeout)
    try:
        bare = host.split('%')[0]
        headers = {'Host': '[%s]:%s' % (bare, port) if ':' in bare
                   else '%s:%s' % (bare, port)}
        if body is not None:
            headers['Content-Type'] = content_type
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode('utf-8', 'replace')
    finally:
        connection.close()


METADATA_SECONDS = 600
PROXY_HEADERS = ('X-Forwarded-For', 'X-Instance-ID', 'X-Tenant-ID',
                 'X-Quantum-Network-ID')


class MetadataHandler(http.server.BaseHTTPRequestHandler):
    """The orchestrator's metadata service, as the agent's proxy sees it.

    Every GET answers the request's path and the proxy's headers.
    """

    def do_GET(self):
        answer = {'path': self.path}
        answer.update({name: self.headers.get(name, '')
                       for name in PROXY_HEADERS})
        data = json.dumps(answer, sort_keys=True).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class _Server6(http.server.HTTPServer):
    address_family = socket.AF_INET6


def serve_metadata(address, port, seconds=METADATA_SECONDS):
    server_class = _Server6 if ':' in address else http.server.HTTPServer
    with server_class((address, int(port)), MetadataHandler) as server:
        server.timeout = 1
        print('listening', flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            server.handle_request()


def echo_server(address, port, seconds=METADATA_SECONDS):
    """Echo every line of one connection back, for at most ``seconds``."""
    connection, _ = accept_one(address, port, seconds)
    connection.settimeout(seconds)
    with connection:
        for line in connection.makefile('rb'):
            connection.sendall(line)


def hold(address, port, source, seconds, interval=0.2, timeout=5):
    """Hold one connection for ``seconds``, a line every ``interval``.

    Prints ``ok TIME`` for each echo, ``broken TIME REASON`` when it breaks.
    """
    deadline = time.monotonic() + float(seconds)
    try:
        connection = socket.create_connection(
            (address, int(port)), timeout=timeout,
            source_address=(source, 0) if source != '-' else None)
    except OSError as failure:
        print('broken %.3f %s' % (time.time(), failure), flush=True)
        return 1
    replies = connection.makefile('rb')
    with connection:
        print('connected %.3f' % time.time(), flush=True)
        count = 0
        while time.monotonic() < deadline:
            count += 1
            try:
                connection.sendall(b'%d\n' % count)
                if replies.readline().strip() != b'%d' % count:
                    raise OSError('closed or wrong echo')
            except OSError as failure:
                print('broken %.3f %s' % (time.time(), failure), flush=True)
                return 1
            print('ok %.3f' % time.time(), flush=True)
            time.sleep(interval)
    return 0


def main(argv):
    command, arguments = argv[0], argv[1:]
    if command == 'serve':
        print(serve_once(arguments[0], int(arguments[1])))
    elif command == 'connect':
        print(connect(arguments[0], int(arguments[1]), *arguments[2:3]))
    elif command == 'dns':
        try:
            print(' '.join(resolve(arguments[0], arguments[1])))
        except (OSError, ValueError) as failure:
            sys.stderr.write('dns: %s\n' % (failure or 'timed out'))
            return 1
    elif command == 'http':
        body, options = None, {}
        if arguments[:1] == ['-t']:
            options['timeout'] = float(arguments[1])
            arguments = arguments[2:]
        if len(arguments) > 4:
            with open(arguments[4], 'rb') as data:
                body = data.read()
        if len(arguments) > 5:
            options['content_type'] = arguments[5]
        try:
            status, text = http_request(*arguments[:4], body=body, **options)
        except OSError as failure:
            print(json.dumps({'error': str(failure)}))
            return 1
        print(json.dumps({'status': status, 'body': text}))
    elif command == 'metadata':
        serve_metadata(arguments[0], arguments[1])
    elif command == 'echo':
        echo_server(arguments[0], arguments[1])
    elif command == 'hold':
        return hold(*arguments[:4])
    else:
        raise SystemExit('unknown probe %s' % command)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
