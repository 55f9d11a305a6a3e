"""HMAC-SHA256 (RFC 2104) over ``hashlib.sha256`` -- MicroPython has no ``hmac`` module.

    from device.partitions.crypto.hmac_sha256 import HMAC, hmac_sha256
    tag = hmac_sha256(key, msg)
    h = HMAC(key); h.update(a); h.update(b); tag = h.digest()   # digest() once

``HMACKey(key)`` keeps the padded inner/outer keys for repeated MACs under one key (the TLS PRF).
MicroPython's sha256 objects cannot be copied, so each MAC hashes the 64-byte pads afresh.
"""

import hashlib

_sha256 = hashlib.sha256  # (one lookup instead of two per use)
BLOCK_SIZE = 64
DIGEST_SIZE = 32
_IPAD = int.from_bytes(b"\x36" * 64, "big")
_OPAD = int.from_bytes(b"\x5c" * 64, "big")


class HMACKey:
    """The two padded keys of one HMAC-SHA256 key."""

    def __init__(self, key):
        if len(key) > BLOCK_SIZE:
            key = hashlib.sha256(key).digest()
        k = int.from_bytes(bytes(key) + bytes(BLOCK_SIZE - len(key)), "big")
        self.inner = (k ^ _IPAD).to_bytes(BLOCK_SIZE, "big")
        self.outer = (k ^ _OPAD).to_bytes(BLOCK_SIZE, "big")

    def mac(self, msg, msg2=None):
        """HMAC(key, msg || msg2): two parts so that callers need not concatenate them."""
        h = _sha256(self.inner)
        h.update(msg)
        if msg2 is not None:
            h.update(msg2)
        o = _sha256(self.outer)
        o.update(h.digest())
        return o.digest()


class HMAC:
    """Multi-part HMAC-SHA256: update() any number of times, then digest() once."""

    digest_size = DIGEST_SIZE

    def __init__(self, key, msg=None):
        k = HMACKey(key)
        self._outer = k.outer
        self._h = hashlib.sha256(k.inner)
        if msg is not None:
            self._h.update(msg)

    def update(self, data):
        self._h.update(data)

    def digest(self):
        o = hashlib.sha256(self._outer)
        o.update(self._h.digest())
        return o.digest()


def hmac_sha256(key, msg):
    return HMACKey(key).mac(msg)
