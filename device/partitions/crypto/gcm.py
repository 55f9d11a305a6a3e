"""AES-GCM (NIST SP 800-38D) on any backend of ``aes``: CTR + GHASH with 4-bit tables.

    from device.partitions.crypto import aes, gcm
    g = gcm.GCM(aes.new(key))         # builds the GHASH tables for this key once
    ct_tag = g.encrypt(nonce, aad, plaintext, tag_len=16)
    plaintext = g.decrypt(nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag

GHASH multiplies by H with Shoup's 4-bit method on Python ints: 16 multiples of H plus a
16-entry reduction table, 32 table steps per block. The keystream is one ECB call.
"""

from device.partitions.crypto.aes import xor, ctr_blocks, compare_digest, InvalidTag

_R = 0xE1 << 120
_RED = None


def _mul_x(v):
    return (v >> 1) ^ _R if v & 1 else v >> 1


def _red():
    global _RED
    if _RED is None:
        t = []
        for r in range(16):
            z = r
            for _ in range(4):
                z = _mul_x(z)
            t.append(z)
        _RED = t
    return _RED


class GCM:
    def __init__(self, cipher):
        self._c = cipher
        h = int.from_bytes(cipher.ecb_encrypt(bytes(16)), "big")
        m = [0] * 16
        m[8] = h
        m[4] = _mul_x(h)
        m[2] = _mul_x(m[4])
        m[1] = _mul_x(m[2])
        for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
            m[i] = m[i & 8] ^ m[i & 4] ^ m[i & 2] ^ m[i & 1]
        self._m = m
        self._red = _red()

    def _ghash(self, data, y=0):
        """GHASH over `data` (a multiple of 16 bytes), continuing from state y."""
        m = self._m
        red = self._red
        for off in range(0, len(data), 16):
            # walk X's nibbles from the last (highest powers of x) to the first, Horner style;
            # over the bytes of X rather than shifting a 128-bit int (one fewer big-int per step)
            xb = (y ^ int.from_bytes(data[off: off + 16], "big")).to_bytes(16, "big")
            z = 0
            for i in range(15, -1, -1):
                b = xb[i]
                z = (z >> 4) ^ red[z & 15] ^ m[b & 15]
                z = (z >> 4) ^ red[z & 15] ^ m[b >> 4]
            y = z
        return y

    def _j0(self, nonce):
        if len(nonce) == 12:
            return bytes(nonce) + b"\x00\x00\x00\x01"
        n = len(nonce)
        s = self._ghash(bytes(nonce) + bytes((16 - n % 16) % 16) + bytes(8) + (8 * n).to_bytes(8, "big"))
        return s.to_bytes(16, "big")

    def _tag(self, j0, aad, ct, tag_len):
        a = len(aad)
        c = len(ct)
        s = self._ghash(b"".join((bytes(aad), bytes((16 - a % 16) % 16), bytes(ct), bytes((16 - c % 16) % 16),
                                  (8 * a).to_bytes(8, "big"), (8 * c).to_bytes(8, "big"))))
        return xor(s.to_bytes(16, "big")[:tag_len], self._c.ecb_encrypt(j0)[:tag_len])

    def _ctr(self, j0, data):
        n = len(data)
        if not n:
            return b""
        ks = ctr_blocks(self._c, j0[:12], int.from_bytes(j0[12:], "big") + 1, (n + 15) // 16)
        return xor(data, ks[:n])

    @staticmethod
    def _check(nonce, tag_len, n):
        if not 1 <= len(nonce) <= 128:
            raise ValueError("GCM nonce must be 1..128 bytes")
        if tag_len not in (4, 8, 12, 13, 14, 15, 16):
            raise ValueError("GCM tag must be 4, 8 or 12..16 bytes")
        if n > 0xFFFFFFFE0:  # 2^39 - 256 bits
            raise ValueError("GCM plaintext too long")

    def encrypt(self, nonce, aad, plaintext, tag_len=16):
        """ciphertext || tag."""
        self._check(nonce, tag_len, len(plaintext))
        j0 = self._j0(nonce)
        ct = self._ctr(j0, plaintext)
        return ct + self._tag(j0, aad, ct, tag_len)

    def decrypt(self, nonce, aad, data, tag_len=16):
        """The plaintext of ciphertext || tag; raises aes.InvalidTag when it does not verify."""
        self._check(nonce, tag_len, 0)
        n = len(data) - tag_len
        if n < 0:
            raise InvalidTag("GCM input shorter than its tag")
        j0 = self._j0(nonce)
        ct = data[:n]
        if not compare_digest(self._tag(j0, aad, ct, tag_len), data[n:]):
            raise InvalidTag("GCM tag mismatch")
        return self._ctr(j0, ct)
