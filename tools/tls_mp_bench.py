"""MicroPython side of `python -m tools.bench_tls` (run by it on the `micropython` command).

    micropython tls_mp_bench.py compare HOST PORT IDENTITY PSK_HEX SUITE N_HANDSHAKES
    micropython tls_mp_bench.py throughput HOST IDENTITY PSK_HEX N_RECORDS BACKEND:SUITE:PORT ...
    micropython tls_mp_bench.py handshakes HOST IDENTITY PSK_HEX N_HANDSHAKES BACKEND:SUITE:PORT ...
    micropython tls_mp_bench.py floor   HOST PORT IDENTITY PSK_HEX SUITE BACKEND N_RECORDS [tls-only|mailbox:PORT]
    micropython tls_mp_bench.py wire    HOST PORT IDENTITY PSK_HEX SUITE BACKEND N_RECORDS
    micropython tls_mp_bench.py mem     HOST PORT IDENTITY PSK_HEX SUITE
    micropython tls_mp_bench.py cost    HOST PORT IDENTITY PSK_HEX SUITE
    micropython tls_mp_bench.py imports STEP
    micropython tls_mp_bench.py secure PORT [PARTITION ...]
    micropython tls_mp_bench.py icount  HOST PORT IDENTITY PSK_HEX SUITE N_HANDSHAKES N_ECHOES

compare: engine and native handshakes interleaved (one of each per round); prints "HS engine <us>",
"HS native <us>". handshakes: the same for any targets (e.g. engine CCM, engine GCM and native GCM in one
process, one handshake of each per round), prints "HS BACKEND-SUITE <us>". throughput: one connection per target, each to its own server (`openssl s_server` serves one
connection at a time), writing N_RECORDS 64-byte records (63 bytes + newline, echoed reversed by `openssl
s_server -rev`) and reading the replies with readinto() into one reused buffer, the targets taking turns in
ROUNDS chunks; prints "TP BACKEND-SUITE <us>" per target. floor: one handshake + N_RECORDS echoed records, prints "OK" (tls-only: the secure world
runs only the ITS and crypto partitions instead of the default set; mailbox:PORT: no secure world in
this process at all -- every PSA call goes through device.psa.mailbox to the one `secure` serves on
127.0.0.1:PORT, as a TF-M dual-core NSPE reaches its SPE; `python -m tools.bench_tls` measures its heap floors
with tools/tls_mp_floor.py from .mpy instead, and this mode, compiled from source, for one explaining row). secure: start the secure world (the default
partitions, or the ones named), listen on 127.0.0.1:PORT, print "READY", answer one mailbox client, exit. wire: the same
with N_RECORDS records (0 = handshake and close only), prints "OK". mem: heap used by the
secure world, the TLS engine's code and one open connection ("MEM world|code|connection <bytes>").
cost: microseconds per psa_call, per partition AEAD of 64 bytes and per engine seal, bytes allocated
by a psa_call and by a seal, psa_calls in one handshake ("COST ...").
"""

import gc
import sys
import time

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _here + "/..")

import socket  # noqa: E402

from device.tls import wrap_socket  # noqa: E402

RECORD = b"r" * 63 + b"\n"
ROUNDS = 10  # throughput: the connections take turns in this many chunks


def _unhex(s):
    return bytes(int(s[i:i + 2], 16) for i in range(0, len(s), 2))


def connect(addr, identity, psk, suite, backend):
    s = socket.socket()
    s.connect(addr)
    return wrap_socket(s, identity, psk, suites=[suite], backend=None if backend == "engine" else backend)


_RBUF = bytearray(1024)  # one receive buffer for both backends (read() would allocate per call)


def records(t, n):
    for _ in range(n):
        t.write(RECORD)
    want = n * len(RECORD)
    got = 0
    while got < want:  # never ask for more than is still due: MicroPython's native readinto fills the buffer
        k = t.readinto(_RBUF, min(len(_RBUF), want - got))
        if not k:
            raise OSError("server closed after %d of %d bytes" % (got, want))
        got += k


def mem(addr, identity, psk, suite):
    """Heap in use (gc.mem_alloc after collect) at each step, loaded from .mpy."""
    gc.collect()
    base = gc.mem_alloc()
    from device.psa import crypto

    crypto.psa_generate_random(4)  # boots the secure world: SPM, crypto partition, ITS
    gc.collect()
    world = gc.mem_alloc()
    import device.tls.connection  # noqa: F401
    import device.tls.stream  # noqa: F401

    gc.collect()
    code = gc.mem_alloc()
    t = connect(addr, identity, psk, suite, "engine")
    records(t, 10)
    gc.collect()
    conn = gc.mem_alloc()
    t.close()
    print("MEM world %d" % (world - base))
    print("MEM code %d" % (code - world))
    print("MEM connection %d" % (conn - code))


