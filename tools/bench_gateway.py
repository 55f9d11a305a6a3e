"""Benchmark the device application against the reference gateway (medians).

    python -m tools.bench_gateway [--runs 15] [--write-docs]

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
from device.app.queue import StoreAndForwardQueue, ITSStorage
q = StoreAndForwardQueue(ITSStorage(), 128, uid_base=%(uid)d)
reading = telemetry.telemetry_read()
link = GatewayLink("127.0.0.1", %(port)d, identity.get_identity(), KEY_ID_PSK,
                   attest.psa_initial_attest_get_token, wrap_socket)
res = {"connect": [], "batch": [], "append": []}
for run in range(%(runs)d):
    for i in range(32):
        t = ticks_us()
        q.append(reading)
        res["append"].append(ticks_diff(ticks_us(), t))
    t = ticks_us()
    link.open()
    res["connect"].append(ticks_diff(ticks_us(), t))
    first, rs = q.peek(32)
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--write-docs", action="store_true", help="replace the section in docs/benchmarks.md")
    args = ap.parse_args(argv)

    import logging

    from tools import provision as prov
    from tools.gateway import Gateway, JSONLinesSink, Registry

    logging.basicConfig(level=logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="bench-gw-")
    try:
        store = os.path.join(tmp, "dev")
        psk, iak = os.urandom(32), os.urandom(32)
        iid = prov.provision(store, "bench-0001", psk, iak)
        entry = prov.registry_entry("bench-0001", psk, iak, iid, prov.code_measurements())
        sink = JSONLinesSink(os.path.join(tmp, "readings.jsonl"))
        gw = Gateway(Registry({"bench-0001": entry}), "127.0.0.1", 0, sink=sink)
        threading.Thread(target=gw.serve_forever, daemon=True).start()
        port = gw.address[1]
        rows = []
        for runtime, uid in (("cpython", 0x5A000000), ("micropython", 0x5B000000)):
            code = _DEVICE % {"root": ROOT, "store": store, "uid": uid, "port": port, "runs": args.runs}
            if runtime == "cpython":
                cmd = [sys.executable, "-c", code]
            else:
                mp = os.path.join(os.path.dirname(sys.executable), "micropython")
                cmd = [mp if os.path.exists(mp) else "micropython", "-X", "heapsize=512k", "-c", code]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
            if not line:
                raise SystemExit("%s device failed:\n%s%s" % (runtime, out.stdout, out.stderr))
            res = json.loads(line[0][7:])
            rows.append((runtime, _median_ms(res["connect"]), _median_ms(res["batch"]), _median_ms(res["append"])))
        gw.close()
        sink.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    table = ["| device runtime | connect + attest (ms) | batch of 32 acked (ms) | queue append (ms) |",
             "|---|---|---|---|"]
    for r in rows:
        table.append("| %s | %.1f | %.1f | %.2f |" % r)
    text = "\n".join(table)
    print(text)
    if args.write_docs:
        _write_docs(text, args.runs)
    return 0


def _write_docs(table, runs):
    path = os.path.join(ROOT, "docs", "benchmarks.md")
    with open(path) as f:
        doc = f.read()
    head = "## Gateway and device application"
    section = (head + "\n\nCommand: `python -m tools.bench_gateway --runs %d --write-docs` (gateway in-process with a "
               "fsync'ed JSON-lines sink; device code on CPython and on the MicroPython 1.29 unix port, TLS by the "
               "device.tls engine with TLS_PSK_WITH_AES_128_CCM, token by the attestation partition, queue in ITS "
               "on the local disk). Medians of %d runs; connect = TCP + TLS-PSK handshake + challenge/token/verdict. "
               "The batch (about 1.9 KB of readings) costs more on CPython because its crypto partition runs AES in "
               "pure Python, where MicroPython has the native `cryptolib`.\n\n"
               % (runs, runs)) + table + "\n"
    if head in doc:
        start = doc.index(head)
        nxt = doc.find("\n## ", start + len(head))
        doc = doc[:start] + section + (doc[nxt:] if nxt >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(doc)


if __name__ == "__main__":
    sys.exit(main())
