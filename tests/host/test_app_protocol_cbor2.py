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


senml_value = st.one_of(st.floats(allow_nan=False, width=32), st.integers(-2**31, 2**31), st.text(max_size=8),
                        st.booleans())
record = st.dictionaries(st.one_of(st.integers(-6, 8), st.text(min_size=1, max_size=4)), senml_value,
                         min_size=1, max_size=4)
pack = st.lists(record, min_size=1, max_size=3)


@settings(max_examples=150, deadline=None)
@given(first=st.integers(1, 2**32 - 40), dropped=st.integers(0, 2**32 - 1), readings=st.lists(pack, max_size=20))
def test_batches_decode_identically_with_cbor2_and_device_cbor(first, dropped, readings):
    raw = [cbor2.dumps(r) for r in readings]
    try:
        f = frame(P.encode_batch_into, first, dropped, raw)
    except P.ProtocolError as e:
        assert e.code == P.ERR_TOO_LARGE and sum(map(len, raw)) > P.MAX_FRAME - 20
        return
    payload = f[2:]
    assert P.frame_length(f[:2]) == len(payload)
    ref = cbor2.loads(payload)
    assert ref == [1, 4, first, dropped, readings]
    assert cbor.loads(payload) == ref
    kind, fields = P.parse_message(ref)
    assert kind == P.BATCH and fields == (first, dropped, readings)


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


def test_senml_json_conversion():
    from tools.gateway import senml_json

    assert senml_json([{-2: "urn:x:", -3: 5, 0: "T", 1: "Cel", 2: 21.5}, {0: "blob", 8: b"\xff\x00"}]) == [
        {"bn": "urn:x:", "bt": 5, "n": "T", "u": "Cel", "v": 21.5}, {"n": "blob", "vd": "_wA"}]
    with pytest.raises(P.ProtocolError):
        senml_json([{2: [1, 2]}])
