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

import sys

# GHASH on three small ints ("limbs") where the port's small ints hold 48 bits: MicroPython's
# small ints are 63-bit signed on 64-bit ports but 31-bit on 32-bit boards, where a 48-bit limb
# would be a heap-allocated big int at every operation (slower than the big-int path); CPython
# takes the limb path too (its ints are all objects, either path is correct).
LIMBS = sys.maxsize > 0x7FFFFFFF
_M40 = const(0xFFFFFFFFFF)
_ZERO3 = (0, 0, 0)
UPGRADE_BLOCKS = const(48)  # blocks a key hashes with the nibble tables before it builds the byte tables
_R8 = None  # 256 small ints, built on the first limb table: see _limb_tables

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


def _nibbles(p0, p1, p2, p3):
    """The 16 XOR combinations of p0..p3, index bit 3 picking p0 (one list literal: no stores)."""
    p23 = p2 ^ p3
    p01 = p0 ^ p1
    return [0, p3, p2, p23, p1, p1 ^ p3, p1 ^ p2, p1 ^ p23,
            p0, p0 ^ p3, p0 ^ p2, p0 ^ p23, p01, p01 ^ p3, p01 ^ p2, p01 ^ p23]


def _limb_tables(h):
    """The per-key tables of the limb path for the hash key h (an int): six lists of 16 small ints.

    A 128-bit value V (GCM bit order: the int's top bit is the coefficient of x^0) is held as
    three limbs, V >> 80 (48 bits), V >> 40 & _M40 and V & _M40. For a byte b of a block, b * H is
    hi[b >> 4] ^ lo[b & 15]: hi[n] = n * H with n's top bit as x^0, lo[n] = hi[n] * x^4; each of
    hi and lo as three lists, one per limb: (ha, hb, hc, la, lb, lc)."""
    global _R8
    if _R8 is None:
        # R8[r]: the limb-a part of r * x^128 (reduced) for the 8 bits r shifted out of limb c
        # by a multiplication by x^8: x^128 = 1 + x + x^2 + x^7 is 0xE1 << 120 in this bit order,
        # and bit j of r (the coefficient of x^(127 - j)) lands on 0xE1 << (113 + j): the
        # carry-less product r * 0xE1 = r ^ r << 5 ^ r << 6 ^ r << 7, << 113; limb a starts at bit 80.
        _R8 = [(r ^ (r << 5) ^ (r << 6) ^ (r << 7)) << 33 for r in range(256)]
    a, b, c = h >> 80, (h >> 40) & _M40, h & _M40
    pa = []  # H * x^k for k = 0..7, limb by limb; * x is a right shift by one, reduced
    pb = []
    pc = []
    for _ in range(8):
        pa.append(a)
        pb.append(b)
        pc.append(c)
        r = c & 1
        c = (c >> 1) | ((b & 1) << 39)
        b = (b >> 1) | ((a & 1) << 39)
        a = (a >> 1) ^ (0xE1 << 40 if r else 0)
    return (_nibbles(pa[0], pa[1], pa[2], pa[3]), _nibbles(pb[0], pb[1], pb[2], pb[3]),
            _nibbles(pc[0], pc[1], pc[2], pc[3]), _nibbles(pa[4], pa[5], pa[6], pa[7]),
            _nibbles(pb[4], pb[5], pb[6], pb[7]), _nibbles(pc[4], pc[5], pc[6], pc[7]))


