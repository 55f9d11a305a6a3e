"""The MicroPython lane: every tests/device test on a real MicroPython, from .py and from .mpy."""

import re

from tests import micropython_lane as lane

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.M)
RESULTS = {}  # lane name -> summary line, printed by conftest at the end of the run


def _check(name, proc):
    out = proc.stdout + proc.stderr
    m = SUMMARY.search(proc.stdout)
    assert m, "MicroPython runner printed no summary (rc=%d):\n%s" % (proc.returncode, out[-4000:])
    RESULTS[name] = m.group(0)
    passed, failed = int(m.group(1)), int(m.group(2))
    assert failed == 0 and proc.returncode == 0, out[-8000:]
    assert passed > 0, "no portable test ran on MicroPython"


def test_portable_tests_on_micropython_from_source():
    _check("MicroPython lane (.py)", lane.run(["tests/mp_runner.py", lane.ROOT], heapsize=lane.HEAPSIZE_SOURCE))


def test_portable_tests_on_micropython_from_mpy(tmp_path):
    lane.compile_tree(str(tmp_path))
    proc = lane.run([str(tmp_path / "tests" / "mp_runner.py"), str(tmp_path)], cwd=str(tmp_path),
                    heapsize=lane.HEAPSIZE_MPY_LANE)
    _check("MicroPython lane (.mpy)", proc)
