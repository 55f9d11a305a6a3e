"""Run a module from a ROMFS image on the MicroPython unix port, the way a board runs its ROM partition.

    micropython tools/romfs_run.py IMAGE MODULE [ARGS...]

A board with ROMFS (`sensorkit deploy --romfs`) memory-maps the image from flash, mounts it at /rom
and imports .mpy files from it in place: their bytecode and constants are not copied into the heap.
The unix port has no ROM partition, so this reads IMAGE into one bytearray -- the first thing
allocated, so it sits at the start of the heap and fragments nothing -- mounts it with vfs.VfsRom
at /rom, puts /rom and /rom/lib first on sys.path, prints "ROMFS <bytes>" (the heap the image
itself takes: on a board that is flash, so heap measurements subtract it) and imports MODULE with
sys.argv = [MODULE, ARGS...], then calls MODULE.run(ARGS) when it has a run() (as tools/tls_mp_floor does
under `micropython -m`).
"""

import gc
import os
import sys
import vfs

_path, _module = sys.argv[1], sys.argv[2]
gc.collect()
_before = gc.mem_alloc()
_image = bytearray(os.stat(_path)[6])
_taken = gc.mem_alloc() - _before
with open(_path, "rb") as _f:
    _f.readinto(_image)
vfs.mount(vfs.VfsRom(_image), "/rom")
sys.path[:0] = ["/rom", "/rom/lib"]
print("ROMFS %d" % _taken)
sys.argv[:] = sys.argv[2:]
_m = __import__(_module, None, None, ["run"])  # (with a fromlist: the module itself, not its package)
if hasattr(_m, "run"):
    _m.run(sys.argv[1:])
