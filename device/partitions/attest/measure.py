"""Software-component measurements: SHA-256 over the code a device actually runs.

One component per deployed code tree (docs/attestation.md):

- ``sensorkit``: the library's device-side modules -- every ``.py`` and ``.mpy`` file under
  ``device/`` and ``sensors/`` next to each other (where ``import device`` found them);
- ``app``: the board's ``main.py`` (the script the board runs at boot).

The digest of a tree is deterministic across runtimes and hosts: files are taken in
sorted order of their path relative to the tree's parent (with "/" separators), and for
each file the hash absorbs ``path | 0x00 | size (4 bytes, big-endian) | content``. Folders
named ``__pycache__`` and names starting with "." are skipped. So the same files give the
same measurement on a board, in the MicroPython unix port and on CPython -- and the host
can compute what a deployed tree must measure (``tools/provision.py`` does, for the
gateway's registry).

    from device.partitions.attest.measure import measure_tree, measure_file
    measure_tree("/lib", ("device", "sensors"))   # 32 bytes
"""

import hashlib
import os

LIBRARY_TREES = ("device", "sensors")
CODE_EXTENSIONS = (".py", ".mpy")
DESCRIPTION = "sha-256"
_CHUNK = 512


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def _walk(root, rel, out):
    path = root + "/" + rel if root else rel
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return
    for name in names:
        if name.startswith(".") or name == "__pycache__":
            continue
        sub = rel + "/" + name
        full = path + "/" + name
        if _is_dir(full):
            _walk(root, sub, out)
        else:
            for ext in CODE_EXTENSIONS:
                if name.endswith(ext):
                    out.append(sub)
                    break


def tree_files(root, trees=LIBRARY_TREES):
    """Sorted relative paths ("device/cbor.py", ...) of the code files of `trees` under `root`."""
    out = []
    for t in trees:
        if _is_dir((root + "/" + t) if root else t):
            _walk(root, t, out)
    out.sort()
    return out


def _absorb(h, path, name, buf):
    size = os.stat(path)[6]
    h.update(name.encode("utf-8"))
    h.update(b"\x00")
    h.update(size.to_bytes(4, "big"))
    mv = memoryview(buf)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(mv[:n] if n < len(buf) else buf)


def measure_tree(root, trees=LIBRARY_TREES):
    """SHA-256 of the code files of `trees` under folder `root` (see the module docstring).

    Raises OSError when none of the trees holds a code file (nothing to measure).
    """
    files = tree_files(root, trees)
    if not files:
        raise OSError(2, "no code files under %r in %r" % (root, trees))
    h = hashlib.sha256()
    buf = bytearray(_CHUNK)
    for rel in files:
        _absorb(h, (root + "/" + rel) if root else rel, rel, buf)
    return h.digest()


def measure_file(path, name=None):
    """SHA-256 of one file, absorbed as ``name`` (default: its base name) | 0 | size | content."""
    if name is None:
        name = path.rsplit("/", 1)[-1]
    h = hashlib.sha256()
    _absorb(h, path, name, bytearray(_CHUNK))
    return h.digest()


def library_root():
    """The folder holding the running ``device`` package (its parent), e.g. "/lib" on a board."""
    import device

    f = getattr(device, "__file__", None)
    if f:
        d = f.replace("\\", "/").rsplit("/", 1)[0]  # .../device
    else:  # a namespace package or frozen module: fall back to __path__
        p = getattr(device, "__path__", None)
        d = (p[0] if isinstance(p, (list, tuple)) else p) if p else "device"
    d = d.replace("\\", "/")
    if "/" not in d:
        return "."
    parent = d.rsplit("/", 1)[0]
    return parent if parent else "/"
