"""AES-CCM (RFC 3610, NIST SP 800-38C) on any backend of ``aes``: CBC-MAC + CTR.

    from device.partitions.crypto import aes, ccm
    c = aes.new(key)
    ct_tag = ccm.encrypt(c, nonce, aad, plaintext, tag_len=16)
    plaintext = ccm.decrypt(c, nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag

Nonce 7..13 bytes (TLS CCM suites use 12), tag 4..16 bytes, even (TLS: 16 or 8).

The record path of TLS, so it is built to allocate little and to run few Python statements. Three scratch
buffers of this module are reused by every call (the crypto partition is never re-entered, so one call owns
them from start to end); they grow on demand up to SCRATCH_MAX message bytes (a 64-byte record needs about
100 bytes each), longer messages use temporary buffers:
- ``_tmpl``: the counter blocks A0, A1, ... (flags || nonce || i, block i carries counter i). Flags and
  counters are written when the buffer is (re)built; per call only the nonce is written into each block.
- ``_ks``: ONE ECB call encrypts _tmpl into it (the keystream E(A0), E(A1), ...); E(A0)[:tag] is then
  copied right after the message's keystream so that message and tag are XORed with it as one big int.
- ``_mac``: B0 || encoded AAD || zero-padded message, CBC-MAC'ed in place by ONE CBC call; afterwards it
  holds plaintext || tag for that XOR. Every byte a call uses is written by that call first, so nothing of
  one record reaches the next (tests interleave keys, nonces and lengths).
"""

from device.compat import const
from device.partitions.crypto.aes import InvalidTag

SCRATCH_MAX = const(1024)  # message bytes a call handles in the reused buffers

_tmpl = None  # memoryview of a bytearray: counter blocks for nonces of 15 - _q bytes
_ks = None
_mac = None
_q = 0  # L (counter bytes) of the blocks in _tmpl
_cap = 0  # message bytes the scratch buffers hold


def _check(nonce, tag_len):
    if not 7 <= len(nonce) <= 13:
        raise ValueError("CCM nonce must be 7..13 bytes")
    if tag_len < 4 or tag_len > 16 or tag_len & 1:
        raise ValueError("CCM tag must be 4, 6, ..., 16 bytes")


