"""`sensorkit bench tls` rendering: the bytecode-vs-native-emitter rows beside the existing table (structure only,
from synthetic figures: no assertion here depends on how fast anything ran)."""

from tools import bench_tls as B


def _run(hs, tp):
    return {"hs_ms": {"engine-ccm": hs[0], "engine-gcm": hs[1], "native-gcm": hs[2]},
            "tp": {"engine-ccm": tp[0], "engine-gcm": tp[1], "native-gcm": tp[2]},
            "hs_gcm": hs[1] / hs[2], "hs_ccm": hs[0] / hs[2], "tp_gcm": tp[1] / tp[2], "tp_ccm": tp[0] / tp[2]}


def _builds():
    runs = {"bytecode": [_run((2.0, 2.4, 1.0), (2000, 700, 10000)), _run((2.2, 2.6, 1.0), (2200, 700, 10000))],
            "native": [_run((1.6, 2.0, 1.0), (3000, 900, 10000)), _run((1.8, 2.2, 1.0), (2800, 900, 10000))],
            "native-hot": [_run((1.7, 2.1, 1.0), (2900, 800, 10000)), _run((1.9, 2.3, 1.0), (2700, 800, 10000))]}
    median = {}
    for k, rs in runs.items():
        median[k] = {x: sum(r[x] for r in rs) / 2 for x in ("hs_gcm", "hs_ccm", "tp_gcm", "tp_ccm")}
        median[k]["hs_ms"] = {x: sum(r["hs_ms"][x] for r in rs) / 2 for x in rs[0]["hs_ms"]}
        median[k]["tp"] = {x: sum(r["tp"][x] for r in rs) / 2 for x in rs[0]["tp"]}
    sizes = {"bytecode": 1000, "x64": 6000, "x64-hot": 3000}
    for a, _ in B.BOARD_ARCHS:
        sizes[a], sizes[a + "-hot"] = 3500, 2000
    icount = {"bytecode": {"ccm": [4000000, 400000], "gcm": [5000000, 1600000]},
              "native": {"ccm": [3500000, 320000], "gcm": [4400000, 1300000]},
              "native-hot": {"ccm": [3000000, 320000], "gcm": [4500000, 1500000]}}
    return {"arch": "x64", "rounds": 2, "runs": runs, "median": median, "sizes": sizes,
            "code_heap": {k: {"code": 20480} for k in runs}, "icount": icount}


def test_native_rows_have_one_column_per_build_and_the_per_process_spread():
    text = "\n".join(B.render_builds(_builds(), 30, 500))
    header = [l for l in text.splitlines() if l.startswith("| figure |")][0]
    assert header.count("|") == 6  # figure, three builds, target
    row = [l for l in text.splitlines() if l.startswith("| 64-byte records/s, engine AES-128-CCM")][0]
    # median over the processes, then (min-max): bytecode 0.20/0.22, native 0.30/0.28, native-hot 0.29/0.27
    assert "| 0.21x (0.20-0.22) | 0.29x (0.28-0.30) | 0.28x (0.27-0.29) | >= 0.3x |" in row, row
    sizes = [l for l in text.splitlines() if l.startswith("| device/ compiled")][0]
    assert "armv6m 3500 (3.5x)" in sizes and "armv6m 2000 (2.0x)" in sizes and "xtensawin" in sizes
    assert "mpy-cross -X emit=native -march=x64" in text and "not a board figure" in text


def test_instruction_rows_say_the_change_against_bytecode():
    lines = B.render_builds(_builds(), 30, 500)
    row = [l for l in lines if l.startswith("| instructions per echoed 64-byte record, engine AES-128-CCM")][0]
    assert "| 0.40M | 0.32M (-20%) | 0.32M (-20%) |" in row, row
    b = _builds()
    b["icount"] = None  # no valgrind: said, not silently dropped
    assert [l for l in B.render_builds(b, 30, 500) if "valgrind not installed" in l]
