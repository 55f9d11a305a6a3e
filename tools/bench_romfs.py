"""Heap floors with the library in ROMFS (`sensorkit deploy --romfs`), for `sensorkit bench tls`.

On a board with a ROM partition the compiled library is memory-mapped flash: imports run its .mpy
bytecode in place and only what the code creates (module dicts, functions, qstrs, state) is in the
heap. The unix port has no ROM partition, so tools/romfs_run.py reads the image into a bytearray
allocated first (at the start of the heap, fragmenting nothing) and mounts it with vfs.VfsRom; the
image's own share of the heap is then subtracted from the smallest heap that works:

    floor = smallest -X heapsize that works - image bytes * (1 + 3/256)

(3/256: MicroPython's GC keeps 2 allocation-table bits and 1 finaliser bit per block, and a block is
4 object words, 32 bytes on this 64-bit port, so each byte of the image also cost 3/256 of a byte of
table; "image bytes" is what allocating its bytearray took, block rounding included). A board needs
that much heap besides its ROM partition.
"""

import math
import os
import shutil
import subprocess
import tempfile

from tools import bench_tls as B
from tools.deploy import romfs_image

TABLE_OVERHEAD = 1 + 3 / 256  # GC table bits per heap byte: 3 bits per 32-byte block (64-bit port)


def build_image(tree, dest):
    """A ROMFS image of a tree made by bench_tls.compile_tree: its compiled device/ and the floor driver
    (tools/tls_mp_floor.mpy); written to dest, which is returned."""
    src = tempfile.mkdtemp(prefix="bench-romfs-")
    try:
        shutil.copytree(os.path.join(tree, "device"), os.path.join(src, "device"),
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        os.makedirs(os.path.join(src, "tools"))
        shutil.copy(os.path.join(tree, "tools", "tls_mp_floor.mpy"), os.path.join(src, "tools"))
        with open(dest, "wb") as f:
            f.write(romfs_image(src))
    finally:
        shutil.rmtree(src, ignore_errors=True)
    return dest


def floor(image, tree, port, suite, n_rec=100, world=None, confirm=3):
    """(floor KB with the library in ROMFS, smallest -X heapsize KB that worked, image bytes in that heap),
    or None if even the largest heap fails. world as in bench_tls.floor_run (None, "tls-only", "mailbox":
    the secure image then runs in its own process from `tree`, the compiled checkout)."""
    taken = []

    def ok(k):
        spe = B.SecureImage(tree) if world == "mailbox" else None
        try:
            args = ["127.0.0.1", port, B.IDENTITY, B.PSK_HEX, suite, "engine", n_rec]
            if world:
                args.append("mailbox:%d" % spe.port if spe else world)
            argv = [B._exe("micropython"), "-X", "heapsize=%dk" % k, os.path.join(B.ROOT, "tools", "romfs_run.py"),
                    image, "tools.tls_mp_floor"] + [str(a) for a in args]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        finally:
            if spe is not None:
                spe.stop()
        taken.extend(int(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("ROMFS "))
        return r.returncode == 0 and r.stdout.strip().endswith("OK")

    k = B.smallest_heap(ok, confirm)
    if k is None:
        return None
    image_bytes = max(taken)  # (the same in every run: one bytearray of the image's size)
    return math.ceil(k - image_bytes * TABLE_OVERHEAD / 1024), k, image_bytes
