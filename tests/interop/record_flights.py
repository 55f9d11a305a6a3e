"""Record real server flights for the replay and fuzz tests.

    python -m tests.interop.record_flights      # rewrites tests/device/tls_flights.py

Runs the engine (fixed client random) against `openssl s_server -rev` for every suite and
`openssl s_server -no_etm` for MAC-then-encrypt CBC,
and the python-mbedtls server for CCM; sends one line, and stores every byte the server
sent. Replaying those bytes into an engine with the same random reproduces the session
exactly (the server's bytes depend only on what the engine sent, which is deterministic).
"""

import os
import socket

from tests.interop import peers
from device.tls.stream import wrap_socket

OUT = os.path.join(peers.ROOT, "tests", "device", "tls_flights.py")
RANDOM = bytes(range(0x40, 0x60))
LINE = b"hello sensorkit\n"


class Tap:
    """A socket wrapper that keeps a copy of every byte received."""

    def __init__(self, sock):
        self.sock = sock
        self.received = bytearray()

    def recv_into(self, buf):
        n = self.sock.recv_into(buf)
        self.received += buf[:n]
        return n

    def sendall(self, data):
        self.sock.sendall(data)

    def setsockopt(self, *a):
        self.sock.setsockopt(*a)

    def close(self):
        self.sock.close()


def record(peer, suite, expect):
    with peer:
        s = Tap(socket.create_connection(("127.0.0.1", peer.port), timeout=10))
        t = wrap_socket(s, peers.IDENTITY, peers.PSK, suites=[suite], random=lambda n: RANDOM[:n])
        t.write(LINE)
        got = b""
        while len(got) < len(expect):
            got += t.read()
        assert got == expect, got
        server = bytes(s.received)
        t.close()
    return server


def main():
    flights = []
    for suite in ("ccm", "ccm8", "gcm", "cbc"):
        flights.append(("openssl_" + suite, suite, LINE[:-1][::-1] + b"\n",
                        record(peers.openssl(suite), suite, LINE[:-1][::-1] + b"\n")))
    flights.append(("openssl_cbc_mte", "cbc", LINE[:-1][::-1] + b"\n",
                    record(peers.openssl("cbc", extra=["-no_etm"]), "cbc", LINE[:-1][::-1] + b"\n")))
    flights.append(("mbedtls_ccm", "ccm", LINE, record(peers.mbedtls("ccm"), "ccm", LINE)))
    with open(OUT, "w") as f:
        f.write('"""Real server flights recorded by `python -m tests.interop.record_flights` (do not edit).\n\n'
                "Each: the engine with client random RANDOM offered only SUITE, sent SENT after the\n"
                'handshake and read REPLY; SERVER is every byte the real server sent."""\n\n')
        f.write("IDENTITY = %r\nPSK = %r\nRANDOM = %r\nSENT = %r\n\n" % (peers.IDENTITY, peers.PSK_HEX,
                                                                     RANDOM.hex(), LINE))
        f.write("FLIGHTS = {\n")
        for name, suite, reply, server in flights:
            f.write("    %r: (%r, %r,\n" % (name, suite, reply))
            for i in range(0, len(server), 48):
                f.write("        %r\n" % server[i:i + 48].hex())
            f.write("    ),\n")
        f.write("}\n")
    print("wrote %s: %d flights" % (OUT, len(flights)))


if __name__ == "__main__":
    main()
