"""Benchmark the SHT31 driver: I2C transactions per reading, bytes allocated on MicroPython.

    python -m tools.bench_sensor [--repeat 7] [--calls 100]

Prints a Markdown table for docs/benchmarks.md (`## Sensor`). Everything runs against the
simulator (sensors.sim) on a SimClock, so no time is slept:

- transactions: SimI2C's transaction counter around one call (CPython; the count does not
  depend on the runtime), for both bus flavours;
- bytes allocated: on the `micropython` command (the unix port next to this Python, or on
  PATH), gc.mem_alloc() before/after ``--calls`` calls with the GC disabled, divided by the
  number of calls; median of ``--repeat`` runs. The simulated chip and bus are in their
  allocation-free configuration (constant readings, heater unused, log and command
  recording off), so the figure is the driver's own allocation;
- driver + simulator CPU time per call (median, microseconds) on both runtimes, for scale
  only: the real cost on a board is dominated by the 15.5 ms measurement and the bus.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

from tools.executables import find_executable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs unchanged on CPython and MicroPython; prints "name bytes_per_call us_per_call" lines.
_SNIPPET = r"""
import gc, sys, time
sys.path.insert(0, ROOT)
from sensors.sht31 import SHT31
from sensors.sim import SimClock, SimI2C, SimulatedSHT31

def rig(flavour):
    clock = SimClock()
    chip = SimulatedSHT31(temperature=21.5, humidity=40.0, clock=clock)
    chip.record_commands = False
    bus = SimI2C([chip], log=False)
    view = bus.as_machine_i2c() if flavour == "machine" else bus.as_busio_i2c()
    return SHT31(view, sleep_us=clock.sleep_us), clock

def now_us():
    if hasattr(time, "ticks_us"):
        return time.ticks_us()
    return time.perf_counter_ns() // 1000

def diff(a, b):
    if hasattr(time, "ticks_diff"):
        return time.ticks_diff(a, b)
    return a - b

def bench(name, fn):
    fn()
    has = hasattr(gc, "mem_alloc")
    gc.collect()
    gc.disable()
    a = gc.mem_alloc() if has else 0
    t0 = now_us()
    for _ in range(CALLS):
        fn()
    dt = diff(now_us(), t0)
    b = gc.mem_alloc() if has else 0
    gc.enable()
    print(name, (b - a) / CALLS if has else -1, dt / CALLS)

for flavour in ("machine", "busio"):
    s, clock = rig(flavour)
    out = [0, 0]
    bench(flavour + ":measure", s.measure)
    bench(flavour + ":measure_into", lambda: s.measure_into(out))
    def pair():
        s._sleep_us(s.start_measurement())
        s.read_measurement_into(out)
    bench(flavour + ":start+read_into", pair)
    bench(flavour + ":read_status", s.read_status)
    s.start_periodic(10)
    def fetch():
        s._sleep_us(100000)
        s.fetch_into(out)
    bench(flavour + ":fetch_into@10mps", fetch)
    s.stop_periodic()
