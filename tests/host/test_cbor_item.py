"""tools.cbor_item.loads_one: exactly one CBOR item, checked against cbor2's own encoder."""

import cbor2
import pytest

from tools.cbor_item import loads_one


def test_one_item_decodes_like_cbor2():
    for obj in (0, [1, b"x" * 40, {"a": 2}], {1: {2: [3, 4.5]}}, cbor2.CBORTag(17, [b"", {}, b"p", b"t"])):
        data = cbor2.dumps(obj)
        assert loads_one(data) == cbor2.loads(data)


def test_bytes_after_the_item_are_refused():
    data = cbor2.dumps([1, 2, 3])
    assert cbor2.loads(data + b"\x00") == [1, 2, 3]  # what cbor2 alone would let through
    for extra in (b"\x00", b"\xff", data):
        with pytest.raises(ValueError, match="bytes after the CBOR item"):
            loads_one(data + extra)


def test_truncated_item_is_cbor2s_error():
    with pytest.raises(cbor2.CBORDecodeError):
        loads_one(cbor2.dumps([1, b"abc"])[:-1])
