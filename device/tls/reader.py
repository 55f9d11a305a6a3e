"""Bounds-checked reads over a TLS message (device.tls.messages.Reader).

The engine's parsers read by offsets (messages.ServerHello, psk_identity_hint); this class is kept for
whoever used it, loaded on first use so that it is not in a TLS client's heap.
"""

from device.compat import const
from device.tls.alerts import TLSError

_DECODE_ERROR = const(50)  # alert (device.tls.alerts)
_R_TRUNCATED = const(1)  # TLSError reason (device.tls.reasons): "message truncated"
_R_TRAILING = const(2)  # TLSError reason (device.tls.reasons): "trailing bytes in message"


class Reader:
    """Bounds-checked reads over bytes; a short read is a decode_error."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        out = self.data[self.pos:end]
        self.pos = end
        return bytes(out)

    def u8(self):
        pos = self.pos
        if pos >= len(self.data):
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        self.pos = pos + 1
        return self.data[pos]

    def u16(self):
        pos = self.pos
        if pos + 2 > len(self.data):
            raise TLSError(_DECODE_ERROR, _R_TRUNCATED)
        self.pos = pos + 2
        return (self.data[pos] << 8) | self.data[pos + 1]

    def vec8(self):
        return self.take(self.u8())

    def vec16(self):
        return self.take(self.u16())

    def left(self):
        return len(self.data) - self.pos

    def done(self):
        if self.pos != len(self.data):
            raise TLSError(_DECODE_ERROR, _R_TRAILING)
