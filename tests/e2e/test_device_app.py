"""The real device application (`sensorkit device`: telemetry partition, ITS queue, device.tls,
attestation partition) against the real gateway, both as processes killed at random points.

Every reading must reach the sink exactly once. Seeds are fixed so a failure replays.
"""

import os
import random
import time

import pytest

from tests.e2e import support as S

COUNT = 1000
DEVICE_FLAGS = ["--repeatability", "low", "--interval", "0.003", "--count", str(COUNT), "--queue", "1024", "--backoff", "0.05,0.25"]


def provision(tmp_path, name):
    store = str(tmp_path / name)
    reg = str(tmp_path / "devices.json")
    p = S.Proc([S.PY, "-m", "tools.cli", "provision", "--store", store, "--identity", name,
                "--generate-psk", "--generate-iak", "--registry", reg])
    assert p.wait(60) == 0, p.text()
    return store, reg


def start_device(store, port, runtime, flags=DEVICE_FLAGS):
    return S.Proc([S.PY, "-m", "tools.cli", "device", "--store", store, "--connect", "127.0.0.1:%d" % port,
                   "--runtime", runtime] + list(flags))


def sink_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def wait_sink(path, n, proc, timeout=60, gateway=None):
    """Bounded wait until the sink holds `n` lines (or `proc` has ended)."""
    deadline = time.monotonic() + timeout
    while sink_lines(path) < n and proc.p.poll() is None:
        assert time.monotonic() < deadline, "sink stuck at %d lines (wanted %d)\ndevice:\n%s\ngateway:\n%s" % (
            sink_lines(path), n, proc.text()[-3000:], gateway.text()[-3000:] if gateway else "")
        time.sleep(0.02)


def assert_exactly_once(out, name, count=COUNT):
    rows = S.read_sink(out)
    seqs = [r["seq"] for r in rows]
    assert len(seqs) == len(set(seqs)), "duplicates in the sink"
    assert sorted(seqs) == list(range(1, count + 1))
    assert {r["device"] for r in rows} == {name}
    assert all(len(r["senml"]) == 2 and r["senml"][0]["n"].endswith(":T") and r["senml"][1]["n"].endswith(":RH")
               and r["senml"][0]["t"] == r["senml"][1]["t"] for r in rows)


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_thousand_readings_while_gateway_is_killed_five_times(tmp_path, runtime):
    rng = random.Random(7 if runtime == "cpython" else 8)
    store, reg = provision(tmp_path, "sensor-gk")
    out = str(tmp_path / "readings.jsonl")
    g = S.start_gateway(tmp_path, reg, out=out)
    port = g.port
    dev = start_device(store, port, runtime)
    kills = 0
    try:
        for _ in range(5):
            wait_sink(out, sink_lines(out) + rng.randint(30, 150), dev, gateway=g)
            if dev.p.poll() is not None:
                break
            g.kill()
            kills += 1
            g = S.start_gateway(tmp_path, reg, port=port, out=out)
        assert dev.wait(120) == 0, dev.text()
    finally:
        dev.kill()
        g.kill()
    assert kills == 5, "the device finished before five gateway kills"
    assert "link failed" in dev.text()  # it really lost the gateway and reconnected
    assert_exactly_once(out, "sensor-gk")


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_thousand_readings_while_device_is_killed_five_times(tmp_path, runtime):
    rng = random.Random(17 if runtime == "cpython" else 18)
    store, reg = provision(tmp_path, "sensor-dk")
    out = str(tmp_path / "readings.jsonl")
    g = S.start_gateway(tmp_path, reg, out=out)
    kills = 0
    dev = None
    ended = ""
    try:
        for _ in range(5):
            dev = start_device(store, g.port, runtime)
            wait_sink(out, sink_lines(out) + rng.randint(30, 150), dev, gateway=g)
            if dev.p.poll() is not None:
                ended = "device ended by itself (rc %s) after %d kills:\n%s" % (dev.p.returncode, kills, dev.text())
                break
            dev.kill()
            kills += 1
        dev = start_device(store, g.port, runtime)
        assert dev.wait(120) == 0, dev.text()
    finally:
        if dev is not None:
            dev.kill()
        g.kill()
    assert kills == 5, ended
    assert_exactly_once(out, "sensor-dk")
    assert os.path.isdir(store)
