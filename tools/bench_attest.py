"""Benchmark: attestation token sizes and times, SenML bytes per reading (single and batched).

    python -m tools.bench_attest [--runs 21] [--heapsize 256k]

Runs the same measurement script on the `micropython` command (the 1.29 unix port of the test
lane) and on CPython: a simulated device is provisioned into a temporary ITS, then

- token sizes for 32/48/64-byte challenges, PSA IoT Profile 1 and PSA 2.0, with no software
  components, with the library component (device/ + sensors/ measured), and with the library
  plus the sim board's main.py -- the shapes a device reports;
- token time: median of `runs` psa_initial_attest_get_token calls (32-byte challenge, library
  component), and the first call of a boot (which measures the code);
- telemetry: the size of one reading (telemetry_read, base name from the instance id), the
  median time of one telemetry_read (simulated sensor clock: the 15.5 ms measurement is not
  slept), and bytes per reading of 10 readings batched (device.senml.batch) for the sim board's
  room (22 +- 1.5 degC, 45 -+ 5 %RH over 10 minutes) sampled every 10 s and every 60 s, and for
  a worst case of readings jumping by degrees (a fixed pseudo-random sequence).

Sizes are the same on both runtimes (the script checks); times are per runtime. On MicroPython
the library runs from .mpy files compiled by mpy-cross into a temporary folder (what a board
runs; compiling the whole stack from source needs more than a 256k heap).
"""

import argparse
import json
import os
import subprocess
import sys

from tools.executables import find_executable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BENCH = r"""
import sys, os, math
sys.path.insert(0, ROOT)
from device import senml
from device.compat import ticks_us, ticks_diff, urandom
from device.psa import spm, attest, telemetry
from device.partitions import attest as attest_partition
from sensors.sht31 import SHT31
from sensors.sim import SimClock, SimI2C, SimulatedSHT31

def tmpdir():
    p = "/tmp/bench-attest-" + "".join("%02x" % b for b in urandom(6))
    os.mkdir(p)
    return p

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

clock = SimClock()
room_t = lambda s: 22.0 + 1.5 * math.sin(2 * math.pi * s / 600)
room_h = lambda s: 45.0 - 5.0 * math.sin(2 * math.pi * s / 600)
chip = SimulatedSHT31(temperature=room_t, humidity=room_h, clock=clock)
sensor = SHT31(SimI2C([chip], log=False), sleep_us=clock.sleep_us)
now = [1764160000]
root = tmpdir()
IAK = bytes(range(32))
MAIN = ROOT + "/boards/sim/main.py"
res = {"runtime": sys.implementation.name}

def boot(**kw):
    spm.configure(storage_root=root, sensor=sensor, clock=lambda: now[0], **kw)

boot()
attest_partition.provision_iak(IAK)
sizes = {}
for prof in ("psa-iot-1", "psa-2.0"):
    for comps, kw in (("none", {"attest_sw_components": []}), ("library", {}), ("library+main.py", {"app_main": MAIN})):
        boot(attest_profile=prof, **kw)
        for n in (32, 48, 64):
            tok = attest.psa_initial_attest_get_token(bytes(n))
            assert len(tok) == attest.psa_initial_attest_get_token_size(n)
            sizes["%s/%s/%d" % (prof, comps, n)] = len(tok)
res["token_sizes"] = sizes

boot()
t0 = ticks_us()
attest.psa_initial_attest_get_token(bytes(32))
res["token_first_us"] = ticks_diff(ticks_us(), t0)
ts = []
for _ in range(RUNS):
    t0 = ticks_us()
    attest.psa_initial_attest_get_token(bytes(32))
    ts.append(ticks_diff(ticks_us(), t0))
res["token_us"] = median(ts)

boot()
single = telemetry.telemetry_read()
res["reading_single_bytes"] = len(single)
ts = []
for _ in range(RUNS):
    t0 = ticks_us()
    telemetry.telemetry_read()
    ts.append(ticks_diff(ticks_us(), t0))
res["reading_us"] = median(ts)

def batch_of_10(step_s):
    packs = []
    for i in range(10):
        clock.advance_us(step_s * 1000000)
        now[0] += step_s
        packs.append(telemetry.telemetry_read())
    return len(senml.batch(packs))

res["batch10_bytes_10s"] = batch_of_10(10)
res["batch10_bytes_60s"] = batch_of_10(60)
# worst case: every reading jumps by degrees (no half-float deltas fit), 60 s apart
base = senml.readings(single)[0]
jumpy = []
x = 12345
for i in range(10):
    x = (1103515245 * x + 12345) & 0x7FFFFFFF  # a fixed pseudo-random sequence: same figure every run
    jumpy.append((now[0] + 60 * i, -1000 + (x >> 8) % 6000, (x >> 3) % 10001))
res["batch10_bytes_jumpy"] = len(senml.encode_batch(base, jumpy))
t0 = ticks_us()
for _ in range(RUNS):
    senml.batch([single] * 10)
res["batch_merge_us"] = ticks_diff(ticks_us(), t0) // RUNS
for fn in os.listdir(root):
    os.remove(root + "/" + fn)
os.rmdir(root)
print("RESULT " + __import__("json").dumps(res))
"""


