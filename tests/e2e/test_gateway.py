"""The reference gateway as a real process, driven by stand-in devices (python-mbedtls + pycose).

Each test starts its own `sensorkit gateway` on 127.0.0.1 with a free port and kills it by pid.
"""

import socket
import struct
import threading
import time

import cbor2
import pytest

from device.app import protocol as P
from device.app.link import LinkError
from tests.e2e import support as S


@pytest.fixture
def gw(tmp_path):
    names = ["dev-%03d" % i for i in range(3)]
    entries = {n: S.registry_entry(n) for n in names}
    entries["debug-dev"] = S.registry_entry("debug-dev")
    entries["any-sw"] = S.registry_entry("any-sw", lifecycles=[0x3000, 0x4001], sw=None)
    reg = S.write_registry(str(tmp_path / "devices.json"), entries)
    out = str(tmp_path / "readings.jsonl")
    g = S.start_gateway(tmp_path, reg, out=out, extra=["--timeout", "2", "--handshake-timeout", "2"])
    g.out = out
    g.reg = reg
    yield g
    g.kill()


def _send(link, first, n, dropped=0, name="dev"):
    return link.send_batch(first, dropped, [S.senml_reading(s, name) for s in range(first, first + n)])


@pytest.mark.parametrize("suite", S.SUITES)
def test_attested_device_batches_land_in_sink_once(gw, suite):
    link = S.standin_link(gw.port, "dev-000", suites=(suite,))
    link.open()
    assert link.cipher_suite == suite
    assert link.max_readings == 32
    assert _send(link, 1, 5) == 5
    assert _send(link, 3, 5) == 7  # a resend overlapping what the gateway already holds
    link.close()
    gw.wait_line(r"dev-000: closed by the device")
    rows = S.read_sink(gw.out)
    assert [r["seq"] for r in rows] == list(range(1, 8))
    assert rows[0]["device"] == "dev-000"
    # one row per reading: its resolved records (RFC 8428 §4.6) from the batch's merged pack
    for r in rows:
        t, h = r["senml"]
        assert sorted(t) == sorted(h) == ["n", "t", "u", "v"]
        assert (t["n"], t["u"], h["n"], h["u"]) == ("urn:dev:dev:T", "Cel", "urn:dev:dev:RH", "%RH")
        assert round(t["v"] * 100) == 2000 + r["seq"] * 10 and round(h["v"] * 100) == 4000 + r["seq"] * 10
        assert t["t"] == h["t"] == S.BASE_TIME + r["seq"]


def test_ccm_is_preferred(gw):
    link = S.standin_link(gw.port, "dev-001")  # offers all four; the server's order decides
    link.open()
    assert link.cipher_suite == "TLS-PSK-WITH-AES-128-CCM"
    link.close()


def test_drop_count_is_logged(gw):
    link = S.standin_link(gw.port, "dev-002")
    link.open()
    assert _send(link, 10, 2, dropped=9) == 11
    link.close()
    gw.wait_line(r"dev-002: device reports 9 readings dropped before seq 10")


def test_sink_survives_gateway_restart_without_duplicates(gw, tmp_path):
    link = S.standin_link(gw.port, "dev-000")
    link.open()
    assert _send(link, 1, 4) == 4
    link.abort()
    gw.kill()
    g2 = S.start_gateway(tmp_path, gw.reg, port=gw.port, out=gw.out)
    try:
        link = S.standin_link(g2.port, "dev-000")
        link.open()
        assert _send(link, 1, 6) == 6  # the device never saw the ack of 1..4
        link.close()
        g2.wait_line(r"closed by the device")
    finally:
        g2.kill()
    assert [r["seq"] for r in S.read_sink(gw.out)] == [1, 2, 3, 4, 5, 6]


def test_torn_sink_tail_is_repaired(tmp_path):
    reg = S.write_registry(str(tmp_path / "devices.json"), {"dev-000": S.registry_entry("dev-000")})
    out = tmp_path / "readings.jsonl"
    out.write_text('{"device":"dev-000","seq":1,"senml":[{"n":"x","v":1}],"received":0}\n{"device":"dev-0')
    g = S.start_gateway(tmp_path, reg, out=str(out))
    try:
        g.wait_line(r"dropping a torn tail of 16 bytes")
        link = S.standin_link(g.port, "dev-000")
        link.open()
        assert _send(link, 1, 2) == 2
        link.close()
        g.wait_line(r"closed by the device")
    finally:
        g.kill()
    assert [r["seq"] for r in S.read_sink(str(out))] == [1, 2]


