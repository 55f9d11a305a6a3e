"""The rest of device.tls.messages, loaded on first use through its module ``__getattr__`` (so
``messages.Reader`` and ``messages.CLIENT_HELLO`` keep working): the public names of the handshake
message types and extensions (messages folds private copies), and Reader, bounds-checked reads over a
message, which the engine's parsers no longer use (they read by offsets). Neither is in a TLS client's heap.
"""

from device.compat import const
from device.tls.alerts import TLSError

_DECODE_ERROR = const(50)  # alert (device.tls.alerts)
_R_TRUNCATED = const(1)  # TLSError reason (device.tls.reasons): "message truncated"
_R_TRAILING = const(2)  # TLSError reason (device.tls.reasons): "trailing bytes in message"

# handshake message types (RFC 5246 §7.4)
HELLO_REQUEST = const(0)
CLIENT_HELLO = const(1)
SERVER_HELLO = const(2)
CERTIFICATE = const(11)
SERVER_KEY_EXCHANGE = const(12)
CERTIFICATE_REQUEST = const(13)
SERVER_HELLO_DONE = const(14)
CLIENT_KEY_EXCHANGE = const(16)
FINISHED = const(20)

# extensions
EXT_SERVER_NAME = const(0)
EXT_MAX_FRAGMENT_LENGTH = const(1)
EXT_ENCRYPT_THEN_MAC = const(22)
EXT_EXTENDED_MASTER_SECRET = const(23)
EXT_RECORD_SIZE_LIMIT = const(28)
EXT_RENEGOTIATION_INFO = const(0xFF01)


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
