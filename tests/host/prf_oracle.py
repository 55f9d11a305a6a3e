"""RFC 5246 §5 P_SHA256 written out with the stdlib's hmac: the oracle the host tests check the
crypto partition's TLS 1.2 PRF against (not a test module itself)."""

import hashlib
import hmac


def p_sha256(secret, seed, n):
    """The first n bytes of P_SHA256(secret, seed); the PRF is p_sha256(secret, label + seed, n)."""
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:n]
