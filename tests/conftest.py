import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def pytest_terminal_summary(terminalreporter):
    from tests.host import test_micropython_lane

    tr = terminalreporter
    cpython = len(
        [r for r in tr.stats.get("passed", []) if r.nodeid.startswith("tests/device/") and r.when == "call"]
    )
    failed = len([r for r in tr.stats.get("failed", []) if r.nodeid.startswith("tests/device/")])
    tr.write_sep("=", "test lanes")
    tr.write_line("CPython lane (tests/device): %d passed, %d failed" % (cpython, failed))
    for name in ("MicroPython lane (.py)", "MicroPython lane (.mpy)", "MicroPython lane (.mpy native)"):
        tr.write_line("%s: %s" % (name, test_micropython_lane.RESULTS.get(name, "did not run")))
