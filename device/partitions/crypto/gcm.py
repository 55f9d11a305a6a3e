"""AES-GCM (NIST SP 800-38D) on any backend of ``aes``: CTR + GHASH with 4-bit tables.

    from device.partitions.crypto import aes, gcm
    g = gcm.GCM(aes.new(key))         # builds the GHASH tables for this key once
    ct_tag = g.encrypt(nonce, aad, plaintext, tag_len=16)
    plaintext = g.decrypt(nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag

GHASH on Python ints in GCM's bit order (the int of a block has x^0 as its top bit). Per block the
carry-less product (Y ^ X) * H is built Horner style, TWO bytes per step, from four 16-entry tables
(n * H, n * H << 4, n * H << 8, n * H << 12 for each nibble n): one shift and four XORs per step,
growing to the left with no reduction on the way; the 255-bit product is reduced once at the end of
the block (x^128 = x^7 + x^2 + x + 1, folded twice). 8 steps per block, 64 table entries per key
(about 4.6 KB on 64-bit MicroPython).

Why this and not something else (measured on MicroPython, valgrind instruction counts, 64-byte
record): GHASH is ~85 % of a GCM record and every big-int operation costs an allocation, so the
number of big-int operations per block is what counts. One byte per step with two tables (32 entries,
2.3 KB) takes 48 operations per block, two bytes per step with four tables 40 (about 15 % less
GHASH time); a 256-entry byte table (one shift, one XOR per byte: 32 operations) would need ~18 KB
per key and a record uses two keys, over the partition's budget. A carry-less multiply done with
integer multiplication on bit-spread operands (the operand spread to 8-bit slots with
"{:0128b}".format, one 1024 x 1024-bit multiplication, gathered back with int(..., 2)) is slower on
MicroPython: its schoolbook multiplication and base-2 conversions cost more than the table steps.

The counters of a 96-bit nonce (every TLS record) are blocks J0, J0 + 1, ... of a template in this
module's scratch: per call only the nonce is written into each block and ONE ECB call encrypts them
all, E(J0) for the tag included. Other nonce lengths take the general path (GHASH of the nonce).
"""

from device.compat import const
from device.partitions.crypto.aes import ctr_blocks, InvalidTag

_M127 = (1 << 127) - 1
SCRATCH_MAX = const(1024)  # message bytes a call handles in the reused counter buffers

_tmpl = None  # memoryview: blocks N || counter (counter 1, 2, ...): per call the nonce N is written
_ks = None  # memoryview: their encryption (E(J0) first)
_cap = 0  # message bytes the scratch holds


def _counters(n):
    """(template, keystream buffer) for an n-byte message with a 96-bit nonce."""
    global _tmpl, _ks, _cap
    long = n > SCRATCH_MAX
    cap = n if long else max((n + 63) & ~63, _cap)
    blocks = (cap + 15) // 16 + 1  # J0 and the message's counters
    t = bytearray(16 * blocks)
    for i in range(blocks):
        t[16 * i + 12: 16 * i + 16] = (i + 1).to_bytes(4, "big")
    t = memoryview(t)
    ks = memoryview(bytearray(16 * blocks))
    if not long:
        _tmpl, _ks, _cap = t, ks, cap
    return t, ks


