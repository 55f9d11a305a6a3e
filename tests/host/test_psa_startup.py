"""The in-process SPM starts on first use in a fresh interpreter (CPython and MicroPython), and a board
definition can provide its configuration."""

import os
import shutil
import subprocess
import sys

from tests import micropython_lane as lane

FIRST_USE = """
from device import psa
print("VERSION", psa.psa_version(0x70))
from device.psa import spm, its
its.psa_its_set(1, b"x")
root = spm.get().config["storage_root"]
print("ROOT", root)
print("PARTITIONS", ",".join(p.name for p in spm.get().partitions))
"""

BOARD = """
import sys
class board:  # what `import board` gives on a board whose board.py defines PSA_CONFIG
    PSA_CONFIG = {"storage_root": STORAGE_DIR, "partitions": ["its"], "its_max_assets": 2}
sys.modules["board"] = board
from device import psa
from device.psa import spm, its
print("VERSION", psa.psa_version(0x70))
cfg = spm.get().config
print("ROOT", cfg["storage_root"], cfg["its_max_assets"], cfg["board"] is board)
its.psa_its_set(1, b"a")
its.psa_its_set(2, b"b")
try:
    its.psa_its_set(3, b"c")
except psa.PSAError as e:
    print("STATUS", e.status)
"""


def _lines(out):
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


def _cpython(code):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=lane.ROOT)
    assert r.returncode == 0, r.stderr
    return r.stdout


def _check_first_use(out):
    got = _lines(out)
    assert got["VERSION"] == "1"
    root = got["ROOT"]
    assert root.startswith("/tmp/") and "psa-its-" in root and os.path.isdir(root)
    assert len(os.listdir(root)) == 1  # the asset went to the temporary root
    assert "TFM_SP_ITS" in got["PARTITIONS"].split(",")
    shutil.rmtree(root)


def test_first_use_on_cpython():
    _check_first_use(_cpython(FIRST_USE))


def test_first_use_on_micropython():
    _check_first_use(lane.run_code(FIRST_USE))


def test_board_config_on_both_runtimes(tmp_path):
    for i, run in enumerate((_cpython, lane.run_code)):
        root = str(tmp_path / ("its%d" % i))
        got = _lines(run(BOARD.replace("STORAGE_DIR", repr(root))))
        assert got["VERSION"] == "1"
        assert got["ROOT"] == "%s 2 True" % root
        assert got["STATUS"] == "-142"  # PSA_ERROR_INSUFFICIENT_STORAGE: the board's asset count
        assert len(os.listdir(root)) == 2


def test_default_partition_set_tolerates_a_partial_install(tmp_path):
    # copy the device tree without any partition but ITS: the SPM still starts with what is there
    dest = tmp_path / "tree"
    shutil.copytree(os.path.join(lane.ROOT, "device"), dest / "device",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in os.listdir(dest / "device" / "partitions"):
        if name not in ("__init__.py", "its.py"):
            p = dest / "device" / "partitions" / name
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    code = "import sys\nsys.path.insert(0, %r)\n" % str(dest) + FIRST_USE
    out = _cpython(code)
    assert _lines(out)["PARTITIONS"] == "TFM_SP_ITS"
    _check_first_use(out)