def _compile_mpy(dest):
    """device/ and sensors/ as .mpy under dest (boards/sim/main.py copied for the app component)."""
    import shutil

    cross = find_executable("mpy-cross") or "mpy-cross"
    for tree in ("device", "sensors"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, tree)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, ROOT)
            os.makedirs(os.path.join(dest, rel), exist_ok=True)
            for fn in filenames:
                if fn.endswith(".py"):
                    out = os.path.join(dest, rel, fn[:-3] + ".mpy")
                    subprocess.run([cross, "-o", out, os.path.join(dirpath, fn)], check=True)
    os.makedirs(os.path.join(dest, "boards", "sim"))
    shutil.copy(os.path.join(ROOT, "boards", "sim", "main.py"), os.path.join(dest, "boards", "sim", "main.py"))


def _run(cmd, runs, root=ROOT):
    code = "ROOT = %r\nRUNS = %d\n" % (root, runs) + BENCH
    r = subprocess.run(cmd + ["-c", code], cwd=root, capture_output=True, text=True, timeout=600)
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise SystemExit("benchmark failed (%s):\n%s\n%s" % (" ".join(cmd), r.stdout[-2000:], r.stderr[-4000:]))


def measure(runs=21, heapsize="256k"):
    import tempfile

    with tempfile.TemporaryDirectory(prefix="bench-attest-") as d:
        _compile_mpy(d)
        mp = _run([find_executable("micropython") or "micropython", "-X", "heapsize=" + heapsize], runs, d)
    cp = _run([sys.executable], runs)
    for k in ("reading_single_bytes", "batch10_bytes_10s", "batch10_bytes_60s", "batch10_bytes_jumpy"):
        if mp[k] != cp[k]:
            raise SystemExit("sizes differ between runtimes: %s %r != %r" % (k, mp[k], cp[k]))
    if mp["token_sizes"] != cp["token_sizes"]:
        raise SystemExit("token sizes differ between runtimes: %r != %r" % (mp["token_sizes"], cp["token_sizes"]))
    return mp, cp


def render(mp, cp, runs, heapsize):
    lines = []
    print = lambda *a: lines.append(" ".join(str(x) for x in a))  # noqa: E731
    class args:
        pass
    args.runs, args.heapsize = runs, heapsize
    s = cp["token_sizes"]
    print("Token size (bytes) by profile / software components / challenge size:")
    print("| profile | software components | 32-byte challenge | 48 | 64 |")
    print("|---|---|---|---|---|")
    for prof in ("psa-iot-1", "psa-2.0"):
        for comps in ("none", "library", "library+main.py"):
            print("| %s | %s | %d | %d | %d |" % (prof, comps, s["%s/%s/32" % (prof, comps)],
                                                 s["%s/%s/48" % (prof, comps)], s["%s/%s/64" % (prof, comps)]))
    print()
    print("| figure | MicroPython %s | CPython |" % args.heapsize)
    print("|---|---|---|")
    print("| token, 32-byte challenge, library component (median of %d) | %.1f ms | %.1f ms |"
          % (args.runs, mp["token_us"] / 1000, cp["token_us"] / 1000))
    print("| first token of a boot (measures device/ + sensors/; one sample) | %.1f ms | %.1f ms |"
          % (mp["token_first_us"] / 1000, cp["token_first_us"] / 1000))
    print("| telemetry_read (median of %d, simulated sensor clock) | %.2f ms | %.2f ms |"
          % (args.runs, mp["reading_us"] / 1000, cp["reading_us"] / 1000))
    print("| senml.batch of 10 single packs (mean) | %.2f ms | %.2f ms |"
          % (mp["batch_merge_us"] / 1000, cp["batch_merge_us"] / 1000))
    print()
    print("| SenML bytes per reading (temperature + humidity) | bytes | per reading |")
    print("|---|---|---|")
    print("| single reading (telemetry_read) | %d | %d |" % (cp["reading_single_bytes"], cp["reading_single_bytes"]))
    for key, label in (("batch10_bytes_10s", "batch of 10, sim room, every 10 s"),
                       ("batch10_bytes_60s", "batch of 10, sim room, every 60 s"),
                       ("batch10_bytes_jumpy", "batch of 10, jumps of degrees (worst case, fixed pseudo-random), every 60 s")):
        print("| %s | %d | %.1f |" % (label, cp[key], cp[key] / 10))
    return "\n".join(lines)


def section(quick=False):
    from tools.bench import Section

    runs = 5 if quick else 21
    mp, cp = measure(runs)
    chart = {"bytes_per_reading": [
        ["SenML payload only, single reading", cp["reading_single_bytes"]],
        ["SenML payload only, batch of 10 every 10 s", cp["batch10_bytes_10s"] / 10],
        ["SenML payload only, batch of 10 every 60 s", cp["batch10_bytes_60s"] / 10],
        ["SenML payload only, batch of 10 worst case", cp["batch10_bytes_jumpy"] / 10]]}
    return Section(render(mp, cp, runs, "256k"), command="python -m tools.bench_attest --runs %d" % runs,
                   data={"micropython": mp, "cpython": cp, "chart": chart})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--heapsize", default="256k")
    args = ap.parse_args(argv)
    print(render(*measure(args.runs, args.heapsize), args.runs, args.heapsize))
    return 0


if __name__ == "__main__":
    sys.exit(main())