class _Counting:
    """A psa backend that counts the calls it passes on (psa_calls per handshake)."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def version(self, sid):
        return self.inner.version(sid)

    def connect(self, sid, version):
        self.calls += 1
        return self.inner.connect(sid, version)

    def call(self, handle, type, in_vec=(), out_vec=()):
        self.calls += 1
        return self.inner.call(handle, type, in_vec, out_vec)

    def close(self, handle):
        self.calls += 1
        return self.inner.close(handle)


def _alloc(fn, n=20):
    """Bytes allocated per call of fn (GC off while counting, so nothing is reclaimed meanwhile)."""
    fn()
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        for _ in range(n):
            fn()
        return (gc.mem_alloc() - a) // n
    finally:
        gc.enable()


def cost(addr, identity, psk, suite):
    """Where a record's time goes: one psa_call round trip, the partition's AEAD, the engine's seal;
    the bytes each allocates; and the psa_calls of one handshake (and of handshake + close)."""
    from device import psa
    from device.psa import crypto
    from device.tls import keys

    n = 300
    key = keys.import_psk(b"k" * 16)
    t0 = time.ticks_us()
    for _ in range(n):
        crypto.psa_get_key_attributes(key)  # about the smallest call there is
    print("COST psa_call %d" % (time.ticks_diff(time.ticks_us(), t0) // n))
    print("COST alloc_psa_call %d" % _alloc(lambda: crypto.psa_get_key_attributes(key)))
    ms = keys.master_secret(key, bytes(32), bytes(32))
    for name, s in (("ccm", 0xC0A4), ("gcm", 0x00A8)):
        p = keys.record_protection(ms, s, bytes(32), bytes(32))
        pt = b"x" * 64
        t0 = time.ticks_us()
        for _ in range(n):
            crypto.psa_aead_encrypt(p.write_key, p.alg, bytes(12), bytes(13), pt)
        print("COST aead_%s %d" % (name, time.ticks_diff(time.ticks_us(), t0) // n))
        t0 = time.ticks_us()
        for _ in range(n):
            p.seal(23, pt)
        print("COST seal_%s %d" % (name, time.ticks_diff(time.ticks_us(), t0) // n))
        print("COST alloc_seal_%s %d" % (name, _alloc(lambda: p.seal(23, pt), 3)))
        p.destroy()
    keys.destroy(ms)
    keys.destroy(key)
    counting = _Counting(psa.backend())
    prev = psa.set_backend(counting)
    try:
        t = connect(addr, identity, psk, suite, "engine")
        print("COST calls_handshake %d" % counting.calls)
        t.close()
        print("COST calls_handshake_close %d" % counting.calls)
    finally:
        psa.set_backend(prev)


def imports(step):
    """Load the code in layers (for heap floors): 0 SPM, 1 + crypto wrappers and partition,
    2 + the TLS engine, 3 + boot the secure world."""
    import device.psa.spm  # noqa: F401

    if step >= 1:
        import device.partitions.crypto  # noqa: F401
        import device.psa.crypto  # noqa: F401
    if step >= 2:
        import device.tls.connection  # noqa: F401
        import device.tls.stream  # noqa: F401
    if step >= 3:
        device.psa.crypto.psa_generate_random(4)
    print("OK")


def icount(addr, identity, psk, suite, n_hs, n_echo):
    """For tools/bench_icount (run under valgrind): a warm-up connection, n_hs handshakes (+ close), then
    one connection echoing n_echo records; runs differing only in n_hs or n_echo isolate their cost."""
    t = connect(addr, identity, psk, suite, "engine")  # imports, secure world boot
    records(t, 1)
    t.close()
    for _ in range(n_hs):
        connect(addr, identity, psk, suite, "engine").close()
    t = connect(addr, identity, psk, suite, "engine")
    for _ in range(n_echo):
        records(t, 1)
    t.close()
    print("OK")


def throughput(host, identity, psk_hex, n_rec, targets):
    """One connection per target ("BACKEND:SUITE:PORT", each its own server), all open at once; each writes
    n_rec 64-byte records and reads their echoes, in ROUNDS chunks taken in turn (target 1, 2, 3, 1, ...), so
    that the machine's speed drifting during the run hits every target alike. Prints "TP BACKEND-SUITE <us>"."""
    psk = _unhex(psk_hex)
    conns = []
    # native targets connect first: mbedTLS allocates its 16 KB record buffers in one piece each, which a
    # 256k heap that already holds the secure world and two engine connections no longer has in one hole
    for target in sorted(targets, key=lambda t: not t.startswith("native:")):
        backend, suite, port = target.split(":")
        t = connect(socket.getaddrinfo(host, int(port))[0][-1], identity.encode(), psk, suite, backend)
        records(t, 10)  # warm up
        conns.append([backend + "-" + suite, t, 0])
    chunk = max(1, n_rec // ROUNDS)
    gc.collect()
    for i in range(0, n_rec, chunk):
        for c in conns:
            t0 = time.ticks_us()
            records(c[1], min(chunk, n_rec - i))
            c[2] += time.ticks_diff(time.ticks_us(), t0)
    for name, t, us in conns:
        print("TP %s %d" % (name, us))
        t.close()


def handshakes(host, identity, psk_hex, n_hs, targets):
    """n_hs handshakes (+ close) per target ("BACKEND:SUITE:PORT"), one of each target per round after a
    warm-up round; prints "HS BACKEND-SUITE <us>" per handshake."""
    psk = _unhex(psk_hex)
    addrs = []
    for target in targets:
        backend, suite, port = target.split(":")
        addrs.append((backend, suite, socket.getaddrinfo(host, int(port))[0][-1]))
    for i in range(n_hs + 1):
        for backend, suite, addr in addrs:
            gc.collect()
            t0 = time.ticks_us()
            t = connect(addr, identity.encode(), psk, suite, backend)
            dt = time.ticks_diff(time.ticks_us(), t0)
            t.close()
            if i:  # the first round warms up (imports, first connection)
                print("HS %s-%s %d" % (backend, suite, dt))


def secure(port, partitions):
    """The SPE of a dual-image run: answer one NS client's mailbox requests on 127.0.0.1:port."""
    from device.psa import spe_mailbox, spm

    spm.configure(partitions=partitions or None)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    srv.listen(1)
    print("READY")
    conn, _ = srv.accept()
    srv.close()
    spe_mailbox.serve(conn)
    conn.close()


def attach_mailbox(port):
    """Route device.psa through a mailbox to the secure world on 127.0.0.1:port."""
    from device import psa
    from device.psa.mailbox import MailboxClient

    s = socket.socket()
    s.connect(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    psa.set_backend(MailboxClient(s))


def main(argv):
    if argv[1] == "imports":
        return imports(int(argv[2]))
    if argv[1] == "secure":
        return secure(int(argv[2]), argv[3:])
    if argv[1] == "throughput":
        return throughput(argv[2], argv[3], argv[4], int(argv[5]), argv[6:])
    if argv[1] == "handshakes":
        return handshakes(argv[2], argv[3], argv[4], int(argv[5]), argv[6:])
    mode, host, port, identity, psk_hex, suite = argv[1:7]
    addr = socket.getaddrinfo(host, int(port))[0][-1]
    identity = identity.encode()
    psk = _unhex(psk_hex)
    if mode == "cost":
        cost(addr, identity, psk, suite)
    elif mode == "icount":
        icount(addr, identity, psk, suite, int(argv[7]), int(argv[8]))
    elif mode == "mem":
        mem(addr, identity, psk, suite)
    elif mode == "compare":
        n_hs = int(argv[7])
        backends = ("engine", "native") if suite in ("gcm", "cbc") else ("engine",)  # native: no CCM
        for i in range(n_hs + 1):
            for backend in backends:
                gc.collect()
                t0 = time.ticks_us()
                t = connect(addr, identity, psk, suite, backend)
                dt = time.ticks_diff(time.ticks_us(), t0)
                t.close()
                if i:  # the first round warms up (imports, first connection)
                    print("HS %s %d" % (backend, dt))
    else:
        backend, n_rec = argv[7], int(argv[8])
        world = argv[9] if len(argv) > 9 else ""
        if world == "tls-only":  # a secure world with just what TLS needs
            from device.psa import spm

            spm.configure(partitions=["its", "crypto"])
        elif world.startswith("mailbox:"):  # no secure world here: the SPE runs in another process
            attach_mailbox(int(world[8:]))
        t = connect(addr, identity, psk, suite, backend)
        if n_rec:
            records(t, n_rec)
        t.close()
        print("OK")


main(sys.argv)
