"""AES-GCM (NIST SP 800-38D) on any backend of ``aes``: CTR + GHASH with 4-bit tables.

    from device.partitions.crypto import aes, gcm
    g = gcm.GCM(aes.new(key))         # builds the GHASH tables for this key once
    ct_tag = g.encrypt(nonce, aad, plaintext, tag_len=16)
    plaintext = g.decrypt(nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag

GHASH on Python ints in GCM's bit order (the int of a block has x^0 as its top bit): per block,
the carry-less product (Y ^ X) * H is built Horner style, a byte per step, from two 16-entry
tables (n * H and n * H << 4 for each nibble n), growing to the left with no reduction on the
way; the 255-bit product is reduced once at the end of the block (x^128 = x^7 + x^2 + x + 1,
folded twice). 16 steps of one shift and two XORs per block, 32 table entries per key. The
keystream is one ECB call.
"""

from device.partitions.crypto.aes import xor, ctr_blocks, compare_digest, InvalidTag

_M127 = (1 << 127) - 1


class GCM:
    def __init__(self, cipher):
        self._c = cipher
        h = int.from_bytes(cipher.ecb_encrypt(bytes(16)), "big")
        lo = [0] * 16  # carry-less n * H, n a nibble (up to 131 bits)
        lo[1], lo[2], lo[4], lo[8] = h, h << 1, h << 2, h << 3
        for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):
            lo[i] = lo[i & 8] ^ lo[i & 4] ^ lo[i & 2] ^ lo[i & 1]
        self._lo = lo
        self._hi = [v << 4 for v in lo]

    def _ghash(self, data, y=0):
        """GHASH over `data` (a multiple of 16 bytes), continuing from state y."""
        lo = self._lo
        hi = self._hi
        for off in range(0, len(data), 16):
            z = 0
            for b in (y ^ int.from_bytes(data[off: off + 16], "big")).to_bytes(16, "big"):
                z = (z << 8) ^ hi[b >> 4] ^ lo[b & 15]
            # z: bit 254 - k is the coefficient of x^k. Degrees 0..127 are z >> 127; degrees
            # 128..254 (z's low 127 bits, as U with x^128 * U = U * (1 + x + x^2 + x^7)) fold back:
            # in this bit order a multiplication by x is a right shift; 8 guard bits catch the
            # degrees 128..133 that the fold itself produces, folded once more (as t).
            v = (z & _M127) << 9
            w = v ^ (v >> 1) ^ (v >> 2) ^ (v >> 7)
            t = (w & 0xFF) << 120
            y = (z >> 127) ^ (w >> 8) ^ t ^ (t >> 1) ^ (t >> 2) ^ (t >> 7)
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