# --- refusals, each with its logged reason ------------------------------------------------


def _refused(gw, link, pattern):
    with pytest.raises((LinkError, OSError, Exception)):
        link.open()
    gw.wait_line(pattern)


def test_wrong_psk_refused(gw):
    _refused(gw, S.standin_link(gw.port, "dev-000", psk=b"\x00" * 16),
             r"refused: TLS handshake failed for identity 'dev-000' \(wrong PSK\?\)")


def test_unknown_identity_refused(gw):
    _refused(gw, S.standin_link(gw.port, "nobody"), r"refused: unknown PSK identity 'nobody'")


def test_token_with_wrong_iak_refused(gw):
    bad_iak = b"\x42" * 32
    link = S.standin_link(gw.port, "dev-001",
                          token_fn=lambda n: S.make_token(bad_iak, n, iid=S.instance_id(S.device_keys("dev-001")[1])))
    with pytest.raises(LinkError) as e:
        link.open()
    assert "refused the attestation" in str(e.value)
    gw.wait_line(r"dev-001: refused: MAC mismatch: the token was not made with this IAK")


def test_wrong_nonce_refused(gw):
    iak = S.device_keys("dev-001")[1]
    link = S.standin_link(gw.port, "dev-001", token_fn=lambda n: S.make_token(iak, bytes(32)))
    with pytest.raises(LinkError):
        link.open()
    gw.wait_line(r"dev-001: refused: nonce does not match the challenge")


def test_instance_id_mismatch_refused(gw):
    iak = S.device_keys("dev-001")[1]
    link = S.standin_link(gw.port, "dev-001", token_fn=lambda n: S.make_token(iak, n, iid=b"\x01" + bytes(32)))
    with pytest.raises(LinkError):
        link.open()
    gw.wait_line(r"dev-001: refused: instance id is not 0x01 \|\| SHA-256")


def test_sw_measurement_not_allowed_refused(gw):
    iak = S.device_keys("dev-002")[1]
    link = S.standin_link(gw.port, "dev-002", token_fn=lambda n: S.make_token(iak, n, sw=[b"\xee" * 32]))
    with pytest.raises(LinkError):
        link.open()
    gw.wait_line(r"dev-002: refused: software component 'sensorkit' measures (ee){32}: not an allowed measurement")


def test_lifecycle_not_allowed_refused(gw):
    iak = S.device_keys("debug-dev")[1]
    link = S.standin_link(gw.port, "debug-dev", token_fn=lambda n: S.make_token(iak, n, lifecycle=0x4000))
    with pytest.raises(LinkError):
        link.open()
    gw.wait_line(r"debug-dev: refused: lifecycle non-psa-rot-debug \(0x4000\) not allowed")


def test_registry_options_allow_debug_and_any_sw(gw):
    iak = S.device_keys("any-sw")[1]
    link = S.standin_link(gw.port, "any-sw", token_fn=lambda n: S.make_token(iak, n, lifecycle=0x4001, sw=()))
    link.open()
    assert _send(link, 1, 1) == 1
    link.close()


# --- malformed, oversize, slow and silent devices cost only their connection ---------------


def _attested_raw(gw, name="dev-000"):
    """An attested connection, returning the raw TLS socket for hand-made frames."""
    link = S.standin_link(gw.port, name)
    link.open()
    return link, link._stream._s


def _frame(obj):
    payload = cbor2.dumps(obj)
    return struct.pack(">H", len(payload)) + payload


def _still_serving(gw, name="dev-001"):
    link = S.standin_link(gw.port, name)
    link.open()
    link.close()


