"""Deterministic CBOR (RFC 8949) for MicroPython, CircuitPython and CPython.

    from device import cbor
    data = cbor.dumps({-2: "urn:dev:ow:1", 2: 23.5})   # -> bytes
    obj = cbor.loads(data)                             # trailing bytes -> CBORDecodeError
    n = cbor.encode_into(obj, buf)                     # into a reused bytearray; -> end offset
    obj, end = cbor.decode_from(data, offset)          # one item, for framing

Types: int (any size; beyond 64 bits as tag 2/3 bignums), bytes/bytearray/memoryview
(decode gives bytes), str, list/tuple (decode gives list), dict, True/False/None,
``undefined``, float, CBORTag(tag, value), CBORSimple(value).

Encoding is deterministic (RFC 8949 §4.2.1): preferred (shortest) heads, definite
lengths, the shortest float that keeps the value exactly (half, single or double; every
NaN as f97e00), map keys sorted bytewise by their encoded form. Note that cbor2's
``canonical=True`` sorts keys length-first (RFC 8949 §4.2.3, the old RFC 7049 rule);
the two agree whenever a map's keys encode to the same length.

encode_into() allocates nothing on MicroPython for ints, bytes, ASCII strings of up to
64 characters, and lists/dicts of those: map entries are written straight into the
buffer and sorted there, in place. Floats, longer or non-ASCII strings and bignums
allocate a little.

The decoder accepts any well-formed CBOR (indefinite lengths too) and raises
CBORDecodeError (a ValueError) on malformed input, trailing bytes (loads), duplicate or
unhashable map keys, invalid UTF-8, nesting deeper than MAX_DEPTH arrays/maps/tags, and
on input that ends inside an item or declares a length beyond it: CBORTruncatedError,
a CBORDecodeError subclass, so a stream reader knows more bytes may complete the item.
"""

import struct
from math import copysign, frexp, ldexp

from device.compat import const

MAX_DEPTH = 16  # nested arrays, maps and tags; [[1]] has depth 2

_UINT = const(0)
_NINT = const(1)
_BSTR = const(2)
_TSTR = const(3)
_ARRAY = const(4)
_MAP = const(5)
_TAG = const(6)
_SIMPLE = const(7)
_INDEFINITE = const(31)
_BREAK = const(0xFF)
_SHORT_STR = const(64)  # strings up to this many characters try the allocation-free ASCII copy
_U64_END = const(0x10000000000000000)

_BYTES_TYPES = (bytes, bytearray, memoryview)
_SEQ_TYPES = (list, tuple)
_INF = float("inf")
_BREAK_ITEM = object()  # what _dec returns for the break stop code


class CBORDecodeError(ValueError):
    pass


class CBORTruncatedError(CBORDecodeError):
    """The input ends inside an item: a stream reader may wait for more bytes."""


class CBOREncodeError(ValueError):
    pass


class _BufferFull(CBOREncodeError):
    pass


class CBORTag:
    """A tagged item: tag number (int) and value."""

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, CBORTag) and self.tag == other.tag and self.value == other.value

    def __hash__(self):
        return hash((self.tag, self.value))

    def __repr__(self):
        return "CBORTag(%d, %r)" % (self.tag, self.value)


class CBORSimple:
    """A simple value other than false/true/null/undefined (0..19, 32..255)."""

    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, CBORSimple) and self.value == other.value

    def __hash__(self):
        return hash(self.value) ^ 0x5E

    def __repr__(self):
        return "CBORSimple(%d)" % self.value


class _Undefined:
    def __repr__(self):
        return "undefined"

    def __bool__(self):
        return False


undefined = _Undefined()


# ---------------------------------------------------------------- encoder


def _room(buf, off, n):
    if off + n > len(buf):
        raise _BufferFull("CBOR item does not fit the buffer")


def _head(buf, off, major, n):
    """Write a head with the shortest argument encoding; return the new offset."""
    if n < 24:
        return _put_arg(buf, off, (major << 5) | n, 0, 0)
    ai, size = 24, 1  # 1, 2, 4 or 8 argument bytes
    while n >> (8 * size):
        ai += 1
        size <<= 1
    return _put_arg(buf, off, (major << 5) | ai, n, size)


def _put_arg(buf, off, ib, n, size):
    """Write the initial byte ib and n as a size-byte big-endian argument."""
    _room(buf, off, size + 1)
    buf[off] = ib
    for i in range(size, 0, -1):
        buf[off + i] = n & 0xFF
        n >>= 8
    return off + size + 1


