"""device.cbor against cbor2 (the reference CPython codec), driven by hypothesis.

cbor2's ``canonical=True`` sorts map keys length-first (RFC 8949 §4.2.3, the RFC 7049
rule) while device.cbor follows RFC 8949 §4.2.1 (bytewise order of the encoded keys).
So: byte-identical to cbor2 for every value whose maps have keys of one encoded length
(where both rules agree), and for arbitrary maps identical to an oracle that takes every
key and leaf encoding from cbor2 and only does the §4.2.1 sort itself.
"""

import math
import random
import struct
from collections.abc import Mapping

import cbor2
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from device import cbor
from device.cbor import CBORDecodeError, CBORSimple, CBORTag, CBORTruncatedError, undefined
from tests.host.mutation import mutate

# the recursive strategies' own reprs are large; hypothesis warns about that, harmlessly
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Tag numbers cbor2 gives no meaning to (it decodes them to a plain cbor2.CBORTag).
TAG_NUMBERS = st.integers(min_value=60000, max_value=2**64 - 1).filter(lambda n: n != 55799)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.binary(max_size=40)
)
KEYS = st.recursive(
    st.integers() | st.text(max_size=10) | st.binary(max_size=10) | st.booleans() | st.none(),
    lambda inner: st.tuples(inner, inner),
    max_leaves=4,
)


def _containers(children, keys=KEYS):
    return (
        st.lists(children, max_size=6)
        | st.tuples(children, children)
        | st.dictionaries(keys, children, max_size=6)
        | st.builds(CBORTag, TAG_NUMBERS, children)
    )


VALUES = st.recursive(SCALARS | st.just(undefined), _containers, max_leaves=25)

# Maps whose keys all encode to the same number of bytes: both key orders agree there.
SAME_LENGTH_MAPS = (
    st.dictionaries(st.integers(-24, 23), SCALARS, max_size=8)
    | st.dictionaries(st.integers(256, 65535), SCALARS, max_size=8)
    | st.dictionaries(st.text(st.characters(max_codepoint=127), min_size=3, max_size=3), SCALARS, max_size=8)
    | st.dictionaries(st.binary(min_size=2, max_size=2), SCALARS, max_size=8)
)
CANONICAL_SAFE = st.recursive(
    SCALARS | st.just(undefined) | SAME_LENGTH_MAPS,
    lambda c: st.lists(c, max_size=6) | st.builds(CBORTag, TAG_NUMBERS, c),
    max_leaves=25,
)


def depth(x):
    if isinstance(x, (list, tuple)):
        return 1 + max((depth(i) for i in x), default=0)
    if isinstance(x, dict):
        return 1 + max((max(depth(k), depth(v)) for k, v in x.items()), default=0)
    if isinstance(x, CBORTag):
        return 1 + depth(x.value)
    return 0


def to_cbor2(x):
    if x is undefined:
        return cbor2.undefined
    if isinstance(x, CBORTag):
        return cbor2.CBORTag(x.tag, to_cbor2(x.value))
    if isinstance(x, CBORSimple):
        return cbor2.CBORSimpleValue(x.value)
    if isinstance(x, (list, tuple)):
        return [to_cbor2(i) for i in x]
    if isinstance(x, dict):
        return {k: to_cbor2(v) for k, v in x.items()}
    return x


def from_cbor2(x):
    if x is cbor2.undefined:
        return undefined
    if isinstance(x, cbor2.CBORTag):
        return CBORTag(x.tag, from_cbor2(x.value))
    if isinstance(x, (list, tuple)):
        return type(x)(from_cbor2(i) for i in x)
    if isinstance(x, Mapping):  # dict, or cbor2's frozendict inside tags and keys
        return {from_cbor2(k): from_cbor2(v) for k, v in x.items()}
    return x


