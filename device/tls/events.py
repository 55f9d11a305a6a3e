"""The events of TLSClientConnection.receive_data() (the sans-IO API, the h11 shape).

Loaded on first use: device.tls.stream drives the engine through its record fast path
(receive_buffer / received / next_data), which makes no event objects, so a socket client's heap
does without this module. ``device.tls.connection.HandshakeComplete`` (etc.) still resolve.
"""

from device.tls import suites as _suites


class HandshakeComplete:
    def __init__(self, suite):
        self.suite = suite

    def __repr__(self):
        return "HandshakeComplete(%s)" % _suites.suite_name(self.suite)


class ApplicationData:
    def __init__(self, data):
        self.data = data

    def __repr__(self):
        return "ApplicationData(%d bytes)" % len(self.data)


class ConnectionClosed:
    def __init__(self, clean):
        self.clean = clean

    def __repr__(self):
        return "ConnectionClosed(clean=%r)" % self.clean


def receive_data(conn, data):
    """TLSClientConnection.receive_data: feed bytes from the peer (b"" = end of stream); a list of events.
    (The engine appends HandshakeComplete / ConnectionClosed to conn._events while this runs.)"""
    if conn._error is not None:
        raise conn._error
    events = []
    if conn.closed:
        return events
    conn._events = events
    try:
        n = len(data)
        if not n:
            conn._eof()
            return events
        conn.receive_buffer(n)[:] = data
        conn._iend += n
        while not conn.closed:
            pt = conn._next_record()
            if pt is None:
                break
            if len(pt):
                events.append(ApplicationData(pt))
    except Exception as e:
        conn._die(e)
        raise e
    finally:
        conn._events = None
    return events