@pytest.mark.parametrize("bad, reason", [
    (b"\x00\x00", r"protocol error: empty frame"),
    (b"\x10\x01" + b"\x00" * 8, r"protocol error: frame of 4097 bytes exceeds the limit of 4096"),
    (b"\x00\x03\xff\xff\xff", r"protocol error: frame is not one CBOR item"),
    (_frame([1, 4, 1, 0, 1, [{0: "t", 2: 1.0}], "extra"]), r"protocol error: unknown message type 4 with 7"),
    (_frame([2, 4, 1, 0, 1, []]), r"protocol error: unsupported protocol version 2"),
    (_frame([1, 4, 0, 0, 1, [{0: "t", 2: 1.0}]]), r"protocol error: sequence numbers start at 1"),
    (_frame([1, 4, 1, 0, 1, [{0: "t", 2: cbor2.CBORTag(99, 1)}]]), r"protocol error: SenML v is not a finite"),
    (_frame([1, 4, 1, 0, 1, []]), r"protocol error: a batch carries a non-empty SenML pack"),
    (_frame([1, 4, 1, 0, 33, [{0: "t", 2: 1.0}]]), r"protocol error: batch of 33 readings \(limit 32\)"),
    # the declared count must match the merged pack: 3 readings cannot be 4 records
    (_frame([1, 4, 1, 0, 3, [{-2: "d:", 0: "T", 2: 1}, {0: "T", 2: 2}, {0: "RH", 2: 3}, {0: "RH", 2: 4}]]),
     r"protocol error: batch declares 3 readings but its pack resolves to 4 records"),
    (_frame([1, 4, 1, 0, 2, [{-2: "d:", 0: "T", 2: 1}, {0: "RH", 2: 2}, {0: "T", 2: 3}, {0: "RH", 2: 4}]]),
     r"protocol error: batch declares 2 readings but record 1 is 'd:RH', not 'd:T'"),
    (_frame([1, 5, 3]), r"protocol error: expected a batch, got message type 5"),
])
def test_malformed_frames_drop_only_that_connection(gw, bad, reason):
    link, raw = _attested_raw(gw)
    raw.sendall(bad)
    gw.wait_line(r"dev-000: dropped: " + reason)
    with pytest.raises(Exception):
        link.send_batch(1, 0, [S.senml_reading(1)])  # the gateway said error and closed
    _still_serving(gw)
    assert S.read_sink(gw.out) == [] if __import__("os").path.exists(gw.out) else True


def test_silent_device_times_out(gw):
    link, raw = _attested_raw(gw)
    gw.wait_line(r"dev-000: dropped: timed out waiting for the device", timeout=10)
    _still_serving(gw)


def test_device_that_never_answers_the_challenge(gw):
    s = socket.create_connection(("127.0.0.1", gw.port))
    stream = S.MbedTLSStream(s, "dev-002", S.device_keys("dev-002")[0])
    gw.wait_line(r"dev-002: dropped: timed out waiting for the device", timeout=10)
    stream.close()
    _still_serving(gw)


def test_slow_trickle_times_out(gw):
    link, raw = _attested_raw(gw)
    frame = _frame([1, 4, 1, 0, 1, [{0: "t", 2: 1.0}]])
    for b in frame[:-1]:  # one byte every 0.5 s: each recv is quick, the frame is not
        raw.sendall(bytes([b]))
        time.sleep(0.5)
        if any("timed out" in x for x in gw.lines):
            break
    gw.wait_line(r"dev-000: dropped: timed out waiting for the device", timeout=10)


def test_plain_tcp_garbage_before_handshake(gw):
    s = socket.create_connection(("127.0.0.1", gw.port))
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
    s.settimeout(5)
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
    gw.wait_line(r"refused: TLS handshake failed")
    _still_serving(gw)


def test_hundred_devices_at_once(tmp_path):
    names = ["fleet-%03d" % i for i in range(100)]
    reg = S.write_registry(str(tmp_path / "devices.json"), {n: S.registry_entry(n) for n in names})
    out = str(tmp_path / "readings.jsonl")
    g = S.start_gateway(tmp_path, reg, out=out, extra=["--quiet"])
    try:
        links = [S.standin_link(g.port, n, timeout=60) for n in names]
        opened = threading.Barrier(len(links), timeout=120)
        errors = []

        def device(link):
            try:
                link.open()
                opened.wait()  # all 100 attested and connected at the same time
                for first in (1, 6):
                    assert _send(link, first, 5, name=link.identity) == first + 4
                link.close()
            except Exception as e:  # reported below
                errors.append("%s: %r" % (link.identity, e))
                opened.abort()

        threads = [threading.Thread(target=device, args=(ln,)) for ln in links]
        for t in threads:
            t.start()
        for t in threads:
            t.join(180)
        assert not errors, errors[:5]
    finally:
        g.kill()
    rows = S.read_sink(out)
    assert len(rows) == 1000
    assert {(r["device"], r["seq"]) for r in rows} == {(n, s) for n in names for s in range(1, 11)}