def _put_bytes(buf, off, major, data):
    n = len(data)
    off = _head(buf, off, major, n)
    _room(buf, off, n)
    buf[off : off + n] = data
    return off + n


def _put_str(buf, off, s):
    n = len(s)
    if n <= _SHORT_STR:  # ASCII fast path: one byte per character, nothing allocated
        p = _head(buf, off, _TSTR, n)
        _room(buf, p, n)
        for i in range(n):
            c = ord(s[i])
            if c > 0x7F:
                break
            buf[p + i] = c
        else:
            return p + n
    return _put_bytes(buf, off, _TSTR, s.encode("utf-8"))


def _ieee_bits(a, frac, bias):
    """Bits (exponent|fraction) of finite a > 0 in a binary format, or -1 if inexact."""
    m, e = frexp(a)  # a = m * 2**e, 0.5 <= m < 1
    if e > bias + 1:
        return -1
    if e < 2 - bias:  # subnormal
        q = ldexp(a, frac + bias - 1)
        bits = int(q)
    else:
        q = ldexp(m, frac + 1)
        bits = ((e + bias - 1) << frac) | (int(q) - (1 << frac))
    return bits if q == int(q) else -1


def _put_float(buf, off, x):
    if x != x:  # NaN: the one preferred encoding
        return _put_arg(buf, off, 0xF9, 0x7E00, 2)
    sign = copysign(1.0, x) < 0
    a = -x if sign else x
    if a == _INF:
        bits = 0x7C00
    elif a == 0:
        bits = 0
    else:
        bits = _ieee_bits(a, 10, 15)
    if bits >= 0:
        return _put_arg(buf, off, 0xF9, bits | (0x8000 if sign else 0), 2)
    bits = _ieee_bits(a, 23, 127)
    if bits >= 0:
        return _put_arg(buf, off, 0xFA, bits | (0x80000000 if sign else 0), 4)
    _room(buf, off, 9)
    buf[off] = 0xFB
    struct.pack_into(">d", buf, off + 1, x)
    return off + 9


def _put_bignum(buf, off, x):
    major = _NINT if x < 0 else _UINT
    if x < 0:
        x = -1 - x
    if x < _U64_END:
        return _head(buf, off, major, x)
    n, y = 0, x
    while y:
        y >>= 8
        n += 1
    off = _head(buf, off, _TAG, 2 + major)
    return _put_bytes(buf, off, _BSTR, x.to_bytes(n, "big"))


def _enc(obj, buf, off, depth):
    if obj is False or obj is True:
        return _head(buf, off, _SIMPLE, 21 if obj else 20)
    if obj is None:
        return _head(buf, off, _SIMPLE, 22)
    if obj is undefined:
        return _head(buf, off, _SIMPLE, 23)
    if isinstance(obj, int):
        if 0 <= obj < _U64_END:
            return _head(buf, off, _UINT, obj)
        return _put_bignum(buf, off, obj)
    if isinstance(obj, str):
        return _put_str(buf, off, obj)
    if isinstance(obj, _BYTES_TYPES):
        return _put_bytes(buf, off, _BSTR, obj)
    if isinstance(obj, float):
        return _put_float(buf, off, obj)
    if depth >= MAX_DEPTH:
        raise CBOREncodeError("nesting deeper than MAX_DEPTH")
    if isinstance(obj, _SEQ_TYPES):
        off = _head(buf, off, _ARRAY, len(obj))
        for item in obj:
            off = _enc(item, buf, off, depth + 1)
        return off
    if isinstance(obj, dict):
        return _put_map(obj, buf, off, depth + 1)
    if isinstance(obj, CBORTag):
        if not isinstance(obj.tag, int) or not 0 <= obj.tag < _U64_END:
            raise CBOREncodeError("tag number out of range")
        off = _head(buf, off, _TAG, obj.tag)
        return _enc(obj.value, buf, off, depth + 1)
    if isinstance(obj, CBORSimple):
        v = obj.value
        if not isinstance(v, int) or not (0 <= v < 20 or 32 <= v < 256):
            raise CBOREncodeError("simple value out of range")
        return _head(buf, off, _SIMPLE, v)
    raise CBOREncodeError("cannot encode %s" % type(obj).__name__)


