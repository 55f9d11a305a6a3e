"""device.cbor on both lanes: RFC 8949 Appendix A, deterministic encoding, bad input."""

import gc
import sys

from device import cbor
from device.cbor import CBORDecodeError, CBOREncodeError, CBORSimple, CBORTag, CBORTruncatedError, undefined

MICROPYTHON = sys.implementation.name == "micropython"
INF = float("inf")
NAN = float("nan")


def _h(s):
    return bytes.fromhex(s)


# RFC 8949 Appendix A: (encoding, value). Every one of these is also the preferred
# (deterministic) encoding, so dumps(value) must give exactly these bytes.
# The bignums (2**64 and beyond) need long ints; the MicroPython unix port has them, so
# nothing is skipped here (a board built with MICROPY_LONGINT_IMPL_LONGLONG would not).
APPENDIX_A = [
    ("00", 0),
    ("01", 1),
    ("0a", 10),
    ("17", 23),
    ("1818", 24),
    ("1819", 25),
    ("1864", 100),
    ("1903e8", 1000),
    ("1a000f4240", 1000000),
    ("1b000000e8d4a51000", 1000000000000),
    ("1bffffffffffffffff", 18446744073709551615),
    ("c249010000000000000000", 18446744073709551616),
    ("3bffffffffffffffff", -18446744073709551616),
    ("c349010000000000000000", -18446744073709551617),
    ("20", -1),
    ("29", -10),
    ("3863", -100),
    ("3903e7", -1000),
    ("f90000", 0.0),
    ("f98000", -0.0),
    ("f93c00", 1.0),
    ("fb3ff199999999999a", 1.1),
    ("f93e00", 1.5),
    ("f97bff", 65504.0),
    ("fa47c35000", 100000.0),
    ("fa7f7fffff", 3.4028234663852886e38),
    ("fb7e37e43c8800759c", 1.0e300),
    ("f90001", 5.960464477539063e-8),
    ("f90400", 0.00006103515625),
    ("f9c400", -4.0),
    ("fbc010666666666666", -4.1),
    ("f97c00", INF),
    ("f97e00", NAN),
    ("f9fc00", -INF),
    ("f4", False),
    ("f5", True),
    ("f6", None),
    ("f7", undefined),
    ("f0", CBORSimple(16)),
    ("f8ff", CBORSimple(255)),
    ("c074323031332d30332d32315432303a30343a30305a", CBORTag(0, "2013-03-21T20:04:00Z")),
    ("c11a514b67b0", CBORTag(1, 1363896240)),
    ("c1fb41d452d9ec200000", CBORTag(1, 1363896240.5)),
    ("d74401020304", CBORTag(23, b"\x01\x02\x03\x04")),
    ("d818456449455446", CBORTag(24, b"dIETF")),
    ("d82076687474703a2f2f7777772e6578616d706c652e636f6d", CBORTag(32, "http://www.example.com")),
    ("40", b""),
    ("4401020304", b"\x01\x02\x03\x04"),
    ("60", ""),
    ("6161", "a"),
    ("6449455446", "IETF"),
    ("62225c", '"\\'),
    ("62c3bc", "\u00fc"),
    ("63e6b0b4", "\u6c34"),
    ("64f0908591", b"\xf0\x90\x85\x91".decode("utf-8")),
    ("80", []),
    ("83010203", [1, 2, 3]),
    ("8301820203820405", [1, [2, 3], [4, 5]]),
    ("98190102030405060708090a0b0c0d0e0f101112131415161718181819", list(range(1, 26))),
    ("a0", {}),
    ("a201020304", {1: 2, 3: 4}),
    ("a26161016162820203", {"a": 1, "b": [2, 3]}),
    ("826161a161626163", ["a", {"b": "c"}]),
    ("a56161614161626142616361436164614461656145", {"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"}),
]

