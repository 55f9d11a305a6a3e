"""TLS alerts (RFC 5246 §7.2, RFC 5746, RFC 6066, RFC 8449) and `TLSError`.

Every problem the engine finds ends in a `TLSError` whose ``alert`` is the *name* of the alert
that was sent to the peer (``"bad_record_mac"``, ``"decode_error"`` ...), or the alert the peer
sent (then ``received`` is True). After a TLSError the connection is dead.
"""

# The alert numbers have public names (DECODE_ERROR = 50 ...: every name of the table below, upper-cased,
# and LEVEL_WARNING = 1, LEVEL_FATAL = 2), made by __getattr__ on first use rather than stored as module
# constants: the engine's modules fold their own private copies (`_DECODE_ERROR = const(50)`), so on the
# TLS path these names cost no dict entry and no qstr (the non-secure image's heap floor).

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
    # (PEP 562 module __getattr__, MicroPython's too) NAMES ({code: name}) is still there for whoever used
    # it, built on first use; and each alert's number under its upper-cased name (see the top)
    if name == "NAMES":
        t = _TABLE.split()
        return {int(e[:e.index(":")]): e[e.index(":") + 1:] for e in t}
    if name == "LEVEL_WARNING":
        return 1
    if name == "LEVEL_FATAL":
        return 2
    i = _TABLE.find(":" + name.lower() + " ") if name.isupper() else -1
    if i < 0:
        raise AttributeError(name)
    return int(_TABLE[_TABLE.rfind(" ", 0, i) + 1:i])


def _reason_text(reason):
    # the engine's modules give TLSError a reason number, or (number, arg, ...), whose text is in
    # device.tls.reasons: loaded here, with the first error, so that no module holds texts (heap floor)
    try:
        from device.tls.reasons import text

        return text(reason)
    except MemoryError:  # (a heap too full to load the texts: the error itself must still be raised)
        return "reason %s" % (reason,)


class TLSError(Exception):
    """A TLS failure. ``alert``: alert name; ``code``: its number; ``received``: True when the
    peer sent it, False when this side sent it (or would have, had the transport been open);
    ``message``: the detail text (given as text, or as a reason number of device.tls.reasons)."""

    def __init__(self, code, message=None, received=False):
        self.code = code
        self.alert = alert_name(code)
        self.received = received
        if message is not None and message.__class__ is not str:  # a reason number (or tuple): its text
            message = _reason_text(message)
        self.message = message
        who = "peer sent" if received else "sent"
        text = "%s alert %s" % (who, self.alert)
        if message:
            text += ": " + message
        super().__init__(text)
