"""TLS alerts (RFC 5246 §7.2, RFC 5746, RFC 6066, RFC 8449) and `TLSError`.

Every problem the engine finds ends in a `TLSError` whose ``alert`` is the *name* of the alert
that was sent to the peer (``"bad_record_mac"``, ``"decode_error"`` ...), or the alert the peer
sent (then ``received`` is True). After a TLSError the connection is dead.
"""

# The alert numbers have public names (DECODE_ERROR = 50 ...: every name of the table below, upper-cased,
# and LEVEL_WARNING = 1, LEVEL_FATAL = 2), made by __getattr__ on first use rather than stored as module
# constants: the engine's modules fold their own private copies (`_DECODE_ERROR = const(50)`), so on the
# TLS path these names cost no dict entry and no qstr (the non-secure image's heap floor).

# The alert names are in device.tls.reasons (ALERTS, one string), loaded with the first TLSError: a name
# is needed only when an error is made, and the table would otherwise sit in the heap (~750 bytes).


def _table():
    from device.tls.reasons import ALERTS

    return ALERTS


def alert_name(code):
    """The RFC name of alert `code` ("alert_123" for one this table does not know)."""
    key = " %d:" % code
    try:
        t = _table()
    except MemoryError:  # (a heap too full to load the names: the error itself must still be made)
        return "alert_%d" % code
    i = t.find(key)
    if i < 0:
        return "alert_%d" % code
    i += len(key)
    return t[i:t.find(" ", i)]


def __getattr__(name):
    # (PEP 562 module __getattr__, MicroPython's too) NAMES ({code: name}) is still there for whoever used
    # it, built on first use; and each alert's number under its upper-cased name (see the top)
    if name == "NAMES":
        t = _table().split()
        return {int(e[:e.index(":")]): e[e.index(":") + 1:] for e in t}
    if name[:6] == "LEVEL_":  # (compared in pieces: a literal longer than 10 characters is a string object)
        if name[6:] == "WARNING":
            return 1
        if name[6:] == "FATAL":
            return 2
    t = _table() if name.isupper() else ""
    i = t.find(":" + name.lower() + " ")
    if i < 0:
        raise AttributeError(name)
    return int(t[t.rfind(" ", 0, i) + 1:i])


def reason_text(reason):
    """The text of a reason number, or (number, arg, ...): the engine's modules give TLSError (and the
    ValueErrors they raise) numbers whose texts are in device.tls.reasons, loaded here with the first
    error, so that no module holds its texts in the heap."""
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
            message = reason_text(message)
        self.message = message
        who = "peer sent" if received else "sent"
        text = "%s alert %s" % (who, self.alert)
        if message:
            text += ": " + message
        super().__init__(text)