# Appendix A encodings that are not preferred serialization: decode only.
APPENDIX_A_DECODE_ONLY = [
    ("fa7f800000", INF),
    ("fa7fc00000", NAN),
    ("faff800000", -INF),
    ("fb7ff0000000000000", INF),
    ("fb7ff8000000000000", NAN),
    ("fbfff0000000000000", -INF),
    ("5f42010243030405ff", b"\x01\x02\x03\x04\x05"),
    ("7f657374726561646d696e67ff", "streaming"),
    ("9fff", []),
    ("9f018202039f0405ffff", [1, [2, 3], [4, 5]]),
    ("9f01820203820405ff", [1, [2, 3], [4, 5]]),
    ("83018202039f0405ff", [1, [2, 3], [4, 5]]),
    ("83019f0203ff820405", [1, [2, 3], [4, 5]]),
    ("9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff", list(range(1, 26))),
    ("bf61610161629f0203ffff", {"a": 1, "b": [2, 3]}),
    ("826161bf61626163ff", ["a", {"b": "c"}]),
    ("bf6346756ef563416d7421ff", {"Fun": True, "Amt": -2}),
]


def _same(a, b):
    """Equality that also tells NaN, -0.0 and the singletons apart."""
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, float) and isinstance(b, float)):
            return False
        if a != a or b != b:
            return a != a and b != b
        return a == b and str(a)[0] == str(b)[0]
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and _same(a[k], b[k]) for k in a)
    if isinstance(a, CBORTag):
        return a.tag == b.tag and _same(a.value, b.value)
    return a == b


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc:
        return True
    return False


def test_appendix_a_decodes():
    for hexstr, value in APPENDIX_A + APPENDIX_A_DECODE_ONLY:
        got = cbor.loads(_h(hexstr))
        assert _same(got, value), (hexstr, got, value)


def test_appendix_a_encodes_to_preferred_serialization():
    for hexstr, value in APPENDIX_A:
        got = cbor.dumps(value)
        assert got == _h(hexstr), (value, got, hexstr)


def test_decode_accepts_bytearray_and_memoryview():
    data = _h("a26161016162820203")
    assert cbor.loads(bytearray(data)) == {"a": 1, "b": [2, 3]}
    assert cbor.loads(memoryview(data)) == {"a": 1, "b": [2, 3]}
    assert cbor.loads(memoryview(_h("4401020304"))) == b"\x01\x02\x03\x04"


def test_encode_bytes_like_tuple_and_bignum_edges():
    assert cbor.dumps(bytearray(b"ab")) == _h("426162")
    assert cbor.dumps(memoryview(b"ab")) == _h("426162")
    assert cbor.dumps((1, (2,))) == _h("82018102")
    assert cbor.dumps(2**64 - 1) == _h("1bffffffffffffffff")
    assert cbor.dumps(-(2**64)) == _h("3bffffffffffffffff")
    assert cbor.dumps(2**72) == _h("c24a01" + "00" * 9)


def test_map_keys_sorted_bytewise_by_encoding():
    # RFC 8949 4.2.1: 10 (0a) < 100 (1864) < -1 (20) < "z" (617a) < "aa" (626161)
    out = cbor.dumps({"aa": 0, -1: 0, "z": 0, 100: 0, 10: 0})
    assert out == _h("a5" "0a00" "186400" "2000" "617a00" "62616100")
    nested = cbor.dumps([{2: {"b": 1, "a": 2}, 1: 0}])
    assert nested == _h("81a20100" "02a2616102616201")
    assert cbor.dumps({b"x": 0, 1: 0, b"": 0}) == _h("a3" "0100" "4000" "417800")


