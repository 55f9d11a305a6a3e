"""TLS 1.2 key derivation: the PRF P_SHA256 (RFC 5246 section 5) and the PSK premaster (RFC 4279).

    prf_sha256(secret, label, seed, n)      # label and seed are bytes; label || seed is the PRF seed
    psk_premaster(psk, other_secret=None)   # uint16 N || other (N zeros) || uint16 len(psk) || psk
    psk_to_ms(psk, seed, label=b"master secret", other_secret=None)  -> 48 bytes

The extended master secret (RFC 7627) is the same call with label b"extended master secret" and
the session hash as seed.
"""

from device.partitions.crypto.hmac_sha256 import HMACKey

MASTER_SECRET_LEN = 48


def prf_sha256(secret, label, seed, n):
    """n bytes of P_SHA256(secret, label || seed)."""
    if n < 0:
        raise ValueError("negative PRF output length")
    k = HMACKey(secret)
    s = bytes(label) + bytes(seed)
    out = []
    got = 0
    a = s
    while got < n:
        a = k.mac(a)
        block = k.mac(a, s)
        out.append(block)
        got += len(block)
    return b"".join(out)[:n]


def psk_premaster(psk, other_secret=None):
    n = len(psk)
    if n > 0xFFFF or (other_secret is not None and len(other_secret) > 0xFFFF):
        raise ValueError("PSK or other secret longer than 65535 bytes")
    other = bytes(n) if other_secret is None else bytes(other_secret)
    return len(other).to_bytes(2, "big") + other + n.to_bytes(2, "big") + bytes(psk)


def psk_to_ms(psk, seed, label=b"master secret", other_secret=None):
    return prf_sha256(psk_premaster(psk, other_secret), label, seed, MASTER_SECRET_LEN)
