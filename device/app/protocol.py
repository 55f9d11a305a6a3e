"""The gateway protocol, version 1: framing and messages (docs/protocol.md has the CDDL).

Sans-IO and codec-neutral: the encoders here write the few CBOR heads the protocol needs
straight into a caller's bytearray (a batch merges the readings' single SenML packs, as the
telemetry partition made them, into one pack with ``device.senml.batch``), and ``parse_message`` checks an
already-decoded CBOR item (decode it with ``device.cbor.loads`` on the device, with
``cbor2.loads`` on the gateway) against the CDDL. Both the device application
(device/app/link.py) and the reference gateway (tools/gateway.py) use this module.

    n = encode_batch_into(buf, first_seq, dropped, readings)   # a whole frame in buf[:n]
    size = frame_length(header2)                              # 1 .. MAX_FRAME, or ProtocolError
    kind, fields = parse_message(cbor.loads(payload))
"""

from device.compat import const

VERSION = const(1)
MAX_FRAME = const(4096)  # payload bytes of one frame
HEADER = const(2)  # the big-endian length in front of every payload
MAX_TOKEN = const(1024)
MAX_REASON = const(128)
MAX_SEQ = const(0xFFFFFFFF)
MAX_COUNT = const(255)  # readings in one batch (max_readings is a uint .le 255)

CHALLENGE = const(1)
TOKEN = const(2)
VERDICT = const(3)
BATCH = const(4)
ACK = const(5)
ERROR = const(6)
CLOSE = const(7)

VERDICT_ACCEPTED = const(0)
VERDICT_REFUSED = const(1)

ERR_PROTOCOL = const(1)
ERR_VERSION = const(2)
ERR_TOO_LARGE = const(3)
ERR_TIMEOUT = const(4)
ERR_UNAVAILABLE = const(5)
ERR_INTERNAL = const(6)

NONCE_SIZES = (32, 48, 64)


class ProtocolError(ValueError):
    """A frame or message that breaks docs/protocol.md; ``code`` is the error-code to report."""

    def __init__(self, message, code=ERR_PROTOCOL):
        super().__init__(message)
        self.code = code


# --- CBOR heads (RFC 8949 §3): just what the protocol's messages need ---------------------


def _head_into(buf, pos, major, n):
    """Write the head of major type `major` with argument `n` (shortest form) at buf[pos]."""
    mt = major << 5
    if n < 24:
        buf[pos] = mt | n
        return pos + 1
    if n < 0x100:
        buf[pos] = mt | 24
        buf[pos + 1] = n
        return pos + 2
    if n < 0x10000:
        buf[pos] = mt | 25
        buf[pos + 1] = n >> 8
        buf[pos + 2] = n & 0xFF
        return pos + 3
    if n <= 0xFFFFFFFF:
        buf[pos] = mt | 26
        buf[pos + 1] = n >> 24
        buf[pos + 2] = (n >> 16) & 0xFF
        buf[pos + 3] = (n >> 8) & 0xFF
        buf[pos + 4] = n & 0xFF
        return pos + 5
    raise ProtocolError("integer out of the protocol's range")


def _begin(buf, items, kind):
    # frame length placeholder (2 bytes), array head, version, type
    if len(buf) < HEADER + 3:
        raise ProtocolError("frame buffer too small", ERR_TOO_LARGE)
    pos = _head_into(buf, HEADER, 4, items)
    buf[pos] = VERSION
    buf[pos + 1] = kind
    return pos + 2


def _bytes_into(buf, pos, major, data):
    n = len(data)
    if pos + 5 + n > len(buf):
        raise ProtocolError("message does not fit the frame buffer", ERR_TOO_LARGE)
    pos = _head_into(buf, pos, major, n)
    buf[pos : pos + n] = data
    return pos + n


def _uint_into(buf, pos, n):
    if n < 0:
        raise ProtocolError("negative integer where the protocol wants uint")
    if pos + 5 > len(buf):
        raise ProtocolError("message does not fit the frame buffer", ERR_TOO_LARGE)
    return _head_into(buf, pos, 0, n)


