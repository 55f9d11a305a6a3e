"""A python-mbedtls TLS 1.2 PSK echo server for the interop tests (a real peer, not a mock).

    python -m tests.interop.mbedtls_psk_server --suite TLS-PSK-WITH-AES-128-CCM \
        --psk dev=00112233... [--psk other=...] [--mfl 1024] [--hint HINT]

Listens on 127.0.0.1 (an ephemeral port), prints "ACCEPT <port>" and then, per connection,
echoes every chunk back until the client closes; one line per connection on stdout:
"HANDSHAKE OK <suite>" or "ERROR <text>". Stops when killed.
"""

import argparse
import socket
import sys

from mbedtls import tls


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", action="append", required=True)
    ap.add_argument("--psk", action="append", required=True, help="identity=HEX")
    ap.add_argument("--mfl", type=int, default=None)
    args = ap.parse_args(argv)
    store = {}
    for item in args.psk:
        ident, hexkey = item.split("=", 1)
        store[ident] = bytes.fromhex(hexkey)
    kw = {}
    if args.mfl:
        kw["max_fragmentation_length"] = tls.MaxFragmentLength({512: 1, 1024: 2, 2048: 3, 4096: 4}[args.mfl])
    conf = tls.TLSConfiguration(
        validate_certificates=False,
        ciphers=args.suite,
        lowest_supported_version=tls.TLSVersion.TLSv1_2,
        highest_supported_version=tls.TLSVersion.TLSv1_2,
        pre_shared_key_store=store,
        **kw,
    )
    ctx = tls.ServerContext(conf)
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    raw.bind(("127.0.0.1", 0))
    raw.listen(5)
    srv = ctx.wrap_socket(raw)
    print("ACCEPT %d" % raw.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn.do_handshake()
            print("HANDSHAKE OK %s" % (conn.cipher()[0] if hasattr(conn, "cipher") else ""), flush=True)
            while True:
                data = conn.recv(16384)
                if not data:
                    break
                conn.sendall(data)
        except Exception as e:  # report and serve the next connection
            print("ERROR %s" % (e,), flush=True)
        finally:
            try:
                conn.close()
            except Exception:
                pass


if __name__ == "__main__":
    sys.exit(main())
