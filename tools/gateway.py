"""`sensorkit gateway`: the reference gateway (docs/protocol.md).

    sensorkit gateway --listen 127.0.0.1:8443 --registry devices.json [--out readings.jsonl]
        [--mqtt mqtts://HOST:8883 --cafile F --cert F --key F --topic 'sensors/{device}/senml']

A TLS-PSK server (python-mbedtls; TLS 1.2, the four PSK suites, CCM first) with one thread
per connection. After the handshake it sends a challenge, verifies the attestation token
(COSE_Mac0 / HMAC-SHA256 with the device's IAK, via pycose) and the claims against the
registry, then takes batches (one merged SenML pack of `count` readings each, resolved by
RFC 8428 rules and split into one row per reading), drops duplicates by (device, seq), hands
new readings off durably (JSON-lines sink: append + flush + fsync; MQTT: QoS 1 PUBACKed)
and only then acks. Any failure costs that one connection, with a logged reason.
"""

import base64
import collections.abc
import json
import logging
import os
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

from device.app import protocol as P
from tools.attestation import AttestationError
from tools.cbor_item import loads_one

log = logging.getLogger("sensorkit.gateway")

SUITES = (
    "TLS-PSK-WITH-AES-128-CCM",
    "TLS-PSK-WITH-AES-128-CCM-8",
    "TLS-PSK-WITH-AES-128-GCM-SHA256",
    "TLS-PSK-WITH-AES-128-CBC-SHA256",
)

SENML_LABELS = {-1: "bver", -2: "bn", -3: "bt", -4: "bu", -5: "bv", -6: "bs",
                0: "n", 1: "u", 2: "v", 3: "vs", 4: "vb", 5: "s", 6: "t", 7: "ut", 8: "vd"}


def tls_handshake(conn, timeout):
    """Run the TLS handshake of a python-mbedtls TLSWrappedSocket within `timeout` seconds.

    TLSWrappedSocket.do_handshake spins forever when the peer closes mid-handshake (it feeds
    b"" back in a loop); this loop stops at EOF with EOFError and at the deadline with TimeoutError.
    """
    from mbedtls.tls import HandshakeStep, WantReadError, WantWriteError

    deadline = time.monotonic() + timeout
    buf, sock = conn._buffer, conn._socket
    while buf._handshake_state is not HandshakeStep.HANDSHAKE_OVER:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("TLS handshake timed out")
        sock.settimeout(left)
        try:
            buf.do_handshake()
        except WantReadError:
            data = sock.recv(16384)
            if not data:
                raise EOFError("peer closed the connection during the TLS handshake") from None
            buf.receive_from_network(data)
        except WantWriteError:
            out = buf.peek_outgoing(16384)
            sock.sendall(out)
            buf.consume_outgoing(len(out))


class TLSReader:
    """Plaintext reads from a python-mbedtls TLSWrappedSocket that lose nothing.

    TLSWrappedSocket.recv(n) reads only n *encrypted* bytes from the socket, and a short
    read of the TLS buffer drops the rest of the record; so read whole records (up to
    16 KiB) through its buffer and keep what the caller did not ask for yet.
    """

    def __init__(self, conn):
        self.conn = conn
        self._pending = b""

    def recv(self, n):
        """Up to `n` plaintext bytes (b"" at EOF)."""
        from mbedtls.tls import WantReadError

        if not self._pending:
            buf = self.conn._buffer
            while True:
                try:
                    data = buf.read(16384)
                    if data:
                        self._pending = data
                        break
                except WantReadError:
                    pass
                enc = self.conn._socket.recv(16384)
                if not enc:
                    return b""
                buf.receive_from_network(enc)
        data, self._pending = self._pending[:n], self._pending[n:]
        return data


# --- registry --------------------------------------------------------------------------------


