"""`sensorkit provision --port`: the board path writes the very store the host path makes, via mpremote."""

import os
import shlex

from tools import cli, provision


def test_dry_run_copies_every_store_file_into_its_root(tmp_path, capsys):
    store = tmp_path / "store"
    rc = cli.main(["provision", "--port", "/dev/ttyACM0", "--board", "pico_w", "--mpy", "--store", str(store),
                   "--identity", "pico-1", "--generate-psk", "--generate-iak", "--dry-run",
                   "--registry", str(tmp_path / "devices.json")])
    assert rc == 0
    out = capsys.readouterr().out
    cmd = shlex.split(out[: out.index("\nprovisioned ")])
    assert cmd[:3] == ["mpremote", "connect", "/dev/ttyACM0"]
    dests = [cmd[i + 5] for i in range(len(cmd)) if cmd[i:i + 4] == ["+", "fs", "cp", "-f"]]
    assert sorted(dests) == sorted(":/its/" + f for f in os.listdir(store))
    assert len(dests) == 4  # PSK, IAK, attestation record, identity
    assert not (tmp_path / "devices.json").exists()  # a dry run changes nothing


def test_board_measurements_follow_the_deployed_tree():
    py = provision.board_measurements("pico_w", mpy=False)
    mpy = provision.board_measurements("pico_w", mpy=True)
    assert set(py) == {"sensorkit", "app"}
    assert py["app"] == mpy["app"] and py["sensorkit"] != mpy["sensorkit"]


def test_board_measurements_of_a_native_build():
    # `sensorkit deploy --native` installs machine code for the board's CPU: another measurement, the same
    # one each time (mpy-cross is deterministic), and one per CPU (--march)
    mpy = provision.board_measurements("pico_w", mpy=True)
    native = provision.board_measurements("pico_w", native=True)
    assert native["app"] == mpy["app"] and native["sensorkit"] != mpy["sensorkit"]
    assert provision.board_measurements("pico_w", native=True) == native
    assert provision.board_measurements("pico_w", march="armv7m")["sensorkit"] != native["sensorkit"]


def test_store_or_port_is_required(capsys):
    rc = cli.main(["provision", "--identity", "x", "--generate-psk", "--generate-iak"])
    assert rc == 2 and "--store" in capsys.readouterr().err
