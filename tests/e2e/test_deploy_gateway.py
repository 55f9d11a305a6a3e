"""The deployed tree (compiled .mpy) runs on the `micropython` command against a local gateway.

`tools.deploy.stage("sim", DIR, mpy=True)` builds exactly what `sensorkit deploy --board sim --mpy`
would copy to a board (lib/ of .mpy files, board.py, main.py); `sensorkit provision --board sim --mpy`
measures that tree for the registry; main.py runs it as a board would, with the sim board pointed
at the gateway and its secure storage through the environment (boards/sim/board.py).
"""

import os

import pytest

from tests.e2e import support as S
from tools import deploy
from tools.executables import find_executable

MP = find_executable("micropython")
COUNT = 4


@pytest.mark.skipif(not MP, reason="the micropython command is not installed")
def test_deployed_mpy_tree_sends_readings_to_gateway(tmp_path):
    tree = str(tmp_path / "board")
    written = deploy.stage("sim", tree, mpy=True)
    lib = [f for f in written if f.startswith("lib/")]
    assert lib and all(f.endswith(".mpy") for f in lib), written
    assert "main.py" in written and "board.py" in written

    its = str(tmp_path / "its")
    reg = str(tmp_path / "devices.json")
    p = S.Proc([S.PY, "-m", "tools.cli", "provision", "--store", its, "--board", "sim", "--mpy",
                "--identity", "sim-board-1", "--generate-psk", "--generate-iak", "--registry", reg])
    assert p.wait(120) == 0, p.text()
    assert "measurement  app " in p.text()  # the registry expects main.py's measurement too

    sink = str(tmp_path / "readings.jsonl")
    gw = S.start_gateway(str(tmp_path), reg, out=sink)
    dev = None
    try:
        env = {"SENSORKIT_GATEWAY": "127.0.0.1:%d" % gw.port, "SENSORKIT_ITS": its,
               "PYTHONPATH": "", "MICROPYPATH": ""}
        # as on a board: the staged tree is the whole world (cwd = the tree; nothing of the clone on the path)
        dev = S.Proc([MP, "-X", "heapsize=512k", "main.py", str(COUNT), "0.1"], env=env, cwd=tree)
        assert dev.wait(120) == 0, dev.text()
        assert "%d readings acknowledged" % COUNT in dev.text(), dev.text()
        gw.wait_line(r"sim-board-1: attested")
        claims = gw.wait_line(r"sim-board-1: attestation claims (.*)$").group(1)
    finally:
        if dev is not None:
            dev.kill()
        gw.kill()
    # the attestation token reported the measurements of the deployed .mpy tree and main.py
    assert '"measurements_checked":true' in claims and '"type":"app"' in claims, claims
    rows = S.read_sink(sink)
    assert [r["seq"] for r in rows] == list(range(1, COUNT + 1)), rows
    assert all(r["device"] == "sim-board-1" for r in rows)
    for r in rows:
        names = [str(x.get("n", "")).rsplit(":", 1)[-1] for x in r["senml"]]
        assert "T" in names or "temperature" in names, r
    # the board's queue lived in the provisioned ITS (not a temporary one)
    assert len(os.listdir(its)) > 3
