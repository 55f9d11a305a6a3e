"""TLS 1.2 PSK client for psa-sensorkit: a sans-IO engine keyed through the crypto partition.

    from device.tls import wrap_socket, TLS_PSK_WITH_AES_128_CCM
    from device.psa.crypto import KEY_ID_PSK
    t = wrap_socket(sock, b"device-1", KEY_ID_PSK)       # PSK by key id: it never leaves the partition
    t.write(b"hi"); t.read(); t.close()

Pieces: connection (TLSClientConnection: the sans-IO state machine), messages, keys (the only
module touching keys -- through device.psa.crypto), stream (wrap_socket), native (opt-in
backend="native"), alerts (TLSError), suites. See docs/tls.md.
"""

from device.compat import collect_garbage as _collect_garbage
from device.tls.alerts import TLSError, alert_name
from device.tls.suites import (
    TLS_PSK_WITH_AES_128_CCM,
    TLS_PSK_WITH_AES_128_CCM_8,
    TLS_PSK_WITH_AES_128_GCM_SHA256,
    TLS_PSK_WITH_AES_128_CBC_SHA256,
    DEFAULT_SUITES,
    suite_name,
)


_wrap = None  # device.tls.stream.wrap_socket once loaded


def wrap_socket(sock, identity, psk, **kw):
    """See device.tls.stream.wrap_socket (imported lazily: the engine loads only when used)."""
    global _wrap
    if _wrap is None:
        # Load the engine (~25 KB of code) one module at a time, collecting garbage before each: loading a
        # module leaves garbage (its top-level code, load buffers), and MicroPython collects only when an
        # allocation fails, by which time later modules' code sits between the garbage, whose holes are then
        # too small for a larger allocation. Collected each time, the holes are free while the next module
        # loads and its code fills them. The last collection also keeps the first connection's long-lived
        # state (buffers, keys) packed. (device.compat.collect_garbage; once per process, a no-op on CPython.)
        for name in ("keys", "messages", "connection", "stream"):
            _collect_garbage()
            __import__(__name__ + "." + name)
        from device.tls.stream import wrap_socket

        _wrap = wrap_socket
        _collect_garbage()
    return _wrap(sock, identity, psk, **kw)