class Registry:
    """The device registry written by `sensorkit provision --registry` (docs/provisioning.md).

    identity -> entry; each entry keeps its JSON fields (checked by
    tools.attestation.check_registry_entry) plus the decoded "_psk" and "_iak" bytes.
    """

    def __init__(self, devices):
        self.devices = {}
        for ident, e in devices.items():
            try:
                psk = bytes.fromhex(e["psk"])
                iak = bytes.fromhex(e["iak"])
                if e.get("instance_id") is not None:
                    bytes.fromhex(e["instance_id"])
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError("registry: entry %r needs hex psk and iak (%s)" % (ident, err)) from None
            if not 16 <= len(psk) <= 64:
                raise ValueError("registry: psk of %r must be 16..64 bytes" % ident)
            entry = dict(e)
            entry["_psk"] = psk
            entry["_iak"] = iak
            self.devices[ident] = entry

    @classmethod
    def load(cls, path):
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
            raise ValueError("registry %s: expected {\"version\": 1, \"devices\": {...}}" % path)
        return cls(data["devices"])


class _PSKStore(collections.abc.Mapping):
    """The server's PSK store; remembers, per handshake thread, which identity was looked up."""

    def __init__(self, registry):
        self._reg = registry
        self.local = threading.local()

    def __getitem__(self, identity):
        if isinstance(identity, bytes):
            identity = identity.decode("utf-8", "replace")
        self.local.identity = identity
        e = self._reg.devices.get(identity)
        if e is None:
            self.local.unknown = True
            raise KeyError(identity)
        return e["_psk"]

    def __iter__(self):
        return iter(self._reg.devices)

    def __len__(self):
        return len(self._reg.devices)


# --- attestation -----------------------------------------------------------------------------


def check_attestation(token, entry, nonce):
    """Verify the token (tools.attestation) and its claims against the registry entry.

    Returns the claims; raises tools.attestation.AttestationError with the reason.
    """
    from tools.attestation import check_registry_entry, verify_token

    claims = verify_token(token, entry["_iak"], challenge=nonce)
    check_registry_entry(claims, entry)
    return claims


def claims_json(claims, entry):
    """The claims that matter, as one JSON line (`sensorkit demo` shows it): instance id, lifecycle,
    software components and whether their measurements were checked against the registry."""
    return json.dumps({
        "instance_id": claims["instance_id"].hex(),
        "lifecycle": claims["lifecycle"],
        "lifecycle_name": claims["lifecycle_name"],
        "sw_components": [{"type": c["type"], "measurement": c["measurement"].hex()}
                          for c in claims["sw_components"]],
        "measurements_checked": entry.get("measurements") is not None,
        "profile": claims["profile"],
    }, separators=(",", ":"))


# --- outputs ---------------------------------------------------------------------------------


_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:./_")
_RELATIVE_TIME = 2 ** 28  # RFC 8428 §4.5.3: a resolved time below this is relative to now


def _number(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, float)) or x != x or x in (float("inf"), float("-inf")):
        raise P.ProtocolError("SenML %s is not a finite number: %r" % (what, x))
    return x


def _text(x, what):
    if not isinstance(x, str):
        raise P.ProtocolError("SenML %s is not a text string: %r" % (what, x))
    return x


