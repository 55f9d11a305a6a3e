"""backend="native": the runtime's own PSK-capable TLS (MicroPython >= 1.29 `tls.SSLContext`).

Faster than the engine (mbedTLS in C), but WEAKER: the raw PSK is handed to the runtime and
sits in non-secure memory for the life of the context. It also offers only what the build has:
on MicroPython 1.29 that is TLS_PSK_WITH_AES_128_GCM_SHA256 and TLS_PSK_WITH_AES_128_CBC_SHA256
-- no CCM, no CCM_8. Opt-in only; the default backend keeps the key in the crypto partition.
"""

from device.tls import suites as _suites

_MBEDTLS_NAMES = {
    _suites.TLS_PSK_WITH_AES_128_GCM_SHA256: "TLS-PSK-WITH-AES-128-GCM-SHA256",
    _suites.TLS_PSK_WITH_AES_128_CBC_SHA256: "TLS-PSK-WITH-AES-128-CBC-SHA256",
}


def available():
    """True when this runtime has a tls.SSLContext with psk_identity/psk_key."""
    try:
        import tls

        ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    except (ImportError, AttributeError):  # no tls module, or one without SSLContext (a MemoryError is raised)
        return False
    return hasattr(ctx, "psk_identity") and hasattr(ctx, "psk_key")


class NativeStream:
    """The runtime's TLS socket with the same surface as TLSStream (write/read/readinto/close)."""

    def __init__(self, ssl_sock, suite):
        self._s = ssl_sock
        self.cipher_suite = suite

    def write(self, buf):
        return self._s.write(buf)

    def read(self, n=-1):
        """Up to n bytes (one TLS read: what has arrived); b"" at the end of the stream."""
        if n is None or n < 0:
            n = 16384
        return self._s.recv(n)

    def readinto(self, buf, nbytes=None):
        if nbytes is not None and nbytes < len(buf):
            buf = memoryview(buf)[:nbytes]
        return self._s.recv_into(buf)

    def close(self):
        self._s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wrap_socket_native(sock, identity, psk, suites=None, server_hostname=None):
    if isinstance(psk, int):
        raise ValueError("backend='native' needs the raw PSK bytes (a key id cannot leave the partition)")
    if not available():
        raise OSError("this runtime has no PSK-capable tls.SSLContext (MicroPython >= 1.29 needed)")
    import tls

    wanted = _suites.parse_suites(suites if suites is not None
                                  else (_suites.TLS_PSK_WITH_AES_128_GCM_SHA256,
                                        _suites.TLS_PSK_WITH_AES_128_CBC_SHA256))
    names = [_MBEDTLS_NAMES[s] for s in wanted if s in _MBEDTLS_NAMES]
    if not names:
        raise ValueError("backend='native' has no CCM/CCM_8 suites; use gcm or cbc")
    try:
        sock.setsockopt(6, 1, 1)  # TCP_NODELAY
    except Exception:  # noqa
        pass
    ctx = tls.SSLContext(tls.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = tls.CERT_NONE
    ctx.psk_identity = identity
    ctx.psk_key = bytes(psk)
    ctx.set_ciphers(names)
    s = ctx.wrap_socket(sock, server_hostname=server_hostname)
    suite = None
    try:
        name = s.cipher()
        name = name[0] if isinstance(name, tuple) else name
        for num, mbed in _MBEDTLS_NAMES.items():
            if mbed == name:
                suite = num
    except Exception:  # noqa: a build without SSLSocket.cipher()
        pass
    return NativeStream(s, suite)
