"""End-to-end benchmark: the device application against the reference gateway (medians).

    python -m tools.bench_e2e [--runs 15]          # Markdown on stdout
    sensorkit bench e2e --write docs/benchmarks.md  # the "End to end" section (section() below)

Provisions a simulated device in a temporary store, runs the gateway in this process (a
thread, JSON-lines sink in the same temporary folder), then on CPython (in this process)
and on MicroPython (the `micropython` command, the same device code) measures:
  - connect: TCP + TLS-PSK handshake (device.tls engine, CCM) + challenge/token/verdict;
  - batch: one batch of 32 queued readings sent and acknowledged (gateway decode, dedupe,
    append + flush + fsync, ack);
  - append: one reading appended to the ITS queue (slot + meta writes).
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
    res["batch_bytes"] = P.batch_overhead(first, 0, len(rs)) - P.HEADER + sum(len(r) for r in rs)
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


def markdown(results, runs):
    lines = [
        "Gateway in-process with a fsync'ed JSON-lines sink; device code on CPython and on the MicroPython 1.29 "
        "unix port, TLS by the device.tls engine (TLS_PSK_WITH_AES_128_CCM), token by the attestation partition, "
        "queue in ITS on the local disk. Medians of %d runs; connect = TCP + TLS-PSK handshake + "
        "challenge/token/verdict; batch = 32 queued readings sent and acknowledged (gateway decode, dedupe, append "
        "+ flush + fsync, ack). The batch costs more on CPython because its crypto partition runs AES in pure "
        "Python, where MicroPython has the native `cryptolib`." % runs,
        "",
        "| device runtime | connect + attest (ms) | batch of 32 acked (ms) | queue append (ms) | batch payload bytes / reading |",
        "|---|---|---|---|---|",
    ]
    for rt, r in results.items():
        lines.append("| %s | %.1f | %.1f | %.2f | %.1f |" % (rt, r["connect_ms"], r["batch_ms"], r["append_ms"],
                                                          r["batch_bytes"] / 32.0))
    return "\n".join(lines) + "\n"


def section(quick=False):
    from tools.bench import Section

    runs = 5 if quick else 15
    results = measure(runs)
    chart = {
        "handshake_ms": [["%s device: handshake + attestation" % rt, round(r["connect_ms"], 2)]
                         for rt, r in results.items()],
        "bytes_per_reading": [["gateway batch of 32, payload only", round(results["cpython"]["batch_bytes"] / 32.0, 1)]],
    }
    return Section(markdown(results, runs), command="python -m tools.bench_e2e --runs %d" % runs,
                   data={"results": results, "chart": chart})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args(argv)
    print(markdown(measure(args.runs), args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