def senml_resolve(pack, now=None):
    """RFC 8428 §4.6 resolved records of a (cbor2-decoded) SenML-CBOR pack, as SenML-JSON dicts.

    Base name, time, unit, value and sum are applied to every record, so each resolved record
    stands alone: {"n", "u" (when known), one of "v"/"vs"/"vb"/"vd" and/or "s", "t"}; a time
    below 2**28 is relative to `now` (RFC 8428 §4.5.3) and made absolute; "vd" is base64url.
    bver above 10 and unknown labels ending in "_" (must-understand) are errors; other unknown
    labels are ignored (§4.4). Raises ProtocolError for anything that is not such a pack.
    """
    P.check_senml_pack(pack)
    if now is None:
        now = time.time()
    bn, bt, bu, bv, bs = "", 0, None, 0, 0
    out = []
    for rec in pack:
        for k in rec:
            if isinstance(k, str) and k.endswith("_"):
                raise P.ProtocolError("SenML label %r must be understood" % k)
        if -1 in rec:
            bver = rec[-1]
            if type(bver) is not int or not 1 <= bver <= 10:
                raise P.ProtocolError("SenML bver %r not supported" % (bver,))
        if -2 in rec:
            bn = _text(rec[-2], "bn")
        if -3 in rec:
            bt = _number(rec[-3], "bt")
        if -4 in rec:
            bu = _text(rec[-4], "bu")
        if -5 in rec:
            bv = _number(rec[-5], "bv")
        if -6 in rec:
            bs = _number(rec[-6], "bs")
        name = bn + _text(rec.get(0, ""), "n")
        if not name or name[0] in "-:./_" or not _NAME_CHARS.issuperset(name):
            raise P.ProtocolError("SenML name %r is not a valid resolved name" % name)
        r = {"n": name}
        unit = _text(rec[1], "u") if 1 in rec else bu
        if unit is not None:
            r["u"] = unit
        values = 0
        if 2 in rec:
            r["v"] = bv + _number(rec[2], "v")
            values += 1
        if 3 in rec:
            r["vs"] = _text(rec[3], "vs")
            values += 1
        if 4 in rec:
            if not isinstance(rec[4], bool):
                raise P.ProtocolError("SenML vb is not a boolean: %r" % (rec[4],))
            r["vb"] = rec[4]
            values += 1
        if 8 in rec:
            if not isinstance(rec[8], bytes):
                raise P.ProtocolError("SenML vd is not a byte string")
            r["vd"] = base64.urlsafe_b64encode(rec[8]).rstrip(b"=").decode()
            values += 1
        if 5 in rec:
            r["s"] = bs + _number(rec[5], "s")
        elif -6 in rec:
            r["s"] = bs
        if values > 1 or (values == 0 and "s" not in r):
            raise P.ProtocolError("SenML record %r needs exactly one value (or a sum)" % name)
        t = bt + _number(rec.get(6, 0), "t")
        r["t"] = now + t if t < _RELATIVE_TIME else t
        if 7 in rec:
            r["ut"] = _number(rec[7], "ut")
        out.append(r)
    return out


def batch_readings(count, pack, now=None):
    """Split a batch's resolved records into `count` readings (docs/protocol.md, "batch").

    The merged pack holds one section per quantity, each of `count` records in sequence
    order (device.senml.encode_batch: all temperatures, then all humidities). Reading i is
    record i of every section. The resolved record count must be a whole multiple of `count`,
    and every section must name one quantity; otherwise ProtocolError.
    """
    records = senml_resolve(pack, now)
    if len(records) % count:
        raise P.ProtocolError("batch declares %d readings but its pack resolves to %d records"
                              % (count, len(records)))
    sections = len(records) // count
    for k in range(sections):
        name = records[k * count]["n"]
        for j in range(k * count, (k + 1) * count):
            if records[j]["n"] != name:
                raise P.ProtocolError("batch declares %d readings but record %d is %r, not %r"
                                      % (count, j, records[j]["n"], name))
    return [[records[k * count + i] for k in range(sections)] for i in range(count)]


class JSONLinesSink:
    """Append-only JSON-lines file; recovers per-device high-water marks when opened."""

    def __init__(self, path):
        self.path = path
        self.hwm = {}
        self._lock = threading.Lock()
        if path == "-":
            self._f = sys.stdout
            return
        good = 0
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f:
                    if not line.endswith(b"\n"):
                        break
                    try:
                        obj = json.loads(line)
                        dev, seq = obj["device"], int(obj["seq"])
                    except (ValueError, KeyError, TypeError):
                        break
                    if seq > self.hwm.get(dev, 0):
                        self.hwm[dev] = seq
                    good += len(line)
            if good != os.path.getsize(path):
                log.warning("sink %s: dropping a torn tail of %d bytes", path, os.path.getsize(path) - good)
                with open(path, "r+b") as f:
                    f.truncate(good)
        self._f = open(path, "a", encoding="utf-8")

    def write(self, objs):
        data = "".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objs)
        with self._lock:
            self._f.write(data)
            self._f.flush()
            if self._f is not sys.stdout:
                os.fsync(self._f.fileno())

    def close(self):
        if self._f is not sys.stdout:
            self._f.close()


