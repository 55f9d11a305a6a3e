"""MQTT onward: gateway -> a real mosquitto with a TLS listener (test CA, client certificates, as AWS
IoT Core wants them), the real device app feeding the gateway, and the broker restarted midway.

A subscriber (persistent session, QoS 1) must see every reading; MQTT QoS 1 is at-least-once, so the
subscriber counts readings by (device, seq), as docs/protocol.md tells consumers to.
"""

import datetime
import ipaddress
import json
import os
import pwd
import shutil
import signal
import socket
import threading
import time

import pytest

from tests.e2e import support as S
from tests.e2e.test_device_app import provision, start_device

COUNT = 300


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _make_pki(d):
    """A test CA, a server certificate for 127.0.0.1 and a client certificate (cryptography)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write(fn, obj):
        path = os.path.join(d, fn)
        with open(path, "wb") as f:
            if isinstance(obj, x509.Certificate):
                f.write(obj.public_bytes(serialization.Encoding.PEM))
            else:
                f.write(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        return path

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("sensorkit test CA")).issuer_name(name("sensorkit test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    files = {"ca": write("ca.pem", ca)}
    for role, cn in (("server", "127.0.0.1"), ("client", "sensorkit-gateway")):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
        if role == "server":
            b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
        files[role + "_cert"] = write(role + ".pem", b.sign(ca_key, hashes.SHA256()))
        files[role + "_key"] = write(role + ".key", key)
    return files


class Mosquitto:
    def __init__(self, d, port, pki):
        self.conf = os.path.join(d, "mosquitto.conf")
        data = os.path.join(d, "mqtt-data") + "/"
        os.makedirs(data, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "per_listener_settings false",
                "user " + pwd.getpwuid(os.getuid()).pw_name,  # as root it would drop to `mosquitto`: no test files
                "allow_anonymous true",
                "persistence true",
                "persistence_location " + data,
                "log_dest stderr",  # unbuffered: the test waits for its lines
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
                "listener %d 127.0.0.1" % port,
                "cafile " + pki["ca"],
                "certfile " + pki["server_cert"],
                "keyfile " + pki["server_key"],
                "require_certificate true",
                "tls_version tlsv1.2",
                "",
            ]))
        self.port = port
        self.proc = None

    def start(self):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not os.path.exists(exe):
            pytest.fail("mosquitto is not installed (apt-get install mosquitto)", pytrace=False)
        self.proc = S.Proc([exe, "-c", self.conf])
        self.proc.wait_line(r"Opening ipv4 listen socket on port %d" % self.port)
        self.proc.wait_line(r"running")

    def stop(self):
        """Graceful stop (SIGTERM): mosquitto writes its persistent sessions and queues to disk."""
        self.proc.p.send_signal(signal.SIGTERM)
        self.proc.wait(20)


class Subscriber:
    def __init__(self, port, pki):
        import paho.mqtt.client as mqtt

        self.seen = []
        self.connects = 0
        self._lock = threading.Lock()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sensorkit-test-sub", clean_session=False)
        c.tls_set(ca_certs=pki["ca"], certfile=pki["client_cert"], keyfile=pki["client_key"])
        c.reconnect_delay_set(min_delay=1, max_delay=2)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        self.c = c
        self.subscribed = threading.Event()
        c.connect("127.0.0.1", port, keepalive=10)
        c.loop_start()
        assert self.subscribed.wait(20), "subscriber did not connect"

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connects += 1
        client.subscribe("sensors/+/senml", qos=1)
        self.subscribed.set()

    def _on_message(self, client, userdata, msg):
        o = json.loads(msg.payload)
        with self._lock:
            self.seen.append((msg.topic, o["device"], o["seq"]))

    def distinct(self):
        with self._lock:
            return {(d, s) for _, d, s in self.seen}

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def test_every_reading_reaches_the_subscriber_across_a_broker_restart(tmp_path):
    pki = _make_pki(str(tmp_path))
    broker = Mosquitto(str(tmp_path), _free_port(), pki)
    broker.start()
    sub = g = dev = None
    try:
        sub = Subscriber(broker.port, pki)
        store, reg = provision(tmp_path, "sensor-mq")
        g = S.start_gateway(tmp_path, reg, extra=[
            "--mqtt", "mqtts://127.0.0.1:%d" % broker.port, "--cafile", pki["ca"], "--cert", pki["client_cert"],
            "--key", pki["client_key"], "--topic", "sensors/{device}/senml", "--timeout", "20"])
        dev = start_device(store, g.port, "cpython",
                           ["--repeatability", "low", "--interval", "0.01", "--count", str(COUNT), "--backoff", "0.05,0.5",
                            "--queue", "512"])
        deadline = time.monotonic() + 60
        while len(sub.distinct()) < COUNT // 3:
            assert time.monotonic() < deadline and dev.p.poll() is None, "too few readings before the restart"
            time.sleep(0.02)
        broker.stop()
        before = len(sub.distinct())
        broker.start()
        assert dev.wait(120) == 0, dev.text()
        deadline = time.monotonic() + 30
        while len(sub.distinct()) < COUNT and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for p in (dev, g):
            if p is not None:
                p.kill()
        if sub is not None:
            sub.close()
        if broker.proc is not None and broker.proc.p.poll() is None:
            broker.stop()
    assert before < COUNT, "the broker restart happened after everything was delivered"
    assert sub.connects >= 2, "the subscriber never lost the broker"
    assert g.wait_line(r"mqtt disconnected")
    assert sub.distinct() == {("sensor-mq", s) for s in range(1, COUNT + 1)}
    assert all(topic == "sensors/sensor-mq/senml" for topic, _, _ in sub.seen)
