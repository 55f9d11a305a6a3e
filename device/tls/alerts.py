"""TLS alerts (RFC 5246 §7.2, RFC 5746, RFC 6066, RFC 8449) and `TLSError`.

Every problem the engine finds ends in a `TLSError` whose ``alert`` is the *name* of the alert
that was sent to the peer (``"bad_record_mac"``, ``"decode_error"`` ...), or the alert the peer
sent (then ``received`` is True). After a TLSError the connection is dead.
"""

from device.compat import const

LEVEL_WARNING = const(1)
LEVEL_FATAL = const(2)

CLOSE_NOTIFY = const(0)
UNEXPECTED_MESSAGE = const(10)
BAD_RECORD_MAC = const(20)
RECORD_OVERFLOW = const(22)
HANDSHAKE_FAILURE = const(40)
ILLEGAL_PARAMETER = const(47)
DECODE_ERROR = const(50)
DECRYPT_ERROR = const(51)
PROTOCOL_VERSION = const(70)
INTERNAL_ERROR = const(80)
NO_RENEGOTIATION = const(100)
UNSUPPORTED_EXTENSION = const(110)
UNKNOWN_PSK_IDENTITY = const(115)

# The alert names, "code:name" separated by spaces, in one string: one object in RAM instead of 31
# strings and a dict (the non-secure image's heap floor; a name is looked up only when a TLSError is made).
_TABLE = (
    " 0:close_notify 10:unexpected_message 20:bad_record_mac 21:decryption_failed "
    "22:record_overflow 30:decompression_failure 40:handshake_failure 41:no_certificate "
    "42:bad_certificate 43:unsupported_certificate 44:certificate_revoked "
    "45:certificate_expired 46:certificate_unknown 47:illegal_parameter 48:unknown_ca "
    "49:access_denied 50:decode_error 51:decrypt_error 60:export_restriction "
    "70:protocol_version 71:insufficient_security 80:internal_error "
    "86:inappropriate_fallback 90:user_canceled 100:no_renegotiation "
    "110:unsupported_extension 111:certificate_unobtainable 112:unrecognized_name "
    "113:bad_certificate_status_response 114:bad_certificate_hash_value "
    "115:unknown_psk_identity "
)


def alert_name(code):
    """The RFC name of alert `code` ("alert_123" for one this table does not know)."""
    key = " %d:" % code
    i = _TABLE.find(key)
    if i < 0:
        return "alert_%d" % code
    i += len(key)
    return _TABLE[i:_TABLE.find(" ", i)]


def __getattr__(name):
    # NAMES ({code: name}) is still there for whoever used it: built on first use (PEP 562 module __getattr__)
    if name == "NAMES":
        t = _TABLE.split()
        return {int(e[:e.index(":")]): e[e.index(":") + 1:] for e in t}
    raise AttributeError(name)


class TLSError(Exception):
    """A TLS failure. ``alert``: alert name; ``code``: its number; ``received``: True when the
    peer sent it, False when this side sent it (or would have, had the transport been open)."""

    def __init__(self, code, message=None, received=False):
        self.code = code
        self.alert = alert_name(code)
        self.received = received
        self.message = message
        who = "peer sent" if received else "sent"
        text = "%s alert %s" % (who, self.alert)
        if message:
            text += ": " + message
        super().__init__(text)