class MQTTOutput:
    """Publishes each reading with QoS 1; ``publish_all`` returns only once all are PUBACKed."""

    def __init__(self, url, cafile=None, cert=None, key=None, topic="sensors/{device}/senml", timeout=10.0,
                 client_id=None):
        import paho.mqtt.client as mqtt

        u = urlsplit(url)
        if u.scheme not in ("mqtt", "mqtts"):
            raise ValueError("--mqtt must be mqtt://HOST:PORT or mqtts://HOST:PORT")
        self.topic = topic
        self.timeout = timeout
        self._connected = threading.Event()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or "sensorkit-gw-%d" % os.getpid(),
                        clean_session=True)
        if u.scheme == "mqtts":
            c.tls_set(ca_certs=cafile, certfile=cert, keyfile=key)
        c.max_inflight_messages_set(100)
        c.reconnect_delay_set(min_delay=1, max_delay=4)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        self._c = c
        c.connect_async(u.hostname, u.port or (8883 if u.scheme == "mqtts" else 1883), keepalive=30)
        c.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            log.info("mqtt connected")
            self._connected.set()
        else:
            log.warning("mqtt connect refused: %s", reason_code)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._connected.clear()
        log.warning("mqtt disconnected: %s", reason_code)

    def publish_all(self, objs):
        if not self._connected.wait(self.timeout):
            raise OSError("MQTT broker not connected")
        infos = []
        for o in objs:
            info = self._c.publish(self.topic.replace("{device}", o["device"]),
                                   json.dumps(o, separators=(",", ":")), qos=1)
            infos.append(info)
        deadline = time.monotonic() + self.timeout
        for info in infos:
            try:
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            except (RuntimeError, ValueError) as e:
                raise OSError("MQTT publish failed: %s" % e) from None
            if not info.is_published():
                raise OSError("MQTT PUBACK not received in time")

    def close(self):
        self._c.loop_stop()
        self._c.disconnect()


# --- the server ------------------------------------------------------------------------------


