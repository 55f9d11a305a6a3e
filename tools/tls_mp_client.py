"""The engine as a client on the `micropython` command (used by `sensorkit tls-client --runtime
micropython`, the interop tests and the TLS benchmark). MicroPython-only script, no argparse:

    micropython tools/tls_mp_client.py HOST PORT IDENTITY PSK_HEX SUITES SEND_HEX WAIT_MS [native]

SUITES: comma-separated short names (ccm,ccm8,gcm,cbc). Prints "SUITE <number>", then
"RECV <hex>" per chunk read within WAIT_MS of idle time, then "CLOSED" (peer closed) or
"DONE"; on failure one line "ERROR <why>" and exit status 1.
"""

import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _here + "/..")

import socket  # noqa: E402

from device.tls import wrap_socket, TLSError  # noqa: E402


def _unhex(s):
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))


def _hex(b):
    return "".join("%02x" % x for x in b)


def main(argv):
    host, port, identity, psk_hex, suites, send_hex, wait_ms = argv[1:8]
    backend = argv[8] if len(argv) > 8 else None
    addr = socket.getaddrinfo(host, int(port))[0][-1]
    s = socket.socket()
    try:
        s.connect(addr)
        t = wrap_socket(s, identity.encode(), _unhex(psk_hex), suites=suites.split(","), backend=backend)
    except TLSError as e:
        print("ERROR handshake failed: %s" % e)
        return 1
    except OSError as e:
        print("ERROR %r" % (e,))
        return 1
    print("SUITE %d" % (t.cipher_suite or 0))
    try:
        if send_hex != "-":
            t.write(_unhex(send_hex))
        s.settimeout(int(wait_ms) / 1000)
        while True:
            try:
                data = t.read()
            except OSError:  # idle timeout
                print("DONE")
                break
            if not data:
                print("CLOSED")
                break
            print("RECV " + _hex(data))
        t.close()
    except TLSError as e:
        print("ERROR %s" % e)
        return 1
    return 0


sys.exit(main(sys.argv))
