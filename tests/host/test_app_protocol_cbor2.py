"""device/app/protocol.py against cbor2 (the reference codec) and device.cbor, with hypothesis."""

import cbor2
import pytest
from hypothesis import given, settings, strategies as st

from device import cbor
from device.app import protocol as P


def frame(enc, *args):
    return P.frame(enc, *args)


def test_encoders_match_cbor2_deterministic_encoding():
    cases = [
        (P.encode_challenge_into, (bytes(64),), [1, 1, bytes(64)]),
        (P.encode_token_into, (bytes(300),), [1, 2, bytes(300)]),
        (P.encode_verdict_into, (0, 255), [1, 3, 0, 255]),
        (P.encode_ack_into, (2**32 - 1,), [1, 5, 2**32 - 1]),
        (P.encode_error_into, (6, "internal \u2603"), [1, 6, 6, "internal \u2603"]),
        (P.encode_close_into, (), [1, 7]),
    ]
    for enc, args, msg in cases:
        f = frame(enc, *args)
        assert f[2:] == cbor2.dumps(msg, canonical=True)
        assert int.from_bytes(f[:2], "big") == len(f) - 2


centi = st.integers(-4500, 13000)
reading = st.tuples(st.integers(1764170000, 1764170000 + 86400), centi, st.integers(0, 10000))


@settings(max_examples=150, deadline=None)
@given(first=st.integers(1, 2**32 - 300), dropped=st.integers(0, 2**32 - 1),
       readings=st.lists(reading, min_size=1, max_size=40))
def test_batches_decode_identically_with_cbor2_and_device_cbor(first, dropped, readings):
    from device import senml
    from tools.gateway import batch_readings

    raw = [senml.encode_reading("AYa9Qk:", t, tc, hc) for t, tc, hc in readings]
    f = frame(P.encode_batch_into, first, dropped, raw)
    payload = f[2:]
    assert P.frame_length(f[:2]) == len(payload)
    ref = cbor2.loads(payload)
    assert ref[:5] == [1, 4, first, dropped, len(readings)]
    assert cbor.loads(payload) == ref
    kind, fields = P.parse_message(ref)
    assert kind == P.BATCH and fields[:3] == (first, dropped, len(readings))
    # the gateway's RFC 8428 resolution, split by the declared count, gives every reading back in seq order
    rows = batch_readings(fields[2], fields[3])
    assert len(rows) == len(readings)
    for (t, tc, hc), (temp, hum) in zip(readings, rows):
        assert temp["n"] == "AYa9Qk:T" and temp["u"] == "Cel" and hum["n"] == "AYa9Qk:RH" and hum["u"] == "%RH"
        assert temp["t"] == hum["t"] == t
        assert round(temp["v"] * 100) == tc and round(hum["v"] * 100) == hc


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=False), st.text(max_size=5),
              st.binary(max_size=70)),
    lambda kids: st.one_of(st.lists(kids, max_size=6), st.dictionaries(st.one_of(st.integers(), st.text(max_size=3)),
                                                                        kids, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(msg=st.one_of(json_like, st.tuples(st.just(1), st.integers(0, 9)).map(list).flatmap(
    lambda head: st.lists(json_like, max_size=4).map(lambda rest: head + rest))))
def test_parse_message_never_fails_other_than_protocol_error(msg):
    try:
        kind, fields = P.parse_message(msg)
    except P.ProtocolError as e:
        assert e.code in (P.ERR_PROTOCOL, P.ERR_VERSION)
        return
    assert kind in (P.CHALLENGE, P.TOKEN, P.VERDICT, P.BATCH, P.ACK, P.ERROR, P.CLOSE)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(min_size=0, max_size=4))
def test_frame_length_accepts_only_1_to_max(data):
    try:
        n = P.frame_length(data)
    except P.ProtocolError:
        assert len(data) != 2 or int.from_bytes(data, "big") in (0,) or int.from_bytes(data, "big") > P.MAX_FRAME
        return
    assert len(data) == 2 and 1 <= n <= P.MAX_FRAME


def test_senml_resolution_rfc8428():
    from tools.gateway import batch_readings, senml_resolve

    recs = senml_resolve([{-1: 10, -2: "urn:x:", -3: 1764170000, -4: "Cel", -5: 20, 0: "T", 2: 1.5},
                          {0: "T", 6: 60, 2: -1}, {0: "s", 1: "%RH", 3: "ok"}, {0: "blob", 8: b"\xff\x00"},
                          {-2: "", 0: "rel", 6: -5, 2: 1, "extra": 1}], now=1800000000)
    assert recs == [
        {"n": "urn:x:T", "u": "Cel", "v": 21.5, "t": 1764170000},
        {"n": "urn:x:T", "u": "Cel", "v": 19, "t": 1764170060},
        {"n": "urn:x:s", "u": "%RH", "vs": "ok", "t": 1764170000},
        {"n": "urn:x:blob", "u": "Cel", "vd": "_wA", "t": 1764170000},
        {"n": "rel", "u": "Cel", "v": 21, "t": 1764170000 - 5},
    ]
    assert senml_resolve([{0: "x", 2: 1, 6: -5}], now=1800000000) == [{"n": "x", "v": 1, "t": 1800000000 - 5}]
    bad = [
        [{2: [1, 2]}],                 # value not a number
        [{0: "x", 2: 1, 3: "a"}],      # two values
        [{0: "x"}],                    # no value
        [{2: 1}],                      # no name
        [{0: "-x", 2: 1}],             # bad first character
        [{0: "x y", 2: 1}],            # bad character
        [{0: "x", 2: 1, "must_": 1}],  # must-understand label
        [{-1: 11, 0: "x", 2: 1}],      # bver
        [{0: "x", 2: float("nan")}],
        [{0: "x", 4: 1}],              # vb not bool
        [],
    ]
    for b in bad:
        with pytest.raises(P.ProtocolError):
            senml_resolve(b)
    two = [{-2: "d:", 0: "T", 2: 1}, {0: "T", 2: 2}, {0: "RH", 2: 3}, {0: "RH", 2: 4}]
    assert [[r["n"] + str(r["v"]) for r in rd] for rd in batch_readings(2, two, now=0)] == [
        ["d:T1", "d:RH3"], ["d:T2", "d:RH4"]]
    with pytest.raises(P.ProtocolError, match="declares 3 readings but its pack resolves to 4 records"):
        batch_readings(3, two)
    interleaved = [{-2: "d:", 0: "T", 2: 1}, {0: "RH", 2: 3}, {0: "T", 2: 2}, {0: "RH", 2: 4}]
    with pytest.raises(P.ProtocolError, match="record 1 is 'd:RH', not 'd:T'"):
        batch_readings(2, interleaved)  # sections per quantity, not records per reading
    assert len(batch_readings(1, interleaved, now=0)[0]) == 4  # one reading may carry any records
