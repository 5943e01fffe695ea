"""Tiny network clients and servers run inside the host's namespaces.

``python -m akanda_slim.bootcheck.probe serve ADDRESS PORT`` answers one TCP
connection with the peer address it saw (so the client learns whether NAT
rewrote it); ``connect ADDRESS PORT`` prints that answer; ``dns SERVER
NAME`` asks SERVER for NAME's A record and prints the addresses.
"""

import random
import socket
import struct
import sys


def serve_once(address, port, timeout=120):
    family = socket.AF_INET6 if ':' in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((address, port))
        server.listen(1)
        server.settimeout(timeout)
        print('listening', flush=True)
        connection, peer = server.accept()
        with connection:
            connection.sendall(('%s\n' % peer[0]).encode())
        return peer[0]


def connect(address, port, timeout=20):
    with socket.create_connection((address, port), timeout=timeout) as conn:
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


def main(argv):
    command, arguments = argv[0], argv[1:]
    if command == 'serve':
        print(serve_once(arguments[0], int(arguments[1])))
    elif command == 'connect':
        print(connect(arguments[0], int(arguments[1])))
    elif command == 'dns':
        print(' '.join(resolve(arguments[0], arguments[1])))
    else:
        raise SystemExit('unknown probe %s' % command)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
