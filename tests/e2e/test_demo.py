"""`sensorkit demo` end to end: real provision, gateway and device processes; no leftovers."""

import os
import re
import signal
import subprocess

import pytest

from tests.e2e import support as S
from tools.demo import RecordCounter
from tools.executables import find_executable

RUNTIMES = ["cpython"] + (["micropython"] if find_executable("micropython") else [])


def _pids(out):
    m = re.search(r"demo: child pids gateway=(\d+) device=(\d+)", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def _assert_gone(pids):
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    # nothing left in the children's sessions either (each child leads its own)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            assert int(fields[3]) not in pids, "process %s left in a demo child's session" % entry


def _readings(out):
    return [(int(m.group(1)), int(m.group(2)))
            for m in re.finditer(r"^reading +(\d+)(?:/\d+)? +seq (\d+) +T +[-\d.]+ Cel +RH +[\d.]+ %RH$", out, re.M)]


@pytest.mark.parametrize("runtime", ["auto"] + RUNTIMES)
def test_demo_count_5(runtime):
    r = subprocess.run([S.PY, "-m", "tools.cli", "demo", "--count", "5", "--interval", "0.2", "--runtime", runtime],
                       cwd=S.ROOT, capture_output=True, text=True, timeout=240,
                       env=dict(os.environ, PYTHONPATH=S.ROOT))
    out = r.stdout
    assert r.returncode == 0, out + r.stderr
    expect = {"auto": "MicroPython" if find_executable("micropython") else "CPython",
              "micropython": "MicroPython", "cpython": "CPython"}[runtime]
    assert re.search(r"device application on %s " % expect, out), out
    assert re.search(r"^handshake +TLS 1\.2 PSK, identity demo-sensor-1, suite TLS-PSK-WITH-AES-128-CCM$", out,
                     re.M), out
    assert re.search(r"^attestation +ACCEPTED", out, re.M), out
    iid = re.search(r"^\[1/3\].*\n +instance id ([0-9a-f]{66})$", out, re.M).group(1)
    assert re.search(r"^  instance id +%s$" % iid, out, re.M), out  # the token's claim = what was provisioned
    assert re.search(r"^  lifecycle +0x3000 secured$", out, re.M), out
    assert re.search(r"^  software +sensorkit [0-9a-f]{16}\.\.\., app [0-9a-f]{16}\.\.\.: measurement ok", out, re.M), out
    assert _readings(out) == [(i, i) for i in range(1, 6)], out
    temps = re.findall(r"^reading .* T +([-\d.]+) Cel", out, re.M)
    assert len(set(temps)) > 1, out  # the sim board's room, not a constant
    assert re.search(r"^summary: 5 readings in [\d.]+ s over 1 connection$", out, re.M), out
    m = re.search(r"^  per reading: +([\d.]+) bytes of batches device->gateway, ([\d.]+) bytes of acks back$",
                  out, re.M)
    assert m and float(m.group(1)) > 20 and float(m.group(2)) > 0, out
    hs = re.search(r"^  TLS handshake\* device->gateway +(\d+) +gateway->device +(\d+)$", out, re.M)
    assert hs and int(hs.group(1)) > 50 and int(hs.group(2)) > 50, out
    assert re.search(r"^demo: stopped gateway \(pid \d+, exit 0\), device \(pid \d+, exit 0\)", out, re.M), out
    _assert_gone(_pids(out))


def test_demo_ctrl_c_stops_everything():
    p = S.Proc([S.PY, "-m", "tools.cli", "demo", "--count", "0", "--interval", "0.1", "--runtime", "cpython"])
    try:
        p.wait_line(r"^reading +2 +seq 2 ", timeout=120)
        pids = _pids(p.text())
        p.p.send_signal(signal.SIGINT)
        assert p.wait(60) == 0, p.text()
    finally:
        p.kill()
    out = p.text()
    assert "demo: interrupted" in out, out
    n = len(_readings(out))
    assert n >= 2 and re.search(r"^summary: %d readings? in" % n, out, re.M), out
    _assert_gone(pids)


def test_demo_rejects_negative_count():
    r = subprocess.run([S.PY, "-m", "tools.cli", "demo", "--count", "-1"], cwd=S.ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "must not be negative" in r.stderr


def _record(rtype, body_len):
    return bytes([rtype, 3, 3, body_len >> 8, body_len & 0xFF]) + b"\xaa" * body_len


def test_record_counter_splits_records_across_reads():
    stream = (_record(22, 40) + _record(20, 1) + _record(22, 40) + _record(23, 300) + _record(23, 70)
              + _record(23, 70) + _record(21, 26))
    for chunk in (1, 3, 7, len(stream)):
        c = RecordCounter(1)
        for i in range(0, len(stream), chunk):
            c.feed(stream[i:i + chunk])
        assert c.totals == {"handshake": 45 + 6 + 45 + 31, "attestation": 305, "readings": 150}, chunk
        assert c.readings_records == 2 and c.last_record == 75
