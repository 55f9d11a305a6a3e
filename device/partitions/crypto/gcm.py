"""AES-GCM (NIST SP 800-38D) on any backend of ``aes``: CTR + GHASH by tables.

    from device.partitions.crypto import aes, gcm
    g = gcm.GCM(aes.new(key))         # builds the GHASH tables for this key once
    ct_tag = g.encrypt(nonce, aad, plaintext, tag_len=16)
    plaintext = g.decrypt(nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag

GHASH is most of a GCM record, so its two implementations are chosen per port (LIMBS):
- small-int limbs (gcm_limbs, gcm_bytes; 64-bit MicroPython ports, CPython): the 128-bit state as
  three small ints, Shoup's method one byte per step with a reduction table, no allocation per
  step. A key starts with nibble tables (cheap to build: a TLS handshake hashes ~3 blocks per key) and builds byte
  tables once it has hashed UPGRADE_BLOCKS blocks (~20 % less per block from then on).
- big ints (here; 32-bit boards, whose small ints are 31-bit: a 48-bit limb would be a big int at
  every operation there). Per block the carry-less product (Y ^ X) * H is built Horner style, TWO
  bytes per step, from four 16-entry tables (n * H, << 4, << 8, << 12 for each nibble n): one shift
  and four XORs per step, growing to the left with no reduction on the way; the 255-bit product is
  reduced once at the end of the block (x^128 = x^7 + x^2 + x + 1, folded twice). 64 table entries
  per key (about 4.6 KB on 64-bit MicroPython).

Measured on MicroPython (valgrind instruction counts, the unix port, 64-bit): a GHASH block costs
~78k instructions on the big-int path (~55 big-int operations, each a heap allocation: GC work on
top), ~55k with nibble limb tables, ~42k with byte limb tables. Tried and dropped: a carry-less
multiply by integer multiplication on bit-spread operands (8-bit slots via "{:0128b}".format, one
1024 x 1024-bit product; even with the state kept spread and H's powers precomputed, the product
alone costs ~57k per block); byte tables from the first block (the build costs ~310k against ~60k for
the nibble tables, and a handshake hashes ~3 blocks per key); the limb step as a loop instead of
written out (~40 % more).

The counters of a 96-bit nonce (every TLS record) are blocks J0, J0 + 1, ... of a template in this
module's scratch: per call only the nonce is written into each block and ONE ECB call encrypts them
all, E(J0) for the tag included. Other nonce lengths take the general path (GHASH of the nonce).
"""

from device.compat import const
from device.partitions.crypto.aes import ctr_blocks, InvalidTag

import sys

# GHASH on three small-int limbs (gcm_limbs) where the port's small ints hold 48 bits: MicroPython's
# small ints are 63-bit signed on 64-bit ports but 31-bit on 32-bit boards, where a 48-bit limb would
# be a heap-allocated big int at every operation (slower than the big-int path below). CPython takes
# the limb path too (its ints are all objects; either path is correct there).
LIMBS = getattr(sys, "maxsize", 0) > 0x7FFFFFFF  # (small builds may lack sys.maxsize: big-int path)
_M40 = const(0xFFFFFFFFFF)
_ZERO3 = (0, 0, 0)
UPGRADE_BLOCKS = const(48)  # blocks a key hashes with nibble tables before it builds byte tables
_L = None  # the gcm_limbs module, imported with the first limb-path key
_B = None  # the gcm_bytes module, imported with the first byte-table upgrade

_M127 = (1 << 127) - 1  # (big-int path)
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
    def __init__(self, cipher, limbs=None):
        """GHASH tables for the key of `cipher`. limbs: None = this port's choice (LIMBS), True/False
        to force the small-int limb or the big-int path (tests run both everywhere)."""
        self._c = cipher
        h = int.from_bytes(cipher.ecb_encrypt(bytes(16)), "big")
        self._limbs = LIMBS if limbs is None else limbs
        if self._limbs:
            global _L
            if _L is None:
                from device.partitions.crypto import gcm_limbs as _L
            self._t = _L.nibble_tables(h)
            self._t8 = None  # the byte tables, once this key has hashed UPGRADE_BLOCKS blocks
            self._left = UPGRADE_BLOCKS
            return
        lo = [0] * 16  # carry-less n * H, n a nibble (up to 131 bits)
        lo[1], lo[2], lo[4], lo[8] = h, h << 1, h << 2, h << 3
        for i in (3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15):  # one XOR each: i without its lowest bit, and that bit
            lo[i] = lo[i & (i - 1)] ^ lo[i & -i]
        # for the byte pair (b0, b1) of a step: n * H << 12, << 8 (b0's nibbles), << 4, << 0 (b1's)
        self._t = ([v << 12 for v in lo], [v << 8 for v in lo], [v << 4 for v in lo], lo)

    def _ghash(self, data, y=0, n=None):
        """GHASH over data[:n] (n defaults to all of it; a partial last block is zero padded),
        continuing from state y (an int)."""
        if n is None:
            n = len(data)
        if self._limbs:
            y = self._ghash3(((data, n),), (y >> 80, (y >> 40) & _M40, y & _M40), (n + 15) >> 4)
            return (y[0] << 80) | (y[1] << 40) | y[2]
        return self._ghash_big(data, y, n)

    def _ghash3(self, parts, y, blocks):
        """The limb path: GHASH over parts ((data, n), ...) of `blocks` blocks from the limb state y.

        A key starts with the nibble tables (cheap to build: a TLS handshake hashes only ~3 blocks
        per key); after UPGRADE_BLOCKS blocks it builds the byte tables (about four times the nibble
        tables' cost, ~20 % less per block from then on) and drops the nibble tables."""
        global _B
        t8 = self._t8
        if t8 is not None:
            return _B.ghash_bytes(t8, parts, y)
        y = _L.ghash_nibbles(self._t, parts, y)
        self._left -= blocks
        if self._left <= 0:
            if _B is None:
                from device.partitions.crypto import gcm_bytes as _B
            self._t8 = _B.byte_tables(self._t)
            self._t = None
        return y

    def _ghash_big(self, data, y, n):
        """The big-int path of _ghash (ports whose small ints are narrower than 48 bits)."""
        t3, t2, t1, t0 = self._t
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
        lens = (8 * a).to_bytes(8, "big") + (8 * n).to_bytes(8, "big")
        if self._limbs:  # the state stays three small ints from the first block to the last
            y = self._ghash3(((aad, a), (ct, n), (lens, 16)), _ZERO3, ((a + 15) >> 4) + ((n + 15) >> 4) + 1)
            return (y[0] << 80) | (y[1] << 40) | y[2]
        y = self._ghash_big(aad, 0, a) if a else 0
        if n:
            y = self._ghash_big(ct, y, n)
        return self._ghash_big(lens, y, 16)

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
