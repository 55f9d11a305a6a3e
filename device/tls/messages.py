"""TLS 1.2 PSK handshake messages (RFC 5246 §7.4, RFC 4279 §2): build the client's, parse the server's.

Every parser checks every length against the bytes it has and raises `TLSError` with
decode_error (or illegal_parameter / unsupported_extension / protocol_version where the RFCs say
so); nothing else escapes.
"""

from device.compat import const
from device.tls.alerts import TLSError

# Private constants (folded at compile time: no module dict entry, no qstr -- this module is in the
# non-secure image's heap during every handshake). The public names (CLIENT_HELLO, EXT_SERVER_NAME ...)
# are in device.tls.messages_more (see __getattr__ at the end).
# alerts (device.tls.alerts' numbers)
_HANDSHAKE_FAILURE = const(40)
_ILLEGAL_PARAMETER = const(47)
_DECODE_ERROR = const(50)
_PROTOCOL_VERSION = const(70)
_UNSUPPORTED_EXTENSION = const(110)

# TLSError reasons: numbers whose texts (shown here) live in device.tls.reasons, loaded with the first
# TLSError; (number, arg, ...) fills the text's %-fields. A text in a module costs its heap ~70 bytes
# from the moment the module loads, a number nothing.
_R_TRUNCATED = const(1)  # message truncated
_R_TRAILING = const(2)  # trailing bytes in message
_R_VERSION = const(3)  # server chose version %d.%d
_R_SESSION_ID = const(4)  # session id longer than 32 bytes
_R_SUITE = const(5)  # server chose suite 0x%04X, which was not offered
_R_COMPRESSION = const(6)  # server chose a compression method
_R_DUPLICATE_EXT = const(7)  # duplicate extension %d
_R_UNOFFERED_EXT = const(8)  # server sent extension %d, not offered
_R_EXT_NOT_EMPTY = const(9)  # extension %d must be empty
_R_RENEGOTIATION_INFO = const(10)  # renegotiation_info not empty
_R_SERVER_NAME = const(11)  # server_name extension must be empty
_R_MFL = const(12)  # max_fragment_length differs from the one offered
_R_RSL_LENGTH = const(13)  # record_size_limit length
_R_RSL_LOW = const(14)  # record_size_limit below 64
_R_MFL_AND_RSL = const(15)  # both max_fragment_length and record_size_limit

# handshake message types
_CLIENT_HELLO = const(1)
_CLIENT_KEY_EXCHANGE = const(16)
_FINISHED = const(20)

# extensions
_EXT_SERVER_NAME = const(0)
_EXT_MAX_FRAGMENT_LENGTH = const(1)
_EXT_ENCRYPT_THEN_MAC = const(22)
_EXT_EXTENDED_MASTER_SECRET = const(23)
_EXT_RECORD_SIZE_LIMIT = const(28)
_EXT_RENEGOTIATION_INFO = const(0xFF01)

TLS12 = b"\x03\x03"
_VERIFY_DATA_LEN = const(12)

# max_fragment_length codes (RFC 6066 §4): 2^9 .. 2^12
MFL_CODES = {512: 1, 1024: 2, 2048: 3, 4096: 4}


def _u16(n):
    return n.to_bytes(2, "big")


def _u24(n):
    return n.to_bytes(3, "big")


def handshake(msg_type, body):
    """Frame a handshake message: type(1) || length(3) || body."""
    return bytes((msg_type,)) + _u24(len(body)) + body


def client_hello(random, suites, ems=True, etm=False, mfl=None, rsl=None, server_name=None):
    """ClientHello body+header. `mfl`: max_fragment_length in bytes (512..4096) or None;
    `rsl`: record_size_limit value or None; `server_name`: host name for SNI or None.
    Built in one bytearray (header and length fields written in place: fewer intermediate bytes)."""
    ext = bytearray()
    if server_name:
        name = server_name.encode() if isinstance(server_name, str) else bytes(server_name)
        entry = b"\x00" + _u16(len(name)) + name
        body = _u16(len(entry)) + entry
        ext += _u16(_EXT_SERVER_NAME) + _u16(len(body)) + body
    if ems:
        ext += b"\x00\x17\x00\x00"  # extended_master_secret (23), empty
    if etm:
        ext += b"\x00\x16\x00\x00"  # encrypt_then_mac (22), empty
    if mfl:
        ext += _u16(_EXT_MAX_FRAGMENT_LENGTH) + b"\x00\x01" + bytes((MFL_CODES[mfl],))
    if rsl:
        ext += _u16(_EXT_RECORD_SIZE_LIMIT) + b"\x00\x02" + _u16(rsl)
    # RFC 5746: an empty renegotiation_info (0xFF01) on the initial handshake
    ext += b"\xff\x01\x00\x01\x00"
    n_cs = 2 * len(suites)
    n_ext = len(ext)
    blen = 2 + 32 + 1 + 2 + n_cs + 2 + 2 + n_ext
    out = bytearray(4 + 2)  # type, length(3), version
    out[0] = _CLIENT_HELLO
    out[1] = blen >> 16
    out[2] = (blen >> 8) & 0xFF
    out[3] = blen & 0xFF
    out[4] = out[5] = 3
    out += random
    out += b"\x00"  # no session id
    out.append(n_cs >> 8)
    out.append(n_cs & 0xFF)
    for s in suites:
        out.append(s >> 8)
        out.append(s & 0xFF)
    out += b"\x01\x00"  # one compression method: null
    out.append(n_ext >> 8)
    out.append(n_ext & 0xFF)
    out += ext
    return bytes(out)