class Gateway:
    def __init__(self, registry, host="127.0.0.1", port=8443, sink=None, mqtt=None, timeout=30.0,
                 handshake_timeout=10.0, challenge_size=32, max_readings=32, max_connections=1000):
        from mbedtls import tls

        self.registry = registry
        self.sink = sink
        self.mqtt = mqtt
        self.timeout = timeout
        self.handshake_timeout = handshake_timeout
        self.challenge_size = challenge_size
        self.max_readings = max_readings
        self.max_connections = max_connections
        self.hwm = dict(sink.hwm) if sink is not None else {}
        self._dev_locks = {}
        self._locks_lock = threading.Lock()
        self._active = threading.BoundedSemaphore(max_connections)
        self.stats = collections.Counter()
        self._store = _PSKStore(registry)
        conf = tls.TLSConfiguration(
            ciphers=SUITES,
            lowest_supported_version=tls.TLSVersion.TLSv1_2,
            highest_supported_version=tls.TLSVersion.TLSv1_2,
            pre_shared_key_store=self._store,
            validate_certificates=False,
        )
        self._ctx = tls.ServerContext(conf)
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((host, port))
        ls.listen(256)
        self.address = ls.getsockname()
        self._listener = self._ctx.wrap_socket(ls)
        self._closing = False

    # -- accept loop --

    def serve_forever(self):
        log.warning("listening on %s:%d", *self.address)
        while not self._closing:
            try:
                conn, addr = self._listener.accept()
            except OSError:
                if self._closing:
                    break
                raise
            if not self._active.acquire(blocking=False):
                log.warning("%s:%d: refused, %d connections already open", addr[0], addr[1], self.max_connections)
                conn.close()
                continue
            threading.Thread(target=self._serve_one, args=(conn, addr), daemon=True).start()

    def close(self):
        self._closing = True
        try:
            self._listener.close()
        except OSError:
            pass

    def _serve_one(self, conn, addr):
        peer = "%s:%d" % addr
        try:
            self._conversation(conn, peer)
        except Exception as e:  # last resort: never let one connection take the gateway down
            log.exception("%s: internal error: %s", peer, e)
        finally:
            try:
                conn.close()
            except Exception:
                pass
            self._active.release()

    # -- frames --

    def _send(self, conn, encoder, *args):
        buf = bytearray(P.MAX_FRAME + P.HEADER)
        n = encoder(buf, *args)
        conn.sendall(bytes(buf[:n]))

    def _recv_exact(self, conn, reader, n, deadline):
        parts = []
        while n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            conn.settimeout(left)
            chunk = reader.recv(n)
            if not chunk:
                raise EOFError("connection closed by the device")
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def _receive(self, conn, reader, timeout):
        deadline = time.monotonic() + timeout
        n = P.frame_length(self._recv_exact(conn, reader, P.HEADER, deadline))
        payload = self._recv_exact(conn, reader, n, deadline)
        try:
            msg = loads_one(payload)
        except Exception as e:
            raise P.ProtocolError("frame is not one CBOR item: %s" % e) from None
        return P.parse_message(msg)

    # -- one device --

    def _conversation(self, conn, peer):
        store = self._store
        store.local.identity = None
        store.local.unknown = False
        try:
            tls_handshake(conn, self.handshake_timeout)
        except Exception as e:
            ident = store.local.identity
            if store.local.unknown:
                reason = "unknown PSK identity %r" % ident
            elif ident is not None:
                reason = "TLS handshake failed for identity %r (wrong PSK?): %s" % (ident, e)
            else:
                reason = "TLS handshake failed: %s" % e
            self.stats["refused"] += 1
            log.warning("%s: refused: %s", peer, reason)
            return
        ident = store.local.identity
        entry = self.registry.devices[ident]
        who = "%s %s" % (peer, ident)
        log.info("%s: TLS-PSK handshake done (%s)", who, conn.cipher())
        reader = TLSReader(conn)
        try:
            nonce = os.urandom(self.challenge_size)
            self._send(conn, P.encode_challenge_into, nonce)
            kind, fields = self._receive(conn, reader, self.timeout)
            if kind != P.TOKEN:
                raise P.ProtocolError("expected a token, got message type %d" % kind)
            try:
                claims = check_attestation(fields[0], entry, nonce)
            except AttestationError as e:
                self.stats["refused"] += 1
                log.warning("%s: refused: %s", who, getattr(e, "reason", None) or e)
                self._send(conn, P.encode_verdict_into, P.VERDICT_REFUSED, 0)
                return
            self._send(conn, P.encode_verdict_into, P.VERDICT_ACCEPTED, self.max_readings)
            self.stats["accepted"] += 1
            log.info("%s: attested", who)
            log.info("%s: attestation claims %s", who, claims_json(claims, entry))
            while True:
                kind, fields = self._receive(conn, reader, self.timeout)
                if kind == P.CLOSE:
                    log.info("%s: closed by the device", who)
                    return
                if kind != P.BATCH:
                    raise P.ProtocolError("expected a batch, got message type %d" % kind)
                first, dropped, count, pack = fields
                if count > self.max_readings:
                    raise P.ProtocolError("batch of %d readings (limit %d)" % (count, self.max_readings))
                readings = batch_readings(count, pack)  # ProtocolError before anything is written
                try:
                    last = self._hand_off(ident, first, dropped, readings)
                except OSError as e:
                    log.warning("%s: cannot hand off batch %d: %s", who, first, e)
                    self._send(conn, P.encode_error_into, P.ERR_UNAVAILABLE, "output unavailable")
                    return
                self._send(conn, P.encode_ack_into, last)
        except P.ProtocolError as e:
            self.stats["protocol_errors"] += 1
            log.warning("%s: dropped: protocol error: %s", who, e)
            try:
                self._send(conn, P.encode_error_into, e.code, str(e))
            except Exception:
                pass
        except TimeoutError:
            self.stats["timeouts"] += 1
            log.warning("%s: dropped: timed out waiting for the device", who)
            try:
                self._send(conn, P.encode_error_into, P.ERR_TIMEOUT, "timeout")
            except Exception:
                pass
        except (EOFError, OSError, ConnectionError) as e:
            log.info("%s: connection lost: %s", who, e)
        except Exception as e:  # e.g. mbedtls.tls.TLSError mid-stream
            log.warning("%s: dropped: %s: %s", who, type(e).__name__, e)

    def _lock_for(self, ident):
        with self._locks_lock:
            lk = self._dev_locks.get(ident)
            if lk is None:
                lk = self._dev_locks[ident] = threading.Lock()
            return lk

    def _hand_off(self, ident, first, dropped, records):
        last = first + len(records) - 1
        if dropped:
            log.warning("%s: device reports %d readings dropped before seq %d", ident, dropped, first)
            self.stats["dropped_reported"] += dropped
        with self._lock_for(ident):
            hwm = self.hwm.get(ident, 0)
            now = round(time.time(), 3)
            new = [{"device": ident, "seq": first + i, "senml": rec, "received": now}
                   for i, rec in enumerate(records) if first + i > hwm]
            self.stats["duplicates"] += len(records) - len(new)
            if new:
                if new[0]["seq"] > hwm + 1 and hwm and not dropped:
                    log.warning("%s: gap: seq %d follows %d", ident, new[0]["seq"], hwm)
                if self.mqtt is not None:
                    self.mqtt.publish_all(new)
                if self.sink is not None:
                    self.sink.write(new)
                self.hwm[ident] = last
                self.stats["readings"] += len(new)
        return last


