"""`sensorkit deploy`: the staged tree, the exact mpremote command, and the staged .mpy tree running."""

import os
import shlex
import subprocess

from tests import micropython_lane as lane
from tools import cli, deploy


def test_dry_run_prints_one_chained_mpremote_command(capsys, tmp_path):
    rc = cli.main(["deploy", "--board", "pico_w", "--port", "/dev/ttyACM0", "--mpy", "--dry-run",
                   "--stage", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    cmd = shlex.split(out.split("\n", 1)[1])  # first line: "staged N files ..."
    assert cmd[:4] == ["mpremote", "connect", "/dev/ttyACM0", "exec"]
    copied = [cmd[i + 4] for i in range(len(cmd)) if cmd[i:i + 3] == ["+", "fs", "cp"]]
    expected = [":lib/" + p[:-3] + ".mpy" for p in deploy.library_files()] + [":board.py", ":main.py"]
    assert copied == expected
    for dest in copied:  # every source named in the command exists in the stage
        assert os.path.isfile(os.path.join(str(tmp_path), dest[1:]))


def test_circuitpython_board_copies_to_drive_and_skips_unchanged(tmp_path):
    stage_dir, drive = tmp_path / "stage", tmp_path / "CIRCUITPY"
    drive.mkdir()
    files = deploy.stage("feather_esp32s3", str(stage_dir))
    assert "sensorkit_board.py" in files and "code.py" in files and "board.py" not in files
    first, second = [], []
    deploy.copy_to_drive(str(stage_dir), files, str(drive), out=first.append)
    deploy.copy_to_drive(str(stage_dir), files, str(drive), out=second.append)
    assert all("copied" in l for l in first) and all("up to date" in l for l in second)
    assert (drive / "lib" / "sensors" / "sht31.py").read_bytes() == (stage_dir / "lib" / "sensors" / "sht31.py").read_bytes()


def test_mpy_refused_for_circuitpython(tmp_path):
    try:
        deploy.stage("feather_esp32s3", str(tmp_path), mpy=True)
    except SystemExit as e:
        assert "CircuitPython" in str(e)
    else:
        raise AssertionError("--mpy accepted for a CircuitPython board")


def test_staged_mpy_tree_runs_on_micropython(tmp_path):
    files = deploy.stage("sim", str(tmp_path), mpy=True)
    assert not [f for f in files if f.startswith("lib/") and not f.endswith(".mpy")]
    env = dict(os.environ, MICROPYPATH=".:lib")
    r = subprocess.run([lane.micropython(), "main.py", "2", "0"], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    readings = [l for l in r.stdout.splitlines() if "%RH" in l]
    assert len(readings) == 2, r.stdout
