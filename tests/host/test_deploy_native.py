"""`sensorkit deploy --native` / `--march`: the native-emitter build of the library (machine code per board)."""

import os
import re
import shlex
import subprocess

import pytest

from tests import micropython_lane as lane
from tools import cli, deploy


def _dry_run(capsys, tmp_path, *flags, board="pico_w"):
    rc = cli.main(["deploy", "--board", board, "--port", "/dev/ttyACM0", "--dry-run", "--stage", str(tmp_path)]
                  + list(flags))
    assert rc == 0
    out = capsys.readouterr().out
    head, rest = out.split("\nstaged ", 1)
    staged, mpremote = rest.split("\n", 1)
    if mpremote.startswith("ROMFS image "):  # (--romfs: the image's path and size)
        mpremote = mpremote.split("\n", 1)[1]
    commands = [shlex.split(l) for l in head.splitlines() if not re.match(r"^[\w/]+\.py: bytecode \(", l)]
    fallbacks = dict(l.split(": ", 1) for l in head.splitlines() if re.match(r"^[\w/]+\.py: bytecode \(", l))
    return commands, fallbacks, "staged " + staged, shlex.split(mpremote)


def test_every_micropython_board_names_an_mpy_arch_mpy_cross_knows():
    help_text = subprocess.run([lane.mpy_cross(), "--help"], capture_output=True, text=True).stdout
    known = re.search(r"-march=<arch> : set architecture for native emitter;\s+([\w, \n]+?)\n\S", help_text)
    assert known, help_text
    listed = {a.strip() for a in known.group(1).replace("\n", " ").split(",")}
    assert set(deploy.MPY_ARCHS) <= listed, (deploy.MPY_ARCHS, listed)
    archs = {b: deploy.board_mpy_arch(b) for b in deploy.boards() if deploy.board_runtime(b) == "micropython"}
    assert archs == {"pico_w": "armv6m", "esp32_devkitc": "xtensawin", "nucleo_f767zi": "armv7emdp"}


def test_native_dry_run_prints_each_mpy_cross_command_then_the_mpremote_command(capsys, tmp_path):
    commands, fallbacks, staged, cmd = _dry_run(capsys, tmp_path, "--native")
    assert staged.endswith("(machine code for armv6m)"), staged
    lib = deploy.library_files()
    native = [c for c in commands if "-march=armv6m" in c]
    # one native command per library module, in order, each exactly: mpy-cross -march -X emit=native -o OUT SRC
    assert [c[-1] for c in native] == [os.path.join(deploy.ROOT, p) for p in lib]
    for c, rel in zip(native, lib):
        assert c[1:] == ["-march=armv6m", "-X", "emit=native", "-o",
                         os.path.join(str(tmp_path), "lib", rel[:-3] + ".mpy"), os.path.join(deploy.ROOT, rel)]
    # a module the native emitter refuses is named, and compiled again as bytecode (the command after it)
    assert len(commands) == len(lib) + len(fallbacks)
    assert not [p for p in fallbacks if p.startswith("device/")], fallbacks
    for rel in lib:
        arch = deploy.mpy_arch(os.path.join(str(tmp_path), "lib", rel[:-3] + ".mpy"))
        assert arch == (None if rel in fallbacks else "armv6m"), rel
    assert cmd[:4] == ["mpremote", "connect", "/dev/ttyACM0", "exec"]
    copied = [cmd[i + 4] for i in range(len(cmd)) if cmd[i:i + 3] == ["+", "fs", "cp"]]
    assert copied == [":lib/" + p[:-3] + ".mpy" for p in lib] + [":board.py", ":main.py"]


def test_march_overrides_the_board_arch_and_implies_native(capsys, tmp_path):
    commands, _, staged, _ = _dry_run(capsys, tmp_path, "--march", "armv7m", board="nucleo_f767zi")
    assert staged.endswith("(machine code for armv7m)")
    assert all("-march=armv7m" in c for c in commands if "-X" in c)
    assert deploy.mpy_arch(str(tmp_path / "lib" / "device" / "tls" / "connection.mpy")) == "armv7m"


def test_plain_mpy_dry_run_has_no_native_flags(capsys, tmp_path):
    commands, fallbacks, staged, _ = _dry_run(capsys, tmp_path, "--mpy")
    assert not fallbacks and "machine code" not in staged
    assert all(c[1] == "-o" for c in commands) and len(commands) == len(deploy.library_files())
    assert deploy.mpy_arch(str(tmp_path / "lib" / "device" / "tls" / "connection.mpy")) is None


def test_native_refused_for_circuitpython_and_needs_an_arch(tmp_path):
    with pytest.raises(SystemExit) as ei:
        deploy.stage("feather_esp32s3", str(tmp_path), native=True)
    assert "CircuitPython" in str(ei.value) and "--native" in str(ei.value)
    with pytest.raises(SystemExit) as ei:
        deploy.stage("sim", str(tmp_path), native=True)  # the host has no fixed CPU: --march says which
    assert "no MPY_ARCH" in str(ei.value) and "--march" in str(ei.value)
    with pytest.raises(SystemExit) as ei:
        deploy.stage("pico_w", str(tmp_path), march="arm64")
    assert "unknown -march 'arm64'" in str(ei.value)


