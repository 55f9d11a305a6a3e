"""GHASH on three small-int limbs, for gcm.GCM on ports whose small ints hold 48 bits (64-bit
MicroPython, CPython). gcm imports this module only there: on 32-bit boards (31-bit small ints) a
48-bit limb would be a heap-allocated big int at every operation, and gcm's big-int path is used.

A 128-bit value V in GCM's bit order (the int's top bit is the coefficient of x^0, a multiplication
by x is a right shift) is held as three limbs: a = V >> 80 (48 bits), b = V >> 40 & _M40, c = V &
_M40. A block is multiplied by H with Shoup's method, one byte per step: Z = Z * x^8 ^ b * H, from
the block's last byte to its first. Z * x^8 is a right shift by 8 across the limbs; the 8 bits that
leave limb c come back reduced (x^128 = 1 + x + x^2 + x^7) through the table _R8 into limb a. Every
value is a small int: no allocation per step, where the big-int path allocates ~55 ints per block.

Tables per key: nibble_tables (6 lists of 16: b * H = hi[b >> 4] ^ lo[b & 15], two lookups per limb
and byte) is cheap to build, which is what a TLS handshake wants (~3 blocks per key). gcm_bytes has
the byte tables (3 lists of 256, one lookup per limb and byte, ~20 % less per block), built once a
key has hashed gcm.UPGRADE_BLOCKS blocks; it is a module of its own so that its code is loaded only
then (every KB of code a partition keeps loaded counts on a 256k heap).
"""

from array import array

from device.compat import const

_M40 = const(0xFFFFFFFFFF)
# _R8[r]: the limb-a part of r * x^128 (reduced) for the 8 bits r shifted out of limb c by a
# multiplication by x^8: x^128 = 1 + x + x^2 + x^7 is 0xE1 << 120 in this bit order, and bit j of r
# (the coefficient of x^(127 - j)) lands on 0xE1 << (113 + j): the carry-less product
# r * 0xE1 = r ^ r << 5 ^ r << 6 ^ r << 7, << 113; limb a starts at bit 80: << 33.
_R8 = array("H", [r ^ (r << 5) ^ (r << 6) ^ (r << 7) for r in range(256)])  # (<< 33 at use: 512 bytes, not 2 KB)


def _nibbles(p0, p1, p2, p3):
    """The 16 XOR combinations of p0..p3, index bit 3 picking p0 (one list literal: no stores)."""
    p23 = p2 ^ p3
    p01 = p0 ^ p1
    return [0, p3, p2, p23, p1, p1 ^ p3, p1 ^ p2, p1 ^ p23,
            p0, p0 ^ p3, p0 ^ p2, p0 ^ p23, p01, p01 ^ p3, p01 ^ p2, p01 ^ p23]


def nibble_tables(h):
    """The per-key tables of the limb path for the hash key h (an int): six lists of 16 small ints.

    A 128-bit value V (GCM bit order: the int's top bit is the coefficient of x^0) is held as
    three limbs, V >> 80 (48 bits), V >> 40 & _M40 and V & _M40. For a byte b of a block, b * H is
    hi[b >> 4] ^ lo[b & 15]: hi[n] = n * H with n's top bit as x^0, lo[n] = hi[n] * x^4; each of
    hi and lo as three lists, one per limb: (ha, hb, hc, la, lb, lc)."""
    a, b, c = h >> 80, (h >> 40) & _M40, h & _M40
    pa = [0] * 8  # H * x^k for k = 0..7, limb by limb; * x is a right shift by one, reduced
    pb = [0] * 8  # (stores by index: an append is a method lookup and call on MicroPython)
    pc = [0] * 8
    for k in range(8):
        pa[k] = a
        pb[k] = b
        pc[k] = c
        r = c & 1
        c = (c >> 1) | ((b & 1) << 39)
        b = (b >> 1) | ((a & 1) << 39)
        a = (a >> 1) ^ (0xE1 << 40 if r else 0)
    return (_nibbles(pa[0], pa[1], pa[2], pa[3]), _nibbles(pb[0], pb[1], pb[2], pb[3]),
            _nibbles(pc[0], pc[1], pc[2], pc[3]), _nibbles(pa[4], pa[5], pa[6], pa[7]),
            _nibbles(pb[4], pb[5], pb[6], pb[7]), _nibbles(pc[4], pc[5], pc[6], pc[7]))


def ghash_nibbles(t, parts, y):
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
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xc >> 20) & 15
            m = (xc >> 16) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xc >> 28) & 15
            m = (xc >> 24) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xc >> 36) & 15
            m = (xc >> 32) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xb >> 4) & 15
            m = xb & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xb >> 12) & 15
            m = (xb >> 8) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xb >> 20) & 15
            m = (xb >> 16) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xb >> 28) & 15
            m = (xb >> 24) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xb >> 36) & 15
            m = (xb >> 32) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xa >> 4) & 15
            m = xa & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xa >> 12) & 15
            m = (xa >> 8) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xa >> 20) & 15
            m = (xa >> 16) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xa >> 28) & 15
            m = (xa >> 24) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xa >> 36) & 15
            m = (xa >> 32) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
            u = (xa >> 44) & 15
            m = (xa >> 40) & 15
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ hc[u] ^ lc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ hb[u] ^ lb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ha[u] ^ la[m]
    return za, zb, zc