def _put_map(obj, buf, first, depth):
    """Write the entries, each one moved into bytewise key order as it arrives."""
    first = _head(buf, first, _MAP, len(obj))
    off = first
    last = last_end = first  # key of the entry that sorts last so far
    for k in obj:
        start = off
        kend = _enc(k, buf, off, depth)
        off = _enc(obj[k], buf, kend, depth)
        c = _compare(buf, last, last_end, start, kend) if start > first else -1
        if c < 0:  # sorts after everything written so far: already in place
            last, last_end = start, kend
            continue
        p = first
        while True:  # insertion sort over the entries already written
            pk = _skip(buf, p)
            c = _compare(buf, p, pk, start, kend)
            if c == 0:
                raise CBOREncodeError("duplicate map key")
            if c > 0:
                shift = off - start
                _rotate(buf, p, start, off)
                if last >= p:
                    last, last_end = last + shift, last_end + shift
                break
            p = _skip(buf, pk)
    return off


def _skip(buf, p):
    """End of the well-formed, definite-length item we wrote at p."""
    ib = buf[p]
    major, ai = ib >> 5, ib & 31
    p += 1
    n = ai
    if ai >= 24:
        size = 1 << (ai - 24)
        n = 0
        for i in range(size):
            n = (n << 8) | buf[p + i]
        p += size
    if major == _BSTR or major == _TSTR:
        return p + n
    if major == _ARRAY or major == _MAP:
        for _ in range(n if major == _ARRAY else 2 * n):
            p = _skip(buf, p)
        return p
    if major == _TAG:
        return _skip(buf, p)
    return p


def _compare(buf, a, a_end, b, b_end):
    while a < a_end and b < b_end:
        d = buf[a] - buf[b]
        if d:
            return d
        a += 1
        b += 1
    return (a_end - a) - (b_end - b)


def _reverse(buf, i, j):
    j -= 1
    while i < j:
        buf[i], buf[j] = buf[j], buf[i]
        i += 1
        j -= 1


def _rotate(buf, p, mid, end):
    """Move buf[mid:end] in front of buf[p:mid], in place."""
    _reverse(buf, p, mid)
    _reverse(buf, mid, end)
    _reverse(buf, p, end)


def encode_into(obj, buf, offset=0):
    """Encode obj into the bytearray buf from offset; return the end offset.

    Raises CBOREncodeError (a ValueError) if the item does not fit or cannot be encoded;
    the bytes of buf from offset on are then unspecified.
    """
    return _enc(obj, buf, offset, 0)


def dumps(obj):
    size = 64
    while True:
        buf = bytearray(size)
        try:
            n = _enc(obj, buf, 0, 0)
        except _BufferFull:
            size *= 4
            continue
        return bytes(memoryview(buf)[:n])


# ---------------------------------------------------------------- decoder


def _fail(msg):
    raise CBORDecodeError(msg)


def _half(h):
    e = (h >> 10) & 0x1F
    f = h & 0x3FF
    if e == 0:
        v = ldexp(f, -24)
    elif e == 31:
        v = float("nan") if f else _INF
    else:
        v = ldexp(f + 1024, e - 25)
    return -v if h & 0x8000 else v