# --- command line ----------------------------------------------------------------------------


def add_parser(sub):
    p = sub.add_parser("gateway", help="reference gateway: TLS-PSK, attestation, SenML -> JSON lines / MQTT")
    p.add_argument("--listen", default="127.0.0.1:8443", help="HOST:PORT (port 0 picks a free one)")
    p.add_argument("--registry", required=True, help="devices.json (docs/protocol.md)")
    p.add_argument("--out", help="JSON-lines sink ('-' = stdout); default readings.jsonl unless --mqtt is given")
    p.add_argument("--mqtt", help="mqtts://HOST:8883 (or mqtt://HOST:1883): publish each reading with QoS 1")
    p.add_argument("--cafile", help="CA bundle that signed the broker's certificate")
    p.add_argument("--cert", help="client certificate (AWS IoT Core: the thing's certificate)")
    p.add_argument("--key", help="client private key")
    p.add_argument("--topic", default="sensors/{device}/senml", help="MQTT topic; {device} = PSK identity")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds a device may stay silent (default 30)")
    p.add_argument("--handshake-timeout", type=float, default=10.0, help="seconds for the TLS handshake")
    p.add_argument("--challenge-size", type=int, choices=P.NONCE_SIZES, default=32)
    p.add_argument("--max-readings", type=int, default=32, help="readings per batch (1..255)")
    p.add_argument("--max-connections", type=int, default=1000)
    p.add_argument("-q", "--quiet", action="store_true", help="log only failures, not every connection")
    p.set_defaults(func=run)


def run(args):
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, stream=sys.stderr,
                        format="gateway: %(levelname)s %(message)s")
    host, _, port = args.listen.rpartition(":")
    registry = Registry.load(args.registry)
    out = args.out if args.out else (None if args.mqtt else "readings.jsonl")
    sink = JSONLinesSink(out) if out else None
    mqtt = None
    if args.mqtt:
        mqtt = MQTTOutput(args.mqtt, args.cafile, args.cert, args.key, args.topic, timeout=args.timeout)
    gw = Gateway(registry, host or "127.0.0.1", int(port), sink=sink, mqtt=mqtt, timeout=args.timeout,
                 handshake_timeout=args.handshake_timeout, challenge_size=args.challenge_size,
                 max_readings=max(1, min(255, args.max_readings)), max_connections=args.max_connections)
    try:
        gw.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gw.close()
        if mqtt:
            mqtt.close()
        if sink:
            sink.close()
    return 0