def _end(buf, pos):
    size = pos - HEADER
    if size > MAX_FRAME:
        raise ProtocolError("frame payload of %d bytes exceeds MAX_FRAME" % size, ERR_TOO_LARGE)
    buf[0] = size >> 8
    buf[1] = size & 0xFF
    return pos


def encode_challenge_into(buf, nonce):
    if len(nonce) not in NONCE_SIZES:
        raise ProtocolError("challenge must be 32, 48 or 64 bytes")
    return _end(buf, _bytes_into(buf, _begin(buf, 3, CHALLENGE), 2, nonce))


def encode_token_into(buf, token):
    if not 0 < len(token) <= MAX_TOKEN:
        raise ProtocolError("token of %d bytes (limit %d)" % (len(token), MAX_TOKEN), ERR_TOO_LARGE)
    return _end(buf, _bytes_into(buf, _begin(buf, 3, TOKEN), 2, token))


def encode_verdict_into(buf, code, max_readings):
    pos = _uint_into(buf, _begin(buf, 4, VERDICT), code)
    return _end(buf, _uint_into(buf, pos, max_readings))


def encode_batch_into(buf, first_seq, dropped, readings):
    """Frame a batch of the consecutive readings first_seq .. first_seq + len(readings) - 1.

    `readings` is a sequence of byte strings, each one single-reading SenML pack as the
    telemetry partition returns it; they are merged (``device.senml.batch``: base name, base
    time, base values, relative times) into ONE pack written straight into `buf`. A batch of
    one reading carries that reading's pack as it is (valid SenML; smaller than a merged pack).
    """
    count = len(readings)
    if count == 1:  # one reading: its own pack is already the smallest (the merge repeats the base name)
        return encode_batch_pack_into(buf, first_seq, dropped, 1, readings[0])
    pos = _batch_head(buf, first_seq, dropped, count)
    from device import senml

    try:
        n = senml.batch(readings, memoryview(buf)[pos:])
    except senml.SenMLError as e:
        raise ProtocolError("readings cannot be merged: %s" % e)
    except ValueError:  # CBOREncodeError: the merged pack does not fit the buffer
        raise ProtocolError("batch does not fit the frame", ERR_TOO_LARGE)
    return _end(buf, pos + n)


def encode_batch_pack_into(buf, first_seq, dropped, count, pack):
    """Frame a batch from an already merged SenML pack (bytes) of `count` readings."""
    pos = _batch_head(buf, first_seq, dropped, count)
    n = len(pack)
    if pos + n > len(buf):
        raise ProtocolError("batch does not fit the frame", ERR_TOO_LARGE)
    buf[pos : pos + n] = pack
    return _end(buf, pos + n)


def _batch_head(buf, first_seq, dropped, count):
    if not 0 < count <= MAX_COUNT:
        raise ProtocolError("a batch holds 1..%d readings" % MAX_COUNT)
    if not 0 < first_seq <= MAX_SEQ or first_seq + count - 1 > MAX_SEQ:
        raise ProtocolError("sequence number out of range")
    pos = _uint_into(buf, _begin(buf, 6, BATCH), first_seq)
    pos = _uint_into(buf, pos, dropped)
    return _uint_into(buf, pos, count)


def batch_overhead(first_seq, dropped, count):
    """Bytes a batch frame needs besides its merged pack."""
    return HEADER + 1 + 2 + _uint_size(first_seq) + _uint_size(dropped) + _uint_size(count)


def _uint_size(n):
    return 1 if n < 24 else 2 if n < 0x100 else 3 if n < 0x10000 else 5


def encode_ack_into(buf, last_seq):
    return _end(buf, _uint_into(buf, _begin(buf, 3, ACK), last_seq))


def encode_error_into(buf, code, reason):
    r = reason.encode() if isinstance(reason, str) else bytes(reason)
    r = r[:MAX_REASON]
    while r:  # do not cut a UTF-8 sequence in half
        try:
            r.decode()
            break
        except UnicodeError:
            r = r[:-1]
    pos = _uint_into(buf, _begin(buf, 4, ERROR), code)
    return _end(buf, _bytes_into(buf, pos, 3, r))