def test_map_order_independent_of_insertion_order():
    # (no bytes keys next to str keys here: MicroPython's dict probing compares them and
    # the unix port prints "Comparison between bytes and str" warnings)
    keys = [5, "b", -3, CBORTag(1, 2), 300, "a", 0, -300, (1,), 23, 24, True, None, "aa", 1.5]
    pairs = [(k, i) for i, k in enumerate(keys)]
    entries = sorted(cbor.dumps(k) + cbor.dumps(i) for k, i in pairs)
    expected = bytes([0xA0 | len(keys)]) + b"".join(entries)
    for r in range(len(pairs)):
        order = pairs[r:] + pairs[:r]
        if r % 2:
            order.reverse()
        d = {}
        for k, i in order:
            d[k] = i
        assert cbor.dumps(d) == expected, r


def test_shortest_float():
    assert cbor.dumps(0.5) == _h("f93800")
    assert cbor.dumps(65505.0) == _h("fa477fe100")  # just beyond half precision
    assert cbor.dumps(1.0e-7) == _h("fb3e7ad7f29abcaf48")  # not exact in single
    assert cbor.dumps(2.0**-24) == _h("f90001")  # smallest half subnormal
    assert cbor.dumps(2.0**-25) == _h("fa33000000")  # half underflow -> single
    assert cbor.dumps(2.0**-149) == _h("fa00000001")  # smallest single subnormal
    assert cbor.dumps(2.0**-150) == _h("fb3690000000000000")
    assert cbor.dumps(-2.0**-24) == _h("f98001")


def test_half_float_decode_by_bits():
    assert cbor.loads(_h("f97bff")) == 65504.0
    assert cbor.loads(_h("f903ff")) == 1023 * 2.0**-24  # largest subnormal
    assert cbor.loads(_h("f9c000")) == -2.0
    assert cbor.loads(_h("f97c01")) != cbor.loads(_h("f97c01"))  # NaN with payload


def test_tags_simple_undefined_round_trip():
    obj = [CBORTag(17, [b"\xa1\x01\x05", {}, b"payload", b"\x00" * 32]), CBORSimple(0), undefined]
    data = cbor.dumps(obj)
    assert data[:2] == _h("83d1")
    back = cbor.loads(data)
    assert back[0] == obj[0] and back[1] == CBORSimple(0) and back[2] is undefined
    assert hash(CBORTag(1, 2)) == hash(CBORTag(1, 2))


def test_tuple_map_key_round_trips():
    assert cbor.loads(cbor.dumps({(1, (2,)): "x"})) == {(1, (2,)): "x"}


def test_encode_into_offset_and_decode_from_framing():
    buf = bytearray(32)
    end = cbor.encode_into([1, "a"], buf, 3)
    end = cbor.encode_into({1: b"\x00"}, buf, end)
    assert end == 3 + 4 + 4
    first, off = cbor.decode_from(buf, 3)
    assert first == [1, "a"] and off == 7
    second, off = cbor.decode_from(buf, off)
    assert second == {1: b"\x00"} and off == 11
    assert _raises(CBORDecodeError, cbor.decode_from, buf, 40)


def test_encode_into_too_small_raises_value_error():
    buf = bytearray(4)
    assert _raises(CBOREncodeError, cbor.encode_into, b"12345", buf)
    assert _raises(ValueError, cbor.encode_into, {1: 2, 3: 4}, buf)
    assert _raises(CBOREncodeError, cbor.encode_into, 1.1, buf)
    assert cbor.encode_into("abc", buf) == 4


def test_encode_rejects_unsupported_and_too_deep():
    assert _raises(CBOREncodeError, cbor.dumps, object())
    assert _raises(CBOREncodeError, cbor.dumps, {1: [object()]})
    assert _raises(CBOREncodeError, cbor.dumps, CBORTag(-1, 0))
    assert _raises(CBOREncodeError, cbor.dumps, CBORSimple(24))
    deep = 0
    for _ in range(cbor.MAX_DEPTH):
        deep = [deep]
    assert cbor.loads(cbor.dumps(deep)) == deep
    assert _raises(CBOREncodeError, cbor.dumps, [deep])
    loop = []
    loop.append(loop)
    assert _raises(CBOREncodeError, cbor.dumps, loop)