"""


def _run_snippet(cmd, calls):
    code = "ROOT = %r\nCALLS = %d\n" % (ROOT, calls) + _SNIPPET
    r = subprocess.run(cmd + ["-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit("benchmark snippet failed on %s:\n%s%s" % (cmd[0], r.stdout, r.stderr))
    rows = {}
    for line in r.stdout.split("\n"):
        parts = line.split()
        if len(parts) == 3:
            rows[parts[0]] = (float(parts[1]), float(parts[2]))
    return rows


def transactions():
    sys.path.insert(0, ROOT)
    from sensors.sht31 import SHT31
    from sensors.sim import SimClock, SimI2C, SimulatedSHT31

    rows = []
    for flavour in ("machine", "busio"):
        for stretch in (False, True):
            clock = SimClock()
            bus = SimI2C([SimulatedSHT31(clock=clock)])
            view = bus.as_machine_i2c() if flavour == "machine" else bus.as_busio_i2c()
            s = SHT31(view, clock_stretching=stretch, sleep_us=clock.sleep_us)
            counts = []
            for _ in range(5):
                bus.clear_log()
                s.measure()
                counts.append(bus.transactions)
            rows.append(("measure() single shot, %s, stretching %s" % (flavour, "on" if stretch else "off"),
                         statistics.median(counts), clock.now // 5))
    return rows


def measure(repeat=7, calls=100):
    """All figures as data: transactions (CPython) and per-call bytes/us on each runtime."""
    mp = find_executable("micropython")
    runtimes = [("CPython %d.%d" % sys.version_info[:2], [sys.executable])]
    if mp:
        runtimes.append(("MicroPython (unix, %s)" % os.path.basename(mp), [mp, "-X", "heapsize=256k"]))
    per_call = {}
    for label, cmd in runtimes:
        runs = [_run_snippet(cmd, calls) for _ in range(repeat)]
        per_call[label] = {k: [statistics.median(r[k][0] for r in runs), statistics.median(r[k][1] for r in runs)]
                           for k in runs[0]}
    return {
        "repeat": repeat,
        "calls": calls,
        "transactions": [list(row) for row in transactions()],
        "runtimes": [label for label, _ in runtimes],
        "micropython": bool(mp),
        "per_call": per_call,  # {runtime: {call: [bytes per call (-1: no counter), us per call]}}
    }


ABOUT = """SHT31-D driver (`sensors/sht31.py`) against the byte-exact simulator (`sensors/sim.py`) on a simulated
clock: no time is slept. I2C transactions per single-shot measurement (target 2) come from SimI2C's transaction
counter. Bytes allocated per call (target 0) are the gc.mem_alloc delta with the GC disabled on the `micropython`
command (`-X heapsize=256k`), divided by the calls, median of the runs; the simulator and bus run in their
allocation-free configuration, so these are the driver's own bytes. `measure()` returns a new tuple of two floats,
which MicroPython's default object representation boxes; `measure_into(out)` (centi-units as ints) is the
allocation-free call. CPU time per call (driver + simulator) is for scale only: on a board the 15.5 ms measurement
and the bus dominate."""


def markdown(data):
    lines = [ABOUT, "", "### I2C transactions per reading (SimI2C counter)", "",
             "| call | transactions | simulated time per call (us) |", "|---|---|---|"]
    for name, n, us in data["transactions"]:
        lines.append("| %s | %d | %d |" % (name, n, us))
    if not data["micropython"]:
        lines += ["", "(micropython not found: no allocation figures)"]
    lines += ["", "### Bytes allocated and CPU time per call (driver + simulator, median of %d runs x %d calls)"
              % (data["repeat"], data["calls"]), ""]
    labels = data["runtimes"]
    lines.append("| call |" + "".join(" %s bytes/call | %s us/call |" % (l, l) for l in labels))
    lines.append("|---|" + "---|---|" * len(labels))
    for key in data["per_call"][labels[0]]:
        cells = []
        for l in labels:
            b, us = data["per_call"][l][key]
            cells.append("n/a" if b < 0 else "%g" % b)
            cells.append("%.1f" % us)
        lines.append("| %s | %s |" % (key, " | ".join(cells)))
    mp = [l for l in labels if l.startswith("MicroPython")]
    if mp:
        rows = data["per_call"][mp[0]]
        zero = [k for k in rows if rows[k][0] == 0]
        other = ["%s (%g)" % (k, rows[k][0]) for k in rows if rows[k][0] != 0]
        lines += ["", "Target 0 bytes per call on MicroPython met by: %s. Not met by: %s."
                  % (", ".join(zero) or "none", ", ".join(other) or "none")]
    most = max(n for _, n, _ in data["transactions"])
    lines += ["", "Target 2 I2C transactions per single-shot measurement: %s (at most %d)."
              % ("met" if most <= 2 else "not met", most)]
    return "\n".join(lines)


def section(quick=False):
    """`sensorkit bench sensor`: quick = 3 runs x 30 calls instead of 7 x 100."""
    from tools.bench import Section

    repeat, calls = (3, 30) if quick else (7, 100)
    data = measure(repeat, calls)
    return Section(markdown(data), data=data,
                   command="python -m tools.bench_sensor --repeat %d --calls %d" % (repeat, calls))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.bench_sensor", description=__doc__.split("\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--calls", type=int, default=100)
    args = p.parse_args(argv)
    print(markdown(measure(args.repeat, args.calls)))
    return 0


if __name__ == "__main__":
    t0 = time.time()
    rc = main()
    print("\n(%.1f s)" % (time.time() - t0))
    sys.exit(rc)