def same(a, b):
    """Structural equality: tuple == list, NaN == NaN, -0.0 != 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    if isinstance(a, CBORTag) and isinstance(b, CBORTag):
        return a.tag == b.tag and same(a.value, b.value)
    if type(a) is not type(b) and not (isinstance(a, int) and isinstance(b, int)):
        return False
    return a == b


def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    for ai, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if n < 1 << (8 * size):
            return bytes([major << 5 | ai]) + n.to_bytes(size, "big")
    raise AssertionError(n)


def rfc8949_oracle(x):
    """Deterministic encoding with cbor2 for keys and leaves, RFC 8949 §4.2.1 map order."""
    if isinstance(x, dict):
        entries = sorted((cbor2.dumps(to_cbor2(k), canonical=True), rfc8949_oracle(v)) for k, v in x.items())
        return head(5, len(x)) + b"".join(k + v for k, v in entries)
    if isinstance(x, (list, tuple)):
        return head(4, len(x)) + b"".join(rfc8949_oracle(i) for i in x)
    if isinstance(x, CBORTag):
        return head(6, x.tag) + rfc8949_oracle(x.value)
    return cbor2.dumps(to_cbor2(x), canonical=True)


@SETTINGS
@given(VALUES)
def test_round_trip(x):
    assume(depth(x) <= cbor.MAX_DEPTH)
    data = cbor.dumps(x)
    assert same(cbor.loads(data), x)
    assert cbor.dumps(cbor.loads(data)) == data  # decoding and re-encoding is stable
    buf = bytearray(len(data) + 3)
    assert cbor.encode_into(x, buf, 3) == len(buf) and bytes(buf[3:]) == data


@SETTINGS
@given(CANONICAL_SAFE)
def test_identical_to_cbor2_canonical(x):
    assume(depth(x) <= cbor.MAX_DEPTH)
    assert cbor.dumps(x) == cbor2.dumps(to_cbor2(x), canonical=True)


@SETTINGS
@given(VALUES)
def test_identical_to_rfc8949_oracle(x):
    assume(depth(x) <= cbor.MAX_DEPTH)
    assert cbor.dumps(x) == rfc8949_oracle(x)


@SETTINGS
@given(VALUES, st.booleans())
def test_cbor2_output_decodes(x, canonical):
    assume(depth(x) <= cbor.MAX_DEPTH)
    data = cbor2.dumps(to_cbor2(x), canonical=canonical)
    assert same(cbor.loads(data), x)
    assert same(cbor.loads(data), from_cbor2(cbor2.loads(data)))


@SETTINGS
@given(VALUES)
def test_every_prefix_is_truncated(x):
    assume(depth(x) <= cbor.MAX_DEPTH)
    data = cbor2.dumps(to_cbor2(x))
    for n in range(len(data)):
        with pytest.raises(CBORTruncatedError):
            cbor.decode_from(data[:n])


@SETTINGS
@given(VALUES)
def test_our_output_decodes_in_cbor2(x):
    assume(depth(x) <= cbor.MAX_DEPTH)
    assert same(from_cbor2(cbor2.loads(cbor.dumps(x))), x)


@SETTINGS
@given(st.floats(allow_nan=False))
def test_float_shortest_lossless(x):
    data = cbor.dumps(x)
    assert struct.pack(">d", cbor.loads(data)) == struct.pack(">d", x)
    if len(data) > 3:  # not half: half must really lose something
        try:
            assert struct.unpack(">e", struct.pack(">e", x))[0] != x
        except OverflowError:
            pass
    if len(data) > 5:
        try:
            assert struct.unpack(">f", struct.pack(">f", x))[0] != x
        except OverflowError:
            pass


@settings(max_examples=1000, deadline=None)
@given(
    st.binary(max_size=12)
    # boundary bytes of the UTF-8 tables: overlongs, surrogates, > U+10FFFF, bad continuations
    | st.lists(st.sampled_from(b"\x00\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc1\xc2\xdf\xe0\xed\xef\xf0\xf4\xf5"), max_size=8).map(bytes)
    | st.text(st.characters(codec=None, categories=None), max_size=6).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_own_utf8_check_matches_cpython(data):
    # the check MicroPython runs (its own str() is lax) must agree with CPython's strict decoder
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    assert cbor._utf8_ok(data, 0, len(data)) == valid


def test_every_half_float():
    for h in range(0x10000):
        raw = h.to_bytes(2, "big")
        got = cbor.loads(b"\xf9" + raw)
        want = struct.unpack(">e", raw)[0]
        if math.isnan(want):
            assert math.isnan(got)
            continue
        assert struct.pack(">d", got) == struct.pack(">d", want), hex(h)
        assert cbor.dumps(got) == b"\xf9" + raw, hex(h)


def _loads_or_decode_error(data):
    try:
        obj = cbor.loads(data)
    except CBORDecodeError:
        return
    again = cbor.dumps(obj)  # whatever decodes also encodes, and stably
    assert cbor.dumps(cbor.loads(again)) == again


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=64))
def test_random_input_raises_only_decode_error(data):
    _loads_or_decode_error(data)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.randoms(use_true_random=False), st.integers(1, 4))
def test_mutated_input_raises_only_decode_error(x, rnd, n_mutations):
    assume(depth(x) <= cbor.MAX_DEPTH)
    _loads_or_decode_error(mutate(rnd, cbor2.dumps(to_cbor2(x)), n_mutations))


def test_huge_declared_lengths_rejected_before_allocating():
    for prefix in (b"\x5b", b"\x7b", b"\x9b", b"\xbb"):
        for n in (2**32, 2**63, 2**64 - 1):
            try:
                cbor.loads(prefix + n.to_bytes(8, "big") + b"\x00" * 16)
            except CBORDecodeError:
                continue
            raise AssertionError(prefix)
    rnd = random.Random(1)
    # only containers and tags, never a leaf: must hit MAX_DEPTH, not RecursionError
    deep = bytes(rnd.choice(b"\x81\x9f\xa1\xbf\xc1\xd8") for _ in range(100000))
    try:
        cbor.loads(deep)
    except CBORDecodeError as e:
        assert "MAX_DEPTH" in str(e)
    else:
        raise AssertionError("accepted")