def test_native_tree_runs_on_micropython(tmp_path):
    """`deploy --board sim --native --march <this micropython's arch>`: the staged machine-code tree runs."""
    arch = lane.native_arch()
    files = deploy.stage("sim", str(tmp_path), march=arch)
    assert deploy.mpy_arch(str(tmp_path / "lib" / "device" / "psa" / "spm.mpy")) == arch
    assert not [f for f in files if f.startswith("lib/") and not f.endswith(".mpy")]
    env = dict(os.environ, MICROPYPATH=".:lib")
    r = subprocess.run([lane.micropython(), "main.py", "2", "0"], cwd=str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert len([l for l in r.stdout.splitlines() if "%RH" in l]) == 2, r.stdout


def test_native_tree_for_another_cpu_is_refused_by_micropython(tmp_path):
    """The arch is really in the files: armv6m machine code does not load on this micropython."""
    assert lane.native_arch() != "armv6m"
    deploy.stage("pico_w", str(tmp_path), native=True)
    r = subprocess.run([lane.micropython(), "-c", "import device.compat"], cwd=str(tmp_path / "lib"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "ValueError: incompatible .mpy arch" in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_romfs_native_dry_run_deploys_the_native_image(capsys, tmp_path):
    commands, _, staged, cmd = _dry_run(capsys, tmp_path, "--romfs", "--native")
    assert cmd[:8] == ["mpremote", "connect", "/dev/ttyACM0", "romfs", "--no-mpy", "deploy",
                       os.path.join(str(tmp_path), deploy.ROMFS_DIR), "+"]
    rom_lib = tmp_path / deploy.ROMFS_DIR / "lib"
    assert deploy.mpy_arch(str(rom_lib / "device" / "tls" / "connection.mpy")) == "armv6m"
    assert (tmp_path / deploy.ROMFS_IMAGE).read_bytes()[:3] == b"\xd2\xcd\x31"


def test_romfs_native_image_imports_and_computes_on_micropython(tmp_path):
    """Native .mpy in a ROMFS image (mounted with vfs.VfsRom by tools/romfs_run.py): the loader copies the
    machine code into executable RAM and runs it; the result matches `cryptography`."""
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    arch = lane.native_arch()
    deploy.stage("sim", str(tmp_path), romfs=True, march=arch)
    rom = tmp_path / deploy.ROMFS_DIR
    (rom / "probe.py").write_text(
        "from device.partitions.crypto import aes, ccm\n"
        "print('FILE', ccm.__file__)\n"
        "print('CT', ccm.encrypt(aes.new(bytes(range(16))), bytes(12), b'ad', b'hello').hex())\n")
    subprocess.run([deploy._mpy_cross(), "-o", str(rom / "probe.mpy"), str(rom / "probe.py")], check=True)
    os.remove(str(rom / "probe.py"))
    (tmp_path / "probe.img").write_bytes(deploy.romfs_image(str(rom)))
    # (heap: romfs_run.py reads the image into it, and x64 machine code makes it ~6x the bytecode image)
    r = subprocess.run([lane.micropython(), "-X", "heapsize=2m", os.path.join(deploy.ROOT, "tools", "romfs_run.py"),
                        str(tmp_path / "probe.img"), "probe"], cwd=str(tmp_path), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    got = dict(l.split(" ", 1) for l in r.stdout.splitlines())
    assert got["FILE"] == "/rom/lib/device/partitions/crypto/ccm.mpy"
    assert deploy.mpy_arch(str(rom / "lib" / "device" / "partitions" / "crypto" / "ccm.mpy")) == arch
    assert got["CT"] == AESCCM(bytes(range(16))).encrypt(bytes(12), b"hello", b"ad").hex()


def test_native_modules_makes_only_the_matching_modules_machine_code(capsys, tmp_path):
    pats = "device/tls/keys.py,device/partitions/crypto/*"
    commands, _, staged, _ = _dry_run(capsys, tmp_path, "--native-modules", pats, board="esp32_devkitc")
    assert staged.endswith("(machine code for xtensawin)")
    chosen = [p for p in deploy.library_files()
              if p == "device/tls/keys.py" or p.startswith("device/partitions/crypto/")]
    assert len(chosen) >= 4
    native_srcs = [c[-1] for c in commands if "-march=xtensawin" in c]
    assert native_srcs == [os.path.join(deploy.ROOT, p) for p in chosen]
    for rel in deploy.library_files():
        arch = deploy.mpy_arch(os.path.join(str(tmp_path), "lib", rel[:-3] + ".mpy"))
        assert arch == ("xtensawin" if rel in chosen else None), rel


def test_native_modules_pattern_matching_nothing_is_refused(tmp_path):
    with pytest.raises(SystemExit) as ei:
        deploy.stage("pico_w", str(tmp_path), native_modules=["device/tls/kyes.py"])
    assert "matches no library module" in str(ei.value)


def test_mixed_tree_runs_on_micropython(tmp_path):
    """Machine code and bytecode modules side by side (--native-modules): the tree runs."""
    deploy.stage("sim", str(tmp_path), march=lane.native_arch(), native_modules=["device/partitions/crypto/*"])
    lib = tmp_path / "lib"
    assert deploy.mpy_arch(str(lib / "device" / "partitions" / "crypto" / "ccm.mpy")) == lane.native_arch()
    assert deploy.mpy_arch(str(lib / "device" / "tls" / "connection.mpy")) is None
    from cryptography.hazmat.primitives.ciphers.aead import AESCCM

    probe = ("import device.tls.connection\n"  # bytecode, importing the machine-code crypto partition's callers
             "from device.partitions.crypto import aes, ccm\n"
             "print(ccm.encrypt(aes.new(bytes(range(16))), bytes(12), b'ad', b'hello').hex())\n")
    r = subprocess.run([lane.micropython(), "-c", probe], cwd=str(lib), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == AESCCM(bytes(range(16))).encrypt(bytes(12), b"hello", b"ad").hex()