def test_decode_nesting_limit():
    ok = b"\x81" * cbor.MAX_DEPTH + b"\x00"
    assert cbor.loads(ok) is not None
    assert _raises(CBORDecodeError, cbor.loads, b"\x81" * (cbor.MAX_DEPTH + 1) + b"\x00")
    assert _raises(CBORDecodeError, cbor.loads, b"\x9f" * 5000)
    assert _raises(CBORDecodeError, cbor.loads, b"\xc1" * 5000 + b"\x00")
    assert _raises(CBORDecodeError, cbor.loads, b"\xa1\x00" * 5000 + b"\x00")


BAD = [
    "",  # nothing
    "18",  # truncated argument
    "1b000000",  # truncated 8-byte argument
    "0102",  # trailing byte
    "1c",  # reserved additional information
    "3e",
    "1f",  # indefinite unsigned int
    "df00",  # indefinite tag
    "ff",  # break outside an indefinite item
    "81ff",  # break inside a definite array
    "a1ff",
    "a101ff",
    "f818",  # simple value < 32 in two bytes
    "43010203ff",
    "5a7fffffff00",  # length beyond the input
    "7b7fffffffffffffff00",
    "9b7fffffffffffffff00",
    "bbffffffffffffffff0000",
    "9a00010000" + "00" * 100,
    "5f6161ff",  # text chunk in a byte string
    "5f5f41ffff",  # indefinite chunk
    "5f41",  # unterminated
    "9f01",
    "bf0101",
    "62fffe",  # invalid UTF-8
    "62c1bc",  # overlong UTF-8 (MicroPython's own decoder lets this through)
    "63eda080",  # UTF-8-encoded surrogate
    "64f4908080",  # beyond U+10FFFF
    "7f61616263eda080ff",  # ... in a chunk
    "63e6b0",  # truncated UTF-8 sequence at the end
    "a201010102",  # duplicate key
    "a2f97e0001fa7fc0000002",  # two NaN keys
    "a1a00101",  # unhashable key
    "a1810100ff",  # an array key is fine, the trailing break is not
    "c201",  # bignum tag without a byte string
    "f9",
    "fa0000",
    "fb00000000000000",
]


def test_bad_input_raises_cbordecodeerror_only():
    for hexstr in BAD:
        try:
            cbor.loads(_h(hexstr))
        except CBORDecodeError:
            continue
        assert False, "accepted " + hexstr


def test_truncations_of_valid_items_raise_truncated_error():
    for hexstr, _ in APPENDIX_A + APPENDIX_A_DECODE_ONLY:
        data = _h(hexstr)
        for n in range(len(data)):
            assert _raises(CBORTruncatedError, cbor.decode_from, data[:n]), (hexstr, n)
    try:
        cbor.loads(_h("1c"))
    except CBORTruncatedError:
        assert False, "malformed input reported as truncated"
    except CBORDecodeError:
        pass
    assert issubclass(CBORTruncatedError, CBORDecodeError)


def test_decode_error_is_value_error():
    assert issubclass(CBORDecodeError, ValueError) and issubclass(CBOREncodeError, ValueError)


def _senml_like():
    return {-2: "urn:dev:ow:10e2073a", 0: "temp", 1: "Cel", 2: 2350, 6: 17, -9: b"\x01\x02"}


def test_encode_small_map_into_reused_buffer_allocates_nothing():
    record = _senml_like()
    buf = bytearray(64)
    n = cbor.encode_into(record, buf)  # first call warms up anything lazy
    expected = bytes(buf[:n])
    assert cbor.loads(expected) == record
    gc.collect()
    before = gc.mem_alloc() if MICROPYTHON else 0
    n2 = cbor.encode_into(record, buf)
    after = gc.mem_alloc() if MICROPYTHON else 0
    assert n2 == n and bytes(buf[:n]) == expected
    if MICROPYTHON:  # the promise is about MicroPython's heap; CPython allocates freely
        assert after - before == 0, after - before
