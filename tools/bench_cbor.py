"""Benchmark device.cbor on this runtime: per-call time (median) and heap bytes per call.

    python tools/bench_cbor.py                                  # CPython
    micropython -X heapsize=256k tools/bench_cbor.py            # MicroPython (unix port)

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


def main():
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
    print("runtime: %s %s; median of %d rounds x %d calls" % (RUNTIME, version, ROUNDS, CALLS))
    print("| case | us per call | heap bytes per call |")
    print("|---|---|---|")
    for (name, fn, arg), us in zip(cases, _time_all(cases)):
        alloc = _alloc(fn, arg)
        print("| %s | %.1f | %s |" % (name, us, "n/a" if alloc is None else alloc))


if __name__ == "__main__":
    main()