class GCM:
    def __init__(self, cipher):
        self._c = cipher
        h = int.from_bytes(cipher.ecb_encrypt(bytes(16)), "big")
        lo = [0] * 16  # carry-less n * H, n a nibble (up to 131 bits)
        lo[1], lo[2], lo[4], lo[8] = h, h << 1, h << 2, h << 3
        for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):  # one XOR each: i without its lowest bit, and that bit
            lo[i] = lo[i & (i - 1)] ^ lo[i & -i]
        # for the byte pair (b0, b1) of a step: n * H << 12, << 8 (b0's nibbles), << 4, << 0 (b1's)
        self._t = ([v << 12 for v in lo], [v << 8 for v in lo], [v << 4 for v in lo], lo)

    def _ghash(self, data, y=0, n=None):
        """GHASH over data[:n] (n defaults to all of it; a partial last block is zero padded),
        continuing from state y."""
        t3, t2, t1, t0 = self._t
        if n is None:
            n = len(data)
        for off in range(0, n, 16):
            end = off + 16
            if end <= n:
                x = int.from_bytes(data[off:end], "big")
            else:  # the zero padding of a partial last block
                x = int.from_bytes(data[off:n], "big") << (8 * (end - n))
            blk = (y ^ x).to_bytes(16, "big")
            z = 0
            for i in range(0, 16, 2):
                b = blk[i]
                c = blk[i + 1]
                z = (z << 16) ^ t3[b >> 4] ^ t2[b & 15] ^ t1[c >> 4] ^ t0[c & 15]
            # z: bit 254 - k is the coefficient of x^k. Degrees 0..127 are z >> 127; degrees
            # 128..254 (z's low 127 bits, as U with x^128 * U = U * (1 + x + x^2 + x^7)) fold back:
            # in this bit order a multiplication by x is a right shift; 8 guard bits catch the
            # degrees 128..133 that the fold itself produces, folded once more (as t).
            # The second fold works on the 8 guard bits b as a small int (no big-int allocations):
            # t ^ t >> 1 ^ t >> 2 ^ t >> 7 with t = b << 120 is (b << 7 ^ b << 6 ^ b << 5 ^ b) << 113.
            v = (z & _M127) << 9
            w = v ^ (v >> 1) ^ (v >> 2) ^ (v >> 7)
            b = w & 0xFF
            y = (z >> 127) ^ (w >> 8) ^ (((b << 7) ^ (b << 6) ^ (b << 5) ^ b) << 113)
        return y

    def _s(self, aad, ct, n):
        """GHASH(H, A, C): the AAD, then ct[:n], then the lengths block."""
        a = len(aad)
        y = self._ghash(aad) if a else 0
        if n:
            y = self._ghash(ct, y, n)
        return self._ghash(((8 * a) << 64 | (8 * n)).to_bytes(16, "big"), y)

    def _keystream(self, nonce, n):
        """(E(J0) as an int, keystream of n bytes as an int)."""
        if len(nonce) == 12:
            if n > _cap or _tmpl is None:
                tmpl, ks = _counters(n)
            else:
                tmpl, ks = _tmpl, _ks
            end = (n + 31) & ~15  # J0 and ceil(n / 16) counter blocks
            for off in range(0, end, 16):
                tmpl[off: off + 12] = nonce
            self._c.ecb_encrypt_to(tmpl[:end], ks[:end])
            return int.from_bytes(ks[:16], "big"), int.from_bytes(ks[16: 16 + n], "big")
        ln = len(nonce)
        j0 = self._ghash(bytes(nonce) + bytes((16 - ln % 16) % 16) + bytes(8) + (8 * ln).to_bytes(8, "big"))
        j0 = j0.to_bytes(16, "big")
        ks = ctr_blocks(self._c, j0[:12], int.from_bytes(j0[12:], "big"), (n + 31) // 16)
        return int.from_bytes(ks[:16], "big"), int.from_bytes(ks[16: 16 + n], "big")

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
        n = len(plaintext)
        self._check(nonce, tag_len, n)
        e0, ks = self._keystream(nonce, n)
        ct = (int.from_bytes(plaintext, "big") ^ ks).to_bytes(n, "big")
        tag = (self._s(aad, ct, n) ^ e0) >> (128 - 8 * tag_len)
        return ct + tag.to_bytes(tag_len, "big")

    def decrypt(self, nonce, aad, data, tag_len=16):
        """The plaintext of ciphertext || tag; raises aes.InvalidTag when it does not verify."""
        self._check(nonce, tag_len, 0)
        n = len(data) - tag_len
        if n < 0:
            raise InvalidTag("GCM input shorter than its tag")
        e0, ks = self._keystream(nonce, n)
        tag = (self._s(aad, data, n) ^ e0) >> (128 - 8 * tag_len)
        if tag ^ int.from_bytes(data[n:], "big"):  # one int XOR over the whole tag: constant time
            raise InvalidTag("GCM tag mismatch")
        return (int.from_bytes(data[:n], "big") ^ ks).to_bytes(n, "big")