def encode_close_into(buf):
    return _end(buf, _begin(buf, 2, CLOSE))


def frame(encoder, *args):
    """Convenience for callers that do not keep a buffer: returns the frame as bytes."""
    buf = bytearray(MAX_FRAME + HEADER)
    n = encoder(buf, *args)
    return bytes(buf[:n])


# --- receiving ---------------------------------------------------------------------------


def frame_length(header, limit=MAX_FRAME):
    """Payload size from a frame's 2-byte header; ProtocolError when 0 or above `limit`."""
    if len(header) != HEADER:
        raise ProtocolError("truncated frame header")
    n = (header[0] << 8) | header[1]
    if n == 0:
        raise ProtocolError("empty frame")
    if n > limit:
        raise ProtocolError("frame of %d bytes exceeds the limit of %d" % (n, limit), ERR_TOO_LARGE)
    return n


def _uint(v, what, top=MAX_SEQ):
    if type(v) is not int or v < 0 or v > top:
        raise ProtocolError("%s must be a uint <= %d" % (what, top))
    return v


def parse_message(msg):
    """Check a decoded message against the CDDL; returns (type, fields tuple).

    challenge -> (nonce,); token -> (token,); verdict -> (code, max_readings);
    batch -> (first_seq, dropped, count, pack); ack -> (last_seq,);
    error -> (code, reason); close -> ().
    """
    if not isinstance(msg, (list, tuple)) or len(msg) < 2:
        raise ProtocolError("a message is an array [version, type, ...]")
    if msg[0] != VERSION or type(msg[0]) is not int:
        raise ProtocolError("unsupported protocol version %r" % (msg[0],), ERR_VERSION)
    kind = msg[1]
    n = len(msg)
    if type(kind) is not int:
        raise ProtocolError("message type must be a uint")
    if kind == CHALLENGE and n == 3:
        nonce = msg[2]
        if not isinstance(nonce, (bytes, bytearray)) or len(nonce) not in NONCE_SIZES:
            raise ProtocolError("challenge nonce must be 32, 48 or 64 bytes")
        return kind, (bytes(nonce),)
    if kind == TOKEN and n == 3:
        token = msg[2]
        if not isinstance(token, (bytes, bytearray)) or not 0 < len(token) <= MAX_TOKEN:
            raise ProtocolError("token must be a byte string of 1..%d bytes" % MAX_TOKEN)
        return kind, (bytes(token),)
    if kind == VERDICT and n == 4:
        return kind, (_uint(msg[2], "verdict code"), _uint(msg[3], "max_readings", 255))
    if kind == BATCH and n == 6:
        first = _uint(msg[2], "first_seq")
        dropped = _uint(msg[3], "dropped")
        count = _uint(msg[4], "count", MAX_COUNT)
        if first == 0:
            raise ProtocolError("sequence numbers start at 1")
        if count == 0 or first + count - 1 > MAX_SEQ:
            raise ProtocolError("count must be 1..%d within the sequence range" % MAX_COUNT)
        check_senml_pack(msg[5])
        return kind, (first, dropped, count, msg[5])
    if kind == ACK and n == 3:
        return kind, (_uint(msg[2], "last_seq"),)
    if kind == ERROR and n == 4:
        reason = msg[3]
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise ProtocolError("error reason must be text of at most %d bytes" % MAX_REASON)
        return kind, (_uint(msg[2], "error code", 255), reason)
    if kind == CLOSE and n == 2:
        return kind, ()
    raise ProtocolError("unknown message type %r with %d fields" % (kind, n))


def check_senml_pack(pack):
    """A SenML pack (RFC 8428 §6): a non-empty array of maps with int or text labels."""
    if not isinstance(pack, (list, tuple)) or not pack:
        raise ProtocolError("a batch carries a non-empty SenML pack (array of records)")
    for rec in pack:
        if not isinstance(rec, dict) or not rec:
            raise ProtocolError("a SenML record must be a non-empty map")
        for k in rec:
            if not (type(k) is int or isinstance(k, str)):
                raise ProtocolError("SenML labels are integers or text")
