"""AES-CCM (RFC 3610, NIST SP 800-38C) on any backend of ``aes``: CBC-MAC + CTR.

    from device.partitions.crypto import aes, ccm
    c = aes.new(key)
    ct_tag = ccm.encrypt(c, nonce, aad, plaintext, tag_len=16)
    plaintext = ccm.decrypt(c, nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag

Nonce 7..13 bytes (TLS CCM suites use 12), tag 4..16 bytes, even (TLS: 16 or 8). The CBC-MAC is
one CBC call over B0 || encoded AAD || padded message, in place in the one buffer that holds them;
the counter blocks A1..An, A0 are one in-place ECB call; the message and the tag are XORed with
their keystream as one big int.
"""

from device.partitions.crypto.aes import compare_digest, InvalidTag


def _check(nonce, tag_len):
    if not 7 <= len(nonce) <= 13:
        raise ValueError("CCM nonce must be 7..13 bytes")
    if tag_len < 4 or tag_len > 16 or tag_len & 1:
        raise ValueError("CCM tag must be 4, 6, ..., 16 bytes")


def _cbc_mac(cipher, nonce, aad, msg, tag_len):
    """CBC-MAC over B0 || encoded AAD || message, built in ONE zero-padded buffer (one CBC call)."""
    q = 15 - len(nonce)  # L: bytes of the message-length field
    m = len(msg)
    if m >> (8 * q):
        raise ValueError("CCM message too long for this nonce length")
    a = len(aad) if aad else 0
    if not a:
        h = 0
    elif a < 0xFF00:
        h = 2
    elif a >> 32 == 0:
        h = 6
    else:
        h = 10
    a_blocks = (h + a + 15) // 16
    buf = bytearray(16 * (1 + a_blocks + (m + 15) // 16))  # the zero padding comes free
    buf[0] = (0x40 if a else 0) | (((tag_len - 2) // 2) << 3) | (q - 1)
    buf[1: 16 - q] = nonce
    buf[16 - q: 16] = m.to_bytes(q, "big")
    if a:
        if h == 2:
            buf[16:18] = a.to_bytes(2, "big")
        else:
            buf[16:18] = b"\xff\xfe" if h == 6 else b"\xff\xff"
            buf[18: 16 + h] = a.to_bytes(h - 2, "big")
        buf[16 + h: 16 + h + a] = aad
    off = 16 * (1 + a_blocks)
    buf[off: off + m] = msg
    return cipher.cbc_mac_into(buf)


def _counters(cipher, nonce, m):
    """E(A1) .. E(Am) E(A0) in ONE in-place ECB call: the message's keystream first, A0's block last.

    A_i = flags || nonce || i (L bytes): one template block copied m + 1 times, then only the low
    counter bytes are set (i < 2**16 always in TLS records; longer messages take the general path).
    """
    q = 15 - len(nonce)
    blk = bytearray(16)
    blk[0] = q - 1
    blk[1: 16 - q] = nonce
    buf = bytearray(bytes(blk) * (m + 1))  # A0 (counter 0) stays as the last block
    off = 15
    if m < 0x10000:
        for i in range(1, m + 1):
            buf[off] = i & 0xFF
            buf[off - 1] = i >> 8
            off += 16
    else:
        for i in range(1, m + 1):
            buf[off + 1 - q: off + 1] = i.to_bytes(q, "big")
            off += 16
    cipher.ecb_encrypt_into(buf)
    return buf


def _seal_keystream(ks, n, m, tag_len):
    """Move E(A0)[:tag_len] right after the n keystream bytes of the message: ks[:n + tag_len]
    then XORs P || T (or C || U) in one go."""
    ks[n: n + tag_len] = ks[16 * m: 16 * m + tag_len]  # (a slice copy first: overlap is safe)
    return memoryview(ks)[: n + tag_len]


def encrypt(cipher, nonce, aad, plaintext, tag_len=16):
    """ciphertext || tag."""
    _check(nonce, tag_len)
    n = len(plaintext)
    t = _cbc_mac(cipher, nonce, aad, plaintext, tag_len)
    m = (n + 15) // 16
    ks = _seal_keystream(_counters(cipher, nonce, m), n, m, tag_len)
    x = int.from_bytes(bytes(plaintext) + t[:tag_len], "big") ^ int.from_bytes(ks, "big")
    return x.to_bytes(n + tag_len, "big")


def decrypt(cipher, nonce, aad, data, tag_len=16):
    """The plaintext of ciphertext || tag; raises aes.InvalidTag when it does not verify."""
    _check(nonce, tag_len)
    n = len(data) - tag_len
    if n < 0:
        raise InvalidTag("CCM input shorter than its tag")
    m = (n + 15) // 16
    ks = _seal_keystream(_counters(cipher, nonce, m), n, m, tag_len)
    x = (int.from_bytes(data, "big") ^ int.from_bytes(ks, "big")).to_bytes(n + tag_len, "big")
    pt = x[:n]
    t = _cbc_mac(cipher, nonce, aad, pt, tag_len)
    if not compare_digest(t[:tag_len], x[n:]):
        raise InvalidTag("CCM tag mismatch")
    return pt
