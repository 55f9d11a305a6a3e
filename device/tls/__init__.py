"""TLS 1.2 PSK client for psa-sensorkit: a sans-IO engine keyed through the crypto partition.

    from device.tls import wrap_socket, TLS_PSK_WITH_AES_128_CCM
    from device.psa.crypto import KEY_ID_PSK
    t = wrap_socket(sock, b"device-1", KEY_ID_PSK)       # PSK by key id: it never leaves the partition
    t.write(b"hi"); t.read(); t.close()

Pieces: connection (TLSClientConnection: the sans-IO state machine), messages, keys (the only
module touching keys -- through device.psa.crypto), stream (wrap_socket), native (opt-in
backend="native"), alerts (TLSError), suites. See docs/tls.md.
"""

from device.tls.alerts import TLSError, alert_name
from device.tls.suites import (
    TLS_PSK_WITH_AES_128_CCM,
    TLS_PSK_WITH_AES_128_CCM_8,
    TLS_PSK_WITH_AES_128_GCM_SHA256,
    TLS_PSK_WITH_AES_128_CBC_SHA256,
    DEFAULT_SUITES,
    suite_name,
)


def wrap_socket(sock, identity, psk, **kw):
    """See device.tls.stream.wrap_socket (imported lazily: the engine loads only when used)."""
    from device.tls.stream import wrap_socket as _wrap

    return _wrap(sock, identity, psk, **kw)