def _ghash_limbs(t, parts, y):
    """GHASH from the state y (three limbs) over the parts ((data, n), ...), each data[:n] with its
    partial last block zero padded: the new state. One call for a whole message (AAD, ciphertext,
    lengths: a call is a heap-allocated frame on MicroPython). No allocation per step: every value
    is a small int.

    Per block, X = Y ^ block is multiplied by H Horner style from X's last byte (x^120..x^127) to its
    first (Shoup's method): Z = Z * x^8 ^ b * H. Z * x^8 is a right shift by 8 across the limbs (za,
    zb, zc); the 8 bits r leaving limb zc come back reduced through R8 into limb za. The 16 steps
    are written out: as a loop they cost ~40 % more on MicroPython (loop and shift-count bytecodes,
    the limb tuples it iterates over)."""
    ha, hb, hc, la, lb, lc = t
    r8 = _R8
    fb = int.from_bytes
    za, zb, zc = y
    for data, n in parts:
        for off in range(0, n, 16):
            blk, o = data, off
            if off + 16 > n:  # the zero padding of a partial last block
                blk, o = bytes(data[off:n]) + bytes(off + 16 - n), 0
            xc = zc ^ fb(blk[o + 11: o + 16], "big")  # X = Y ^ block, as limbs
            xb = zb ^ fb(blk[o + 6: o + 11], "big")
            xa = za ^ fb(blk[o: o + 6], "big")
            u = (xc >> 4) & 15  # X's last byte: Z = b * H
            m = xc & 15
            za = ha[u] ^ la[m]
            zb = hb[u] ^ lb[m]
            zc = hc[u] ^ lc[m]
            u = (xc >> 12) & 15
            m = (xc >> 8) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xc >> 20) & 15
            m = (xc >> 16) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xc >> 28) & 15
            m = (xc >> 24) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xc >> 36) & 15
            m = (xc >> 32) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xb >> 4) & 15
            m = xb & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xb >> 12) & 15
            m = (xb >> 8) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xb >> 20) & 15
            m = (xb >> 16) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xb >> 28) & 15
            m = (xb >> 24) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xb >> 36) & 15
            m = (xb >> 32) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xa >> 4) & 15
            m = xa & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xa >> 12) & 15
            m = (xa >> 8) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xa >> 20) & 15
            m = (xa >> 16) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xa >> 28) & 15
            m = (xa >> 24) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xa >> 36) & 15
            m = (xa >> 32) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
            u = (xa >> 44) & 15
            m = (xa >> 40) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ r8[r] ^ ha[u] ^ la[m]
    return za, zb, zc


def _byte_tables(t):
    """The 256-entry tables (ma, mb, mc) of b * H for every byte b, one list per limb, from the nibble
    tables t: b * H = hi[b >> 4] ^ lo[b & 15]. Costs ~4 nibble-table builds; see GCM._s for when."""
    return tuple([h ^ lo for h in t[i] for lo in t[i + 3]] for i in range(3))


def _ghash_bytes(t8, parts, y):
    """_ghash_limbs with the byte tables of _byte_tables: one lookup per limb and byte instead of two
    (~20 % fewer instructions per block)."""
    ma, mb, mc = t8
    r8 = _R8
    fb = int.from_bytes
    za, zb, zc = y
    for data, n in parts:
        for off in range(0, n, 16):
            blk, o = data, off
            if off + 16 > n:  # the zero padding of a partial last block
                blk, o = bytes(data[off:n]) + bytes(off + 16 - n), 0
            xc = zc ^ fb(blk[o + 11: o + 16], "big")  # X = Y ^ block, as limbs
            xb = zb ^ fb(blk[o + 6: o + 11], "big")
            xa = za ^ fb(blk[o: o + 6], "big")
            m = xc & 255  # X's last byte: Z = b * H
            za = ma[m]
            zb = mb[m]
            zc = mc[m]
            m = (xc >> 8) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xc >> 16) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xc >> 24) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xc >> 32) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = xb & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xb >> 8) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xb >> 16) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xb >> 24) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xb >> 32) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = xa & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xa >> 8) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xa >> 16) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xa >> 24) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xa >> 32) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
            m = (xa >> 40) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ r8[r] ^ ma[m]
    return za, zb, zc


class GCM:
    def __init__(self, cipher, limbs=None):
        """GHASH tables for the key of `cipher`. limbs: None = this port's choice (LIMBS), True/False
        to force the small-int limb or the big-int path (tests run both everywhere)."""
        self._c = cipher
        h = int.from_bytes(cipher.ecb_encrypt(bytes(16)), "big")
        self._limbs = LIMBS if limbs is None else limbs
        if self._limbs:
            self._t = _limb_tables(h)
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
        t8 = self._t8
        if t8 is not None:
            return _ghash_bytes(t8, parts, y)
        y = _ghash_limbs(self._t, parts, y)
        self._left -= blocks
        if self._left <= 0:
            self._t8 = _byte_tables(self._t)
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
