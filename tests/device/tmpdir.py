"""A fresh temporary folder for the portable tests, on CPython and on MicroPython (not a test module).

MicroPython has no tempfile: the folder is made by hand under /tmp with a random suffix.
A module of its own, so that a test needs neither psa_fixtures' nor attest_fixtures' heap for it.
"""

import os


def temp_root(prefix="psa-test-"):
    """A new empty folder; remove it with remove_tree()."""
    try:
        import tempfile

        return tempfile.mkdtemp(prefix=prefix)
    except ImportError:
        from device.compat import urandom

        path = "/tmp/" + prefix + "".join("%02x" % b for b in urandom(6))
        os.mkdir(path)
        return path


def remove_tree(path):
    """Remove a flat folder made by temp_root() (the ITS root holds files only)."""
    for fn in os.listdir(path):
        os.remove(path + "/" + fn)
    os.rmdir(path)
