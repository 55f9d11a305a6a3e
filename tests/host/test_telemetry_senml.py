"""Telemetry records decoded by cbor2 and resolved by an RFC 8428 §4.6 reading written here,
independently of device/senml.py, against the simulator's own values."""

import math

import cbor2
from hypothesis import given, settings
from hypothesis import strategies as st

from device import senml
from device.psa import spm
from device.psa import telemetry as TL
from sensors.sht31 import SHT31
from sensors.sim import SimClock, SimI2C, SimulatedSHT31

# SenML labels (RFC 8428 Table 4)
BN, BT, BU, BV, N, U, V, T = -2, -3, -4, -5, 0, 1, 2, 6
RESOLUTION = 0.01  # the SHT31's resolution (datasheet): degC and %RH
NAME_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-:./_")


def rfc8428_resolve(data):
    """Resolved records from SenML-CBOR bytes, checking what RFC 8428 requires of them."""
    pack = cbor2.loads(data)
    assert isinstance(pack, list) and pack
    base = {"bn": "", "bt": 0, "bu": None, "bv": 0}
    out = []
    for rec in pack:
        assert isinstance(rec, dict)
        assert set(rec) <= {BN, BT, BU, BV, N, U, V, T}, rec
        for key, label in ((BN, "bn"), (BT, "bt"), (BU, "bu"), (BV, "bv")):
            if key in rec:
                base[label] = rec[key]
        name = base["bn"] + rec.get(N, "")
        assert name and name[0].isalnum() and set(name) <= NAME_CHARS, name
        assert isinstance(rec[V], (int, float)) and not isinstance(rec[V], bool)
        out.append({"n": name, "u": rec.get(U, base["bu"]), "v": base["bv"] + rec[V], "t": base["bt"] + rec.get(T, 0)})
    return out


def test_readings_match_the_simulator(tmp_path):
    from device.partitions import attest

    clock = SimClock()
    chip = SimulatedSHT31(temperature=lambda t: 22 + 9 * math.sin(t / 70), humidity=lambda t: 50 + 40 * math.cos(t / 300),
                          clock=clock)
    sensor = SHT31(SimI2C([chip], log=False), sleep_us=clock.sleep_us)
    now = [1764160000]
    spm.configure(storage_root=str(tmp_path), sensor=sensor, clock=lambda: now[0], attest_sw_components=[])
    iid = attest.provision_iak(b"\x42" * 32)
    packs = []
    for i in range(25):
        clock.advance_us(13000000)
        now[0] += 10
        pack = TL.telemetry_read()
        want_t, want_h = chip.expected()  # the room drifts < 0.001 during one measurement
        recs = rfc8428_resolve(pack)
        assert [(r["n"].rsplit(":", 1)[1], r["u"]) for r in recs] == [("T", "Cel"), ("RH", "%RH")]
        assert all(r["n"].startswith(senml_base(iid)) for r in recs)
        assert all(r["t"] == now[0] for r in recs)
        assert abs(recs[0]["v"] - want_t) <= RESOLUTION, (recs[0]["v"], want_t)
        assert abs(recs[1]["v"] - want_h) <= RESOLUTION, (recs[1]["v"], want_h)
        packs.append(pack)
    # ten of them batched: the same resolved records, much smaller
    batch = senml.batch(packs[:10])
    rb = sorted(rfc8428_resolve(batch), key=lambda r: (r["t"], r["n"]))
    rs = sorted((r for p in packs[:10] for r in rfc8428_resolve(p)), key=lambda r: (r["t"], r["n"]))
    assert [(r["n"], r["u"], r["t"]) for r in rb] == [(r["n"], r["u"], r["t"]) for r in rs]
    assert all(round(a["v"] * 100) == round(b["v"] * 100) for a, b in zip(rb, rs))
    assert len(batch) <= 28 * 10


def senml_base(iid):
    import base64

    return base64.urlsafe_b64encode(iid).decode().rstrip("=") + ":"


readings = st.lists(
    st.tuples(st.integers(0, 86400), st.integers(-4500, 13000), st.integers(0, 10000)), min_size=1, max_size=60
)


@settings(max_examples=300, deadline=None)
@given(rs=readings, base=st.sampled_from(["AQID:", "urn:dev:ow:10e2073a01080063:", "A" * 44 + ":"]))
def test_batches_are_valid_senml_and_exact(rs, base):
    rs = [(1764160000 + dt, tc, hc) for dt, tc, hc in sorted(rs)]
    data = senml.encode_batch(base, rs)
    recs = rfc8428_resolve(data)
    temps = [r for r in recs if r["u"] == "Cel"]
    hums = [r for r in recs if r["u"] == "%RH"]
    assert [r["n"] for r in temps] == [base + "T"] * len(rs) and [r["n"] for r in hums] == [base + "RH"] * len(rs)
    assert [(r["t"], round(r["v"] * 100)) for r in temps] == [(t, tc) for t, tc, _ in rs]
    assert [(r["t"], round(r["v"] * 100)) for r in hums] == [(t, hc) for t, _, hc in rs]
    assert all(abs(r["v"] * 100 - c) <= 0.4 for r, c in zip(temps, [x[1] for x in rs]))


@settings(max_examples=200, deadline=None)
@given(t=st.integers(0, 2**32 - 1), tc=st.integers(-4500, 13000), hc=st.integers(0, 10000))
def test_single_readings_are_valid_senml_and_exact(t, tc, hc):
    recs = rfc8428_resolve(senml.encode_reading("AQID:", t, tc, hc))
    assert [(r["n"], r["u"], r["t"], round(r["v"] * 100)) for r in recs] == [
        ("AQID:T", "Cel", t, tc), ("AQID:RH", "%RH", t, hc)]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80))
def test_random_bytes_raise_only_senml_error(data):
    try:
        senml.resolve(data)
        senml.readings(data)
    except senml.SenMLError:
        pass


_FLOAT_LEN = {0xF9: 3, 0xFA: 5, 0xFB: 9}


@settings(max_examples=150, deadline=None)
@given(rs=st.lists(st.tuples(st.integers(0, 86400), st.integers(-4500, 13000), st.integers(0, 10000)), min_size=1, max_size=8),
       rnd=st.randoms(use_true_random=False), n=st.integers(1, 4))
def test_mutated_packs_raise_only_senml_error(rs, rnd, n):
    """Flip, insert, overwrite (with half-float inf/NaN) or cut bytes of a real batch: readings() answers
    with ints or raises SenMLError."""
    data = bytearray(senml.encode_batch("AQID:", rs))
    for _ in range(n):
        op, pos = rnd.randrange(4), rnd.randrange(len(data) + 1)
        if op == 0 and pos < len(data):
            data[pos] ^= 1 << rnd.randrange(8)
        elif op == 1:
            data[pos:pos] = rnd.choice((b"\xf9\x7c\x00", b"\xf9\x7e\x00", bytes((rnd.randrange(256),))))  # inf, NaN
        elif op == 2:  # a float item (half, single or double) becomes +inf, -inf or NaN
            floats = [i for i, b in enumerate(data) if b in _FLOAT_LEN]
            if floats:
                i = rnd.choice(floats)
                data[i:i + _FLOAT_LEN[data[i]]] = rnd.choice((b"\xf9\x7c\x00", b"\xf9\xfc\x00", b"\xf9\x7e\x00"))
        else:
            del data[pos:]
    try:
        base, got = senml.readings(bytes(data))
    except senml.SenMLError:
        return
    assert isinstance(base, str)
    assert all(isinstance(x, int) for r in got for x in r)
