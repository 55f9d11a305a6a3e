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
        from device.tls.stream import wrap_socket

        _wrap = wrap_socket
        # loading the engine (~25 KB of code) left garbage all over the heap: collect it before the
        # first connection allocates its long-lived state (buffers, keys), so that state stays packed
        # (device.compat.collect_garbage; once per process, a no-op on CPython)
        _collect_garbage()
    return _wrap(sock, identity, psk, **kw)

