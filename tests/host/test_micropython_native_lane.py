"""The MicroPython lane of the native-emitter build (`sensorkit deploy --native`): every tests/device test on
the `micropython` command, with device/, sensors/ and tests/device compiled by
`mpy-cross -X emit=native -march=<the arch of this micropython>`; and the guard that every device module
compiles with the native emitter (a bare `raise` inside `except` does not: "native raise")."""

import os
import re
import subprocess

from tests import micropython_lane as lane
from tests.host.test_micropython_lane import RESULTS, SUMMARY
from tools import deploy

NAME = "MicroPython lane (.mpy native)"
FAILED = re.compile(r"^FAIL (\S+)( \(import\))?$", re.M)
# Tests whose promise does not hold for native code, and why. Strict: the lane fails if one of them passes
# (then delete it here) or if any other test fails.
KNOWN_NATIVE = {
    "test_cbor.test_encode_small_map_into_reused_buffer_allocates_nothing":
        "a slice subscript (`buf[off:off + n] = data` in cbor._put_bytes) allocates its slice object (32 bytes"
        " on this 64-bit port) in native code; MicroPython's bytecode VM builds it on the C stack",
}


def test_portable_tests_on_micropython_from_native_mpy(tmp_path):
    fallbacks = {}
    lane.compile_tree(str(tmp_path), flags=lane.native_flags(), fallbacks=fallbacks)
    assert not [p for p in fallbacks if p.startswith("device/")], fallbacks  # the library itself: all native
    assert deploy.mpy_arch(str(tmp_path / "device" / "tls" / "connection.mpy")) == lane.native_arch()
    proc = lane.run([str(tmp_path / "tests" / "mp_runner.py"), str(tmp_path)], cwd=str(tmp_path),
                    heapsize=lane.HEAPSIZE_NATIVE)
    out = proc.stdout + proc.stderr
    m = SUMMARY.search(proc.stdout)
    assert m, "MicroPython runner printed no summary (rc=%d):\n%s" % (proc.returncode, out[-4000:])
    passed, failed = int(m.group(1)), int(m.group(2))
    names = [f.group(1) + (" (import)" if f.group(2) else "") for f in FAILED.finditer(proc.stdout)]
    note = ""
    if names:
        note = " (expected: the known native difference%s %s, see KNOWN_NATIVE)" % (
            "s" if len(names) > 1 else "", ", ".join(sorted(names)))
    if fallbacks:
        note += "; compiled as bytecode, the native emitter refusing them: %s" % ", ".join(sorted(fallbacks))
    RESULTS[NAME] = m.group(0) + note
    assert passed > 0, "no portable test ran on MicroPython"
    assert failed == len(names), out[-8000:]
    assert sorted(names) == sorted(KNOWN_NATIVE), (
        "native lane: failed %s, expected exactly the known native differences %s\n%s"
        % (sorted(names), sorted(KNOWN_NATIVE), out[-8000:]))


def test_every_device_module_compiles_with_the_native_emitter(tmp_path):
    """What `sensorkit deploy --native` needs: no device module falls back to bytecode (device code keeps
    `except X as e: ... raise e`, never a bare `raise`)."""
    cross = lane.mpy_cross()
    refused = {}
    files = [p for p in deploy.library_files() if p.startswith("device/")]
    assert len(files) > 30
    for rel in files:
        out = tmp_path / (rel.replace("/", "_")[:-3] + ".mpy")
        r = subprocess.run([cross, "-march=x64", "-X", "emit=native", "-o", str(out),
                            os.path.join(deploy.ROOT, rel)], capture_output=True, text=True)
        if r.returncode != 0:
            refused[rel] = r.stderr.strip().splitlines()[-1]
        else:
            assert deploy.mpy_arch(str(out)) == "x64", rel
    assert not refused, refused
