"""Helpers for the end-to-end tests: registries, tokens, real gateway processes, a stand-in device.

The stand-in device is the real device link (device.app.link.GatewayLink) over a real
TLS-PSK client (python-mbedtls) with tokens made by pycose; it lets the gateway be tested
independently of the device-side TLS engine and attestation partition.
"""

import hashlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import cbor2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = sys.executable

SUITES = (
    "TLS-PSK-WITH-AES-128-CCM",
    "TLS-PSK-WITH-AES-128-CCM-8",
    "TLS-PSK-WITH-AES-128-GCM-SHA256",
    "TLS-PSK-WITH-AES-128-CBC-SHA256",
)


def instance_id(iak):
    return b"\x01" + hashlib.sha256(hashlib.sha256(iak).digest()).digest()


def device_keys(name):
    """Deterministic test keys for a device name: (psk, iak)."""
    psk = hashlib.sha256(b"psk:" + name.encode()).digest()[:16]
    iak = hashlib.sha256(b"iak:" + name.encode()).digest()
    return psk, iak


SW_MEASUREMENT = hashlib.sha256(b"sensorkit test firmware").digest()


def registry_entry(name, lifecycles=(0x3000,), sw=(SW_MEASUREMENT.hex(),)):
    """An entry in the format of docs/provisioning.md (what `sensorkit provision --registry` writes)."""
    psk, iak = device_keys(name)
    e = {"psk": psk.hex(), "iak": iak.hex(), "instance_id": instance_id(iak).hex(), "lifecycles": list(lifecycles)}
    if sw is not None:
        e["measurements"] = {"sensorkit": list(sw)}
    return e


def write_registry(path, entries):
    with open(path, "w") as f:
        json.dump({"version": 1, "devices": entries}, f)
    return path


def make_token(iak, nonce, lifecycle=0x3000, sw=(SW_MEASUREMENT,), iid=None):
    """A PSA IoT Profile 1 symmetric token (COSE_Mac0, HMAC-SHA256) made with pycose."""
    from pycose.algorithms import HMAC256
    from pycose.headers import Algorithm
    from pycose.keys import SymmetricKey
    from pycose.messages import Mac0Message

    claims = {
        -75000: "PSA_IOT_PROFILE_1",
        -75001: -1,
        -75002: lifecycle,
        -75003: b"\x00" * 32,
        -75004: os.urandom(32),
        -75008: nonce,
        -75009: iid if iid is not None else instance_id(iak),
    }
    if sw:
        claims[-75006] = [{1: "sensorkit", 2: m, 4: "1.0.0", 5: b"\x11" * 32} for m in sw]
    else:
        claims[-75007] = 1
    msg = Mac0Message(phdr={Algorithm: HMAC256}, uhdr={}, payload=cbor2.dumps(claims))
    msg.key = SymmetricKey(k=iak)
    return msg.encode(tag=True)


class MbedTLSStream:
    """device.tls-shaped stream (write/readinto/read/close) over a python-mbedtls client."""

    def __init__(self, sock, identity, psk, suites=SUITES):
        from mbedtls import tls

        conf = tls.TLSConfiguration(
            ciphers=suites,
            lowest_supported_version=tls.TLSVersion.TLSv1_2,
            highest_supported_version=tls.TLSVersion.TLSv1_2,
            pre_shared_key=(identity, psk),
            validate_certificates=False,
        )
        from tools.gateway import tls_handshake

        self._s = tls.ClientContext(conf).wrap_socket(sock, server_hostname=None)
        tls_handshake(self._s, 10)
        self.cipher_suite = self._s.cipher()
        from tools.gateway import TLSReader

        self._reader = TLSReader(self._s)

    def write(self, data):
        self._s.sendall(bytes(data))
        return len(data)

    def readinto(self, mv):
        data = self._reader.recv(len(mv))
        mv[: len(data)] = data
        return len(data)

    def read(self, n):
        return self._reader.recv(n)

    def close(self):
        self._s.close()


def standin_link(port, name, token_fn=None, psk=None, suites=SUITES, timeout=10):
    """A GatewayLink with a python-mbedtls TLS client and pycose tokens."""
    from device.app.link import GatewayLink

    dpsk, iak = device_keys(name)
    psk = dpsk if psk is None else psk
    token_fn = token_fn or (lambda nonce: make_token(iak, nonce))
    return GatewayLink("127.0.0.1", port, name, psk, token_fn,
                       lambda s, i, k: MbedTLSStream(s, i, k, suites), socket_module=socket,
                       timeout_s=timeout, loads=cbor2.loads)


BASE_TIME = 1764170000


def senml_reading(seq, name="dev"):
    """One single-reading SenML-CBOR pack exactly as the telemetry partition makes it
    (device.senml.encode_reading): "<base>T" in Cel and "<base>RH" in %RH, one second apart per seq."""
    from device.senml import encode_reading

    return encode_reading("urn:dev:%s:" % name, BASE_TIME + seq, 2000 + (seq % 100) * 10, 4000 + (seq % 50) * 10)


class Proc:
    """A child process whose stderr lines are collected by a thread (bounded waits on lines)."""

    def __init__(self, args, env=None, cwd=ROOT):
        e = dict(os.environ)
        e["PYTHONPATH"] = ROOT + os.pathsep + e.get("PYTHONPATH", "")
        e["PYTHONUNBUFFERED"] = "1"
        if env:
            e.update(env)
        self.p = subprocess.Popen(args, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, bufsize=1)
        self.lines = []
        self._q = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))
            self._q.put(line)
        self._q.put(None)

    def wait_line(self, pattern, timeout=20):
        """First line (already seen or new) matching `pattern`; AssertionError after `timeout`."""
        rx = re.compile(pattern)
        for line in list(self.lines):
            m = rx.search(line)
            if m:
                return m
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line matching %r in %.0fs; output:\n%s" % (pattern, timeout, self.text()))
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self._q.put(None)
                raise AssertionError("process ended without %r; output:\n%s" % (pattern, self.text()))
            m = rx.search(line)
            if m:
                return m

    def text(self):
        return "\n".join(self.lines)

    def kill(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait(10)

    def wait(self, timeout):
        return self.p.wait(timeout)


def start_gateway(tmp, registry, port=0, out=None, extra=()):
    args = [PY, "-m", "tools.cli", "gateway", "--listen", "127.0.0.1:%d" % port, "--registry", registry]
    if out is not None:
        args += ["--out", out]
    args += list(extra)
    g = Proc(args)
    m = g.wait_line(r"listening on 127\.0\.0\.1:(\d+)")
    g.port = int(m.group(1))
    return g


def read_sink(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n")]
