"""Instructions per TLS handshake and per echoed record, counted by valgrind: figures that do not move
with the load of a shared machine, unlike the wall-clock ones of `sensorkit bench tls`.

    python -m tools.bench_icount [--suite ccm] [--source DIR] [--echoes 200] [--handshakes 4] [--keep OUT]

Needs valgrind (`apt-get install valgrind`). DIR is a folder holding a device/ tree (default: this
checkout's); compare two revisions with `git worktree add /tmp/old REV` and `--source /tmp/old`.
The device code is compiled to .mpy; `micropython -X heapsize=256k` runs tools/tls_mp_bench.py
`icount` against `openssl s_server -rev` on 127.0.0.1, under callgrind three times (nothing, N
handshakes + close, N echoed 64-byte records); the differences divided by N are the figures
(instructions of the micropython process only: the kernel's and the server's work are not counted).
--keep OUT leaves the three callgrind files in OUT (base, handshakes, echoes) for `callgrind_annotate`,
which splits the counts by C function (allocation, attribute lookups, AES, SHA-256 ...).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

from tools import bench_tls as B

ROOT = B.ROOT


def _instructions(tree, port, suite, n_hs, n_echo, keep=None):
    out_file = os.path.join(keep, "callgrind.%d-%d.out" % (n_hs, n_echo)) if keep else "/dev/null"
    out = subprocess.run(
        [shutil.which("valgrind"), "--tool=callgrind", "--callgrind-out-file=" + out_file, B._exe("micropython"),
         "-X", "heapsize=256k", os.path.join(tree, "tools", "tls_mp_bench.py"), "icount", "127.0.0.1", str(port),
         B.IDENTITY, B.PSK_HEX, suite, str(n_hs), str(n_echo)],
        capture_output=True, text=True, timeout=900, cwd=tree)
    if out.returncode != 0 or "OK" not in out.stdout:
        raise SystemExit("micropython under valgrind failed:\n%s\n%s" % (out.stdout, out.stderr[-2000:]))
    m = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if not m:
        raise SystemExit("no instruction count in valgrind's output")
    return int(m.group(1))


def measure(source, suite, n_hs, n_echo, keep=None, flags=(), only=None):
    """flags/only: the build (bench_tls.compile_tree): () bytecode; ("-march=x64", "-X", "emit=native") native,
    for the device/ paths in `only` (None: all)."""
    tree = tempfile.mkdtemp(prefix="bench-icount-")
    server = None
    try:
        B.compile_tree(tree, root=source, flags=flags, only=only)
        server = B.OpenSSLServer(suite)
        base = _instructions(tree, server.port, suite, 0, 0, keep)
        hs = _instructions(tree, server.port, suite, n_hs, 0, keep)
        echo = _instructions(tree, server.port, suite, 0, n_echo, keep)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tree, ignore_errors=True)
    return (hs - base) // n_hs, (echo - base) // n_echo


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.bench_icount", description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default="ccm", choices=sorted(B.CIPHERS))
    ap.add_argument("--source", default=ROOT, help="folder holding the device/ tree to measure")
    ap.add_argument("--handshakes", type=int, default=4)
    ap.add_argument("--echoes", type=int, default=200)
    ap.add_argument("--keep", metavar="OUT", help="keep the callgrind files in this folder")
    ap.add_argument("--native", action="store_true",
                    help="the native-emitter build (mpy-cross -X emit=native -march=<this micropython's arch>)")
    ap.add_argument("--native-hot", action="store_true",
                    help="only bench_tls.HOT_MODULES (the record path) native, the rest bytecode")
    args = ap.parse_args(argv)
    flags = ("-march=" + B.native_arch(), "-X", "emit=native") if args.native or args.native_hot else ()
    only = B.HOT_MODULES if args.native_hot else None
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind not found (apt-get install valgrind)")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    hs, echo = measure(os.path.abspath(args.source), args.suite, args.handshakes, args.echoes,
                       os.path.abspath(args.keep) if args.keep else None, flags, only)
    print("%s: %d instructions per handshake + close, %d per echoed 64-byte record" % (args.suite, hs, echo))
    return 0


if __name__ == "__main__":
    sys.exit(main())