def _dec(data, off, end, depth):
    """Decode one item at off; return (item, new offset). A break gives (_BREAK_ITEM, off)."""
    if off >= end:
        raise CBORTruncatedError("truncated CBOR")
    ib = data[off]
    off += 1
    major, ai = ib >> 5, ib & 31
    n = ai
    if 24 <= ai < 28:
        size = 1 << (ai - 24)
        if off + size > end:
            raise CBORTruncatedError("truncated CBOR head")
        if major == _SIMPLE and size > 1:  # half, single or double float
            if size == 2:
                return _half((data[off] << 8) | data[off + 1]), off + 2
            return struct.unpack_from(">f" if size == 4 else ">d", data, off)[0], off + size
        n = 0
        for i in range(size):
            n = (n << 8) | data[off + i]
        off += size
    elif ai == _INDEFINITE:
        if major == _SIMPLE:
            return _BREAK_ITEM, off
        if major < _BSTR or major == _TAG:
            _fail("indefinite length not allowed for major type %d" % major)
        n = -1
    elif ai > 27:
        _fail("reserved additional information %d" % ai)

    if major == _UINT:
        return n, off
    if major == _NINT:
        return -1 - n, off
    if major == _BSTR or major == _TSTR:
        if n < 0:
            return _dec_chunks(data, off, end, major, depth)
        if n > end - off:
            raise CBORTruncatedError("string length beyond the input")
        item = bytes(data[off : off + n])
        if major == _TSTR:
            try:
                if _LAX_UTF8 and not _utf8_ok(data, off, off + n):
                    raise UnicodeError
                item = str(item, "utf-8")
            except UnicodeError:
                _fail("invalid UTF-8 in text string")
        return item, off + n
    if major == _SIMPLE:
        if ai == 24 and n < 32:
            _fail("simple value %d in two bytes" % n)
        if 20 <= n <= 23:
            return (False, True, None, undefined)[n - 20], off
        return CBORSimple(n), off
    if depth >= MAX_DEPTH:
        _fail("nesting deeper than MAX_DEPTH")
    depth += 1
    if major == _TAG:
        item, off = _dec_item(data, off, end, depth)
        if n == 2 or n == 3:
            if not isinstance(item, bytes):
                _fail("bignum tag without a byte string")
            v = int.from_bytes(item, "big")
            return (v if n == 2 else -1 - v), off
        return CBORTag(n, item), off
    if major == _ARRAY:
        if n > end - off:
            raise CBORTruncatedError("array length beyond the input")
        items = []
        while n != 0:
            item, off = _dec(data, off, end, depth)
            if item is _BREAK_ITEM:
                if n > 0:
                    _fail("unexpected break")
                return items, off
            items.append(item)
            n -= 1
        return items, off
    # major == _MAP
    if n > (end - off) // 2:
        raise CBORTruncatedError("map length beyond the input")
    items = {}
    nan_key = False
    while n != 0:
        k, off = _dec(data, off, end, depth)
        if k is _BREAK_ITEM:
            if n > 0:
                _fail("unexpected break")
            return items, off
        v, off = _dec_item(data, off, end, depth)
        if isinstance(k, list):
            k = _freeze(k)
        if isinstance(k, float) and k != k:  # a dict keeps NaNs apart; CBOR does not
            if nan_key:
                _fail("duplicate map key")
            nan_key = True
        try:
            if k in items:
                _fail("duplicate map key")
            items[k] = v
        except TypeError:
            _fail("unhashable map key")
        n -= 1
    return items, off


def _utf8_ok(data, i, end):
    """Strict UTF-8 (RFC 3629): no overlong forms, surrogates or code points > 10FFFF."""
    while i < end:
        b = data[i]
        i += 1
        if b < 0x80:
            continue
        if 0xC2 <= b <= 0xDF:
            n, lo, hi = 1, 0x80, 0xBF
        elif 0xE0 <= b <= 0xEF:
            n, lo, hi = 2, 0xA0 if b == 0xE0 else 0x80, 0x9F if b == 0xED else 0xBF
        elif 0xF0 <= b <= 0xF4:
            n, lo, hi = 3, 0x90 if b == 0xF0 else 0x80, 0x8F if b == 0xF4 else 0xBF
        else:
            return False
        if i + n > end or not lo <= data[i] <= hi:
            return False
        for j in range(i + 1, i + n):
            if not 0x80 <= data[j] <= 0xBF:
                return False
        i += n
    return True


# MicroPython's str() accepts overlong forms and surrogates; check those runtimes ourselves
# (a probe of the behaviour, so CPython keeps its fast built-in check).
try:
    str(b"\xc1\xbc\xed\xa0\x80", "utf-8")
    _LAX_UTF8 = True
except UnicodeError:
    _LAX_UTF8 = False


def _dec_item(data, off, end, depth):
    item, off = _dec(data, off, end, depth)
    if item is _BREAK_ITEM:
        _fail("unexpected break")
    return item, off


def _dec_chunks(data, off, end, major, depth):
    parts = []
    while True:
        if off >= end:
            raise CBORTruncatedError("truncated indefinite-length string")
        ib = data[off]
        if ib == _BREAK:
            return ("" if major == _TSTR else b"").join(parts), off + 1
        if ib >> 5 != major or ib & 31 == _INDEFINITE:
            _fail("bad chunk in indefinite-length string")
        part, off = _dec(data, off, end, depth)
        parts.append(part)


def _freeze(items):
    return tuple(_freeze(x) if isinstance(x, list) else x for x in items)


def decode_from(data, offset=0):
    """Decode the one item starting at data[offset]; return (item, end offset)."""
    if not 0 <= offset <= len(data):
        raise CBORDecodeError("offset outside the input")
    return _dec_item(data, offset, len(data), 0)


def loads(data):
    """Decode data, which must hold exactly one CBOR item."""
    item, off = decode_from(data)
    if off != len(data):
        raise CBORDecodeError("%d trailing bytes after the CBOR item" % (len(data) - off))
    return item
