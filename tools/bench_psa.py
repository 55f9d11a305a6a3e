"""Benchmark: psa_call round-trip overhead through the in-process SPM, on MicroPython (and CPython).

    python -m tools.bench_psa [--runs 51] [--calls 1000] [--heapsize 256k] [--source DIR]

Each run times `calls` psa_calls with time.ticks_us and reports µs per call; the figure is the
median over `runs` (the minimum, printed beside it, shows the machine when quiet). Three shapes:
a null call (no vectors), a 16-byte echo (one in-vector, one out-vector), and psa_its_get of a
16-byte asset (the NS wrapper + ITS partition + a file read and its SHA-256 check).
The MicroPython figures come from the `micropython` command of the test lane. On MicroPython each
shape also reports the heap it allocates per call (gc.mem_alloc over 10 calls with the collector
off). --source DIR measures the device/ tree of another checkout (e.g. `git worktree add /tmp/old REV`).
"""

import argparse
import os
import sys

from tools.executables import run_snippet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BENCH = r"""
import sys, gc
sys.path.insert(0, ROOT)
from device import psa
from device.psa import spm, psa_outvec
from device.psa.service import psa_read, psa_write
from device.compat import ticks_us, ticks_diff

class Bench:
    MANIFEST = {"name": "BENCH_SP", "pid": 450, "type": "APPLICATION-ROT", "model": "SFN",
                "services": [{"name": "BENCH", "sid": 0xB000, "non_secure_clients": True, "version": 1,
                              "connection_based": False, "stateless_handle": 9}]}
    def bench_sfn(self, msg):
        if msg.type == 1:
            psa_write(msg, 0, psa_read(msg, 0, msg.in_size[0]))
        return 0

spm.configure(partitions=["its", Bench()])
from device.psa import its
its.psa_its_set(1, bytes(16))
H = spm.stateless_handle(1, 9)
data = bytes(16)
out = psa_outvec(16)
call = psa.psa_call

def null(n):
    for _ in range(n):
        call(H, 0)

def echo(n):
    for _ in range(n):
        out.len = 16
        call(H, 1, (data,), (out,))

def its_get(n):
    g = its.psa_its_get
    for _ in range(n):
        g(1, 0, 16)

for name, fn, n in (("null", null, CALLS), ("echo16", echo, CALLS), ("its_get16", its_get, CALLS // 10)):
    res = []
    for r in range(RUNS):
        gc.collect()
        t0 = ticks_us()
        fn(n)
        res.append(ticks_diff(ticks_us(), t0) / n)
    res.sort()
    alloc = -1
    if hasattr(gc, "mem_alloc"):  # MicroPython: bytes allocated per call, collector off while counting
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        fn(10)
        alloc = (gc.mem_alloc() - a) // 10
        gc.enable()
    print("RESULT", name, res[len(res) // 2], res[0], alloc)
"""


def run(runtime, runs, calls, heapsize, root=ROOT):
    code = BENCH.replace("ROOT", repr(root)).replace("CALLS", str(calls)).replace("RUNS", str(runs))
    stdout = run_snippet(runtime, code, heapsize, timeout=600, cwd=root)
    results = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, median, best, alloc = line.split()
            results[name] = (float(median), float(best), int(alloc))
    return results


SHAPES = (
    ("null", "null call (stateless handle, no vectors)"),
    ("echo16", "16-byte echo (1 in-vector, 1 out-vector: psa_read + psa_write)"),
    ("its_get16", "`psa_its_get` of a 16-byte asset (wrapper + ITS file read + SHA-256 check)"),
)


def measure(runs=51, calls=1000, heapsize="256k", root=ROOT):
    """{"runs", "calls", "heapsize", "micropython": {shape: [median, min, bytes]}, "cpython": {...}}: µs per
    call, and bytes allocated per call on MicroPython (-1 on CPython)."""
    return {"runs": runs, "calls": calls, "heapsize": heapsize,
            "micropython": {k: list(v) for k, v in run("micropython", runs, calls, heapsize, root).items()},
            "cpython": {k: list(v) for k, v in run("cpython", runs, calls, heapsize, root).items()}}


def markdown(d):
    lines = [
        "psa_call round-trip overhead through the in-process SPM (`device.psa` -> `device.psa.spm` -> a service "
        "function -> back), µs per call, median of %d runs of %d calls (ITS: %d), on the MicroPython unix port of "
        "the test lane (`-X heapsize=%s`) and, for comparison, CPython. The minimum column shows what a quiet run "
        "achieves. No board figures (unmeasured)." % (d["runs"], d["calls"], d["calls"] // 10, d["heapsize"]),
        "",
        "| shape | MicroPython median | MicroPython min | CPython median | CPython min | MicroPython / CPython"
        " (medians) | MicroPython heap allocated per call |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, title in SHAPES:
        mp, cp = d["micropython"][key], d["cpython"][key]
        alloc = "%d B" % mp[2] if len(mp) > 2 else "not measured"
        lines.append("| %s | %.1f | %.1f | %.1f | %.1f | %.1fx | %s |"
                     % (title, mp[0], mp[1], cp[0], cp[1], mp[0] / cp[0], alloc))
    return "\n".join(lines)


def section(quick=False):
    """`sensorkit bench psa`: quick = 11 runs of 200 calls instead of 51 of 1000."""
    from tools.bench import Section

    runs, calls = (11, 200) if quick else (51, 1000)
    d = measure(runs, calls)
    return Section(markdown(d), command="python -m tools.bench_psa --runs %d --calls %d" % (runs, calls), data=d)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.bench_psa", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=51)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--heapsize", default="256k")
    p.add_argument("--source", default=ROOT, help="folder holding the device/ tree to measure")
    a = p.parse_args(argv)
    print(markdown(measure(a.runs, a.calls, a.heapsize, os.path.abspath(a.source))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
