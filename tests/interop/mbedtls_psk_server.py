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
    print("ACCEPT %d" % raw.getsockname()[1], flush=True)
    while True:
        sock, _ = raw.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(30)
        serve(ctx.wrap_buffers(), sock)


def serve(buf, sock):
    """Drive mbedTLS's in-memory TLS buffer over `sock` (python-mbedtls' own socket wrapper
    loses bytes on large writes, so the I/O is done here)."""

    def flush():
        while True:
            out = buf.peek_outgoing(65536)
            if not out:
                return
            sock.sendall(out)
            buf.consume_outgoing(len(out))

    def feed():
        data = sock.recv(65536)
        if not data:
            raise EOFError("client closed the connection")
        buf.receive_from_network(data)

    try:
        while buf._handshake_state is not tls.HandshakeStep.HANDSHAKE_OVER:
            try:
                buf.do_handshake()
            except tls.WantReadError:
                flush()
                feed()
            except tls.WantWriteError:
                flush()
        flush()
        print("HANDSHAKE OK %s" % (buf.cipher(),), flush=True)
        while True:
            try:
                data = buf.read(16384)
            except tls.WantReadError:
                flush()
                feed()
                continue
            if not data:  # nothing decrypted yet (a close shows as the 0x7880 error or EOF)
                flush()
                feed()
                continue
            off = 0
            while off < len(data):
                try:
                    off += buf.write(data[off:])
                except tls.WantWriteError:
                    pass
                flush()
    except Exception as e:  # report and serve the next connection
        try:
            flush()  # the alert mbedTLS queued, if any
        except OSError:
            pass
        if "0x7880" in str(e) or isinstance(e, EOFError):  # the client's close_notify, or EOF
            print("CLOSED close_notify", flush=True)
        else:
            print("ERROR %s" % (e,), flush=True)
    finally:
        sock.close()


if __name__ == "__main__":
    sys.exit(main())