class ServerHello:
    """Parsed ServerHello: random, session_id, suite, extensions {type: data}, mfl, rsl.

    Parsed by offsets over `body` (bytes or a memoryview), each length checked before use; only
    the fields kept are copied out (one handshake runs this once, but on MicroPython every method
    call and intermediate bytes object of a Reader costs about as much as the parse itself)."""

    mfl = None  # negotiated max_fragment_length in bytes, or None
    rsl = None  # the server's record_size_limit, or None

    def __init__(self, body, offered_suites, offered_exts):
        n = len(body)
        if n < 2:
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        if body[0] != 3 or body[1] != 3:
            raise TLSError(_PROTOCOL_VERSION, (_R_VERSION, body[0], body[1]))
        if n < 35:
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        self.random = bytes(body[2:34])
        p = 35 + body[34]
        if p > n:
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        self.session_id = bytes(body[35:p])
        if p > 35 + 32:
            raise TLSError(_ILLEGAL_PARAMETER, _R_SESSION_ID)
        if p + 3 > n:
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        suite = self.suite = (body[p] << 8) | body[p + 1]
        if suite not in offered_suites:
            raise TLSError(_ILLEGAL_PARAMETER, (_R_SUITE, suite))
        if body[p + 2]:
            raise TLSError(_ILLEGAL_PARAMETER, _R_COMPRESSION)
        p += 3
        exts = self.extensions = {}
        if p == n:
            return  # no extensions block
        if p + 2 > n:
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        end = p + 2 + ((body[p] << 8) | body[p + 1])
        if end > n:
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        if end != n:
            raise TLSError(_DECODE_ERROR, _R_TRAILING)
        p += 2
        while p < end:
            if p + 4 > end:
                raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
            etype = (body[p] << 8) | body[p + 1]
            q = p + 4 + ((body[p + 2] << 8) | body[p + 3])
            if q > end:
                raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
            if etype in exts:
                raise TLSError(_ILLEGAL_PARAMETER, (_R_DUPLICATE_EXT, etype))
            if etype not in offered_exts:
                raise TLSError(_UNSUPPORTED_EXTENSION, (_R_UNOFFERED_EXT, etype))
            exts[etype] = bytes(body[p + 4:q])
            p = q
        get = exts.get
        for etype in (_EXT_EXTENDED_MASTER_SECRET, _EXT_ENCRYPT_THEN_MAC):
            if get(etype, b"") != b"":
                raise TLSError(_DECODE_ERROR, (_R_EXT_NOT_EMPTY, etype))
        ri = get(_EXT_RENEGOTIATION_INFO)
        if ri is not None and ri != b"\x00":
            # RFC 5746 §3.4: non-empty renegotiated_connection on an initial handshake
            raise TLSError(_HANDSHAKE_FAILURE, _R_RENEGOTIATION_INFO)
        sn = get(_EXT_SERVER_NAME)
        if sn is not None and sn != b"":
            raise TLSError(_DECODE_ERROR, _R_SERVER_NAME)
        mfl = get(_EXT_MAX_FRAGMENT_LENGTH)
        if mfl is not None:
            if len(mfl) != 1 or mfl[0] != offered_exts.get(_EXT_MAX_FRAGMENT_LENGTH):
                raise TLSError(_ILLEGAL_PARAMETER, _R_MFL)
            self.mfl = 1 << (8 + mfl[0])
        rsl = get(_EXT_RECORD_SIZE_LIMIT)
        if rsl is not None:
            if len(rsl) != 2:
                raise TLSError(_DECODE_ERROR, _R_RSL_LENGTH)
            v = (rsl[0] << 8) | rsl[1]
            if v < 64:
                raise TLSError(_ILLEGAL_PARAMETER, _R_RSL_LOW)
            self.rsl = v
        if mfl is not None and rsl is not None:
            raise TLSError(_ILLEGAL_PARAMETER, _R_MFL_AND_RSL)


def psk_identity_hint(body):
    """ServerKeyExchange for plain PSK (RFC 4279 §2): the identity hint."""
    n = len(body)
    end = 2 + ((body[0] << 8) | body[1]) if n >= 2 else n + 1
    if end > n:
        raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
    if end != n:
        raise TLSError(_DECODE_ERROR, _R_TRAILING)
    return bytes(body[2:end])


def client_key_exchange(identity):
    ident = identity.encode() if isinstance(identity, str) else bytes(identity)
    return handshake(_CLIENT_KEY_EXCHANGE, _u16(len(ident)) + ident)


def finished(verify_data):
    return handshake(_FINISHED, bytes(verify_data))


def premaster_secret(psk):
    """RFC 4279 §2 premaster secret for plain PSK: uint16 N || N zeros || uint16 N || psk.

    The engine never builds this in NS memory (the crypto partition does, inside
    PSA_ALG_TLS12_PSK_TO_MS); it is here for the published-vector tests and the docs."""
    n = len(psk)
    return _u16(n) + bytes(n) + _u16(n) + bytes(psk)


def __getattr__(name):
    # Reader and the public names of the handshake message types and extensions (this module folds private
    # copies: see the top) are in device.tls.messages_more, loaded on first use (PEP 562; MicroPython's
    # module __getattr__): a table of their names here would cost a TLS client's heap ~1.3 KB of strings
    if name[:1] == "_":  # (dunder probes, private names)
        raise AttributeError(name)
    from device.tls import messages_more

    return getattr(messages_more, name)
