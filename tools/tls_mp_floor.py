"""The heap-floor run of `python -m tools.bench_tls`, alone: small, so that it can be loaded from .mpy.

    micropython -X heapsize=N -m tools.tls_mp_floor HOST PORT IDENTITY PSK_HEX SUITE BACKEND N_RECORDS [WORLD]
                [gc_threshold=BYTES]

(cwd: a tree made by tools.bench_tls.compile_tree, where this module is tools/tls_mp_floor.mpy.) One
handshake + N_RECORDS echoed 64-byte records (63 bytes + newline, echoed reversed by `openssl s_server
-rev`, read with readinto() into one reused 1 KB buffer), then close; prints "OK". WORLD: none = the default
secure world in this process; "tls-only" = a secure world of just the ITS and crypto partitions;
"mailbox:PORT" = no secure world here at all, every PSA call goes through device.psa.mailbox to the one
`tools/tls_mp_bench.py secure PORT` serves on 127.0.0.1:PORT (TF-M's dual-core split). gc_threshold=BYTES:
the application first calls gc.threshold(BYTES), MicroPython's knob for collecting garbage every BYTES
allocated instead of only when the heap is full (less fragmentation; an explaining row of the bench).

The heap floor is meant to measure the library, loaded from .mpy. tools/tls_mp_bench.py (every bench mode,
~280 lines) compiled from source puts the compiler's parse tree and its code objects in the measured heap;
this driver, compiled by mpy-cross, adds ~3 KB (~2 KB of code and its 1 KB receive buffer).
`tls_mp_bench.py floor ...` runs the same steps from a source checkout.
"""

import socket
import sys

from device.tls import wrap_socket

RECORD = b"r" * 63 + b"\n"
_RBUF = bytearray(1024)  # the application's receive buffer, allocated up front as an application would


def run(args):
    host, port, identity, psk_hex, suite, backend, n_rec = args[:7]
    world = ""
    for a in args[7:]:
        if a.startswith("gc_threshold="):
            import gc

            gc.threshold(int(a[13:]))
        else:
            world = a
    if world == "tls-only":  # a secure world with just what TLS needs
        from device.psa import spm

        spm.configure(partitions=["its", "crypto"])
    elif world.startswith("mailbox:"):  # no secure world here: the SPE runs in another process
        from device import psa
        from device.psa.mailbox import MailboxClient

        s = socket.socket()
        s.connect(socket.getaddrinfo("127.0.0.1", int(world[8:]))[0][-1])
        psa.set_backend(MailboxClient(s))
    psk = bytes(int(psk_hex[i:i + 2], 16) for i in range(0, len(psk_hex), 2))
    s = socket.socket()
    s.connect(socket.getaddrinfo(host, int(port))[0][-1])
    t = wrap_socket(s, identity.encode(), psk, suites=[suite], backend=None if backend == "engine" else backend)
    n = int(n_rec)
    for _ in range(n):
        t.write(RECORD)
    buf = _RBUF
    want, got = n * len(RECORD), 0
    while got < want:  # never ask for more than is still due: MicroPython's native readinto fills the buffer
        k = t.readinto(buf, min(len(buf), want - got))
        if not k:
            raise OSError("server closed after %d of %d bytes" % (got, want))
        got += k
    t.close()
    print("OK")


if __name__ == "__main__":
    run(sys.argv[1:])