def _buffers(n, q, a):
    """(template, keystream, MAC buffer) big enough for an n-byte message, L = q and a bytes of AAD:
    the module's scratch (grown if needed), or temporaries for a message or AAD beyond its limits."""
    global _tmpl, _ks, _mac, _q, _cap
    long = n > SCRATCH_MAX or a > 30
    cap = n if long else max((n + 63) & ~63, _cap)  # grow in steps of 4 blocks
    blocks = (cap + 15) // 16 + 2  # A0..Am, and room for E(A0) moved after the message
    t = bytearray(16 * blocks)
    for i in range(blocks):
        t[16 * i] = q - 1
        t[16 * i + 16 - q: 16 * i + 16] = i.to_bytes(q, "big")
    t = memoryview(t)
    ks = memoryview(bytearray(16 * blocks))
    # B0, the encoded AAD (up to 10 bytes of length; two blocks for the scratch's 30 bytes), message
    mac = memoryview(bytearray(16 * (blocks - 1 + (a + 25) // 16 if long else blocks + 1)))
    if not long:
        _tmpl, _ks, _mac, _q, _cap = t, ks, mac, q, cap
    return t, ks, mac


def _tag(cipher, buf, nonce, aad, msg, n, tag_len):
    """Build B0 || encoded AAD || msg in `buf` and CBC-MAC it in place; returns the offset just past
    the MAC T (its first tag_len bytes are T's)."""
    q = 15 - len(nonce)  # L: bytes of the message-length field
    if n >> (8 * q):
        raise ValueError("CCM message too long for this nonce length")
    a = len(aad) if aad else 0
    buf[0] = (0x40 if a else 0) | (((tag_len - 2) // 2) << 3) | (q - 1)
    buf[1: 16 - q] = nonce
    for i in range(15, 15 - q, -1):  # the length, big endian, in the last q bytes of B0
        buf[i] = n & 0xFF
        n >>= 8
    n = len(msg)
    off = 16
    if a:
        if a < 0xFF00:
            buf[16] = a >> 8
            buf[17] = a & 0xFF
            off = 18
        else:
            h = 4 if a >> 32 == 0 else 8
            buf[16] = 0xFF
            buf[17] = 0xFE if h == 4 else 0xFF
            buf[18: 18 + h] = a.to_bytes(h, "big")
            off = 18 + h
        buf[off: off + a] = aad
        off += a
        while off & 15:  # zero padding (the buffer holds the last call's bytes)
            buf[off] = 0
            off += 1
    buf[off: off + n] = msg
    off += n
    while off & 15:
        buf[off] = 0
        off += 1
    cipher.cbc_mac_into(buf[:off])
    return off


def _keystream(cipher, tmpl, ks, nonce, n, tag_len):
    """E(A1..Am)[:n] || E(A0)[:tag_len] (from ks[16:]) as an int."""
    end = (n + 31) & ~15  # blocks A0..Am
    nl = len(nonce)
    for off in range(1, end, 16):
        tmpl[off: off + nl] = nonce
    cipher.ecb_encrypt_to(tmpl[:end], ks[:end])
    ks[16 + n: 16 + n + tag_len] = ks[:tag_len]  # E(A0) right after the message's keystream
    return int.from_bytes(ks[16: 16 + n + tag_len], "big")


def encrypt(cipher, nonce, aad, plaintext, tag_len=16):
    """ciphertext || tag (bytes)."""
    q = 15 - len(nonce)
    if q < 2 or q > 8 or tag_len < 4 or tag_len > 16 or tag_len & 1:
        _check(nonce, tag_len)  # (raises the specific ValueError)
    n = len(plaintext)
    a = len(aad) if aad else 0
    if n > _cap or q != _q or a > 30:
        tmpl, ks, mac = _buffers(n, q, a)
    else:
        tmpl, ks, mac = _tmpl, _ks, _mac
    end = _tag(cipher, mac, nonce, aad, plaintext, n, tag_len) - 16
    mac[end - n: end] = plaintext  # plaintext || T (T is where the MAC left it): one int
    x = int.from_bytes(mac[end - n: end + tag_len], "big") ^ _keystream(cipher, tmpl, ks, nonce, n, tag_len)
    return x.to_bytes(n + tag_len, "big")


def decrypt(cipher, nonce, aad, data, tag_len=16):
    """The plaintext (bytes) of ciphertext || tag; raises aes.InvalidTag when it does not verify."""
    q = 15 - len(nonce)
    if q < 2 or q > 8 or tag_len < 4 or tag_len > 16 or tag_len & 1:
        _check(nonce, tag_len)  # (raises the specific ValueError)
    n = len(data) - tag_len
    if n < 0:
        raise InvalidTag("CCM input shorter than its tag")
    a = len(aad) if aad else 0
    if n > _cap or q != _q or a > 30:
        tmpl, ks, mac = _buffers(n, q, a)
    else:
        tmpl, ks, mac = _tmpl, _ks, _mac
    x = int.from_bytes(data, "big") ^ _keystream(cipher, tmpl, ks, nonce, n, tag_len)  # plaintext || T
    pt = (x >> (8 * tag_len)).to_bytes(n, "big")
    end = _tag(cipher, mac, nonce, aad, pt, n, tag_len) - 16
    t = int.from_bytes(mac[end: end + tag_len], "big")
    if (x & ((1 << (8 * tag_len)) - 1)) ^ t:  # the whole tag compared at once (one int XOR): constant time
        raise InvalidTag("CCM tag mismatch")
    return pt
