"""Byte tables for gcm_limbs' GHASH: gcm.GCM loads this module once a key has hashed
gcm.UPGRADE_BLOCKS blocks (a long-lived connection), not before: a TLS handshake hashes ~3 blocks
per key and a 256-entry table costs ~5 nibble-table builds. Limb layout, bit order and the
reduction table: gcm_limbs."""

from device.partitions.crypto.gcm_limbs import _R8


def _rows(hi, lo):
    """The 256 values hi[b >> 4] ^ lo[b & 15], b = 0..255: one 16-entry list literal per hi value
    (a comprehension costs ~15 % more: its loop and closure per element)."""
    l0, l1, l2, l3, l4, l5, l6, l7, l8, l9, l10, l11, l12, l13, l14, l15 = lo
    m = []
    for h in hi:
        m += [h ^ l0, h ^ l1, h ^ l2, h ^ l3, h ^ l4, h ^ l5, h ^ l6, h ^ l7,
              h ^ l8, h ^ l9, h ^ l10, h ^ l11, h ^ l12, h ^ l13, h ^ l14, h ^ l15]
    return m


def byte_tables(t):
    """The 256-entry tables (ma, mb, mc) of b * H for every byte b, one list per limb, from the nibble
    tables t (b * H = hi[b >> 4] ^ lo[b & 15]): ~300k instructions on MicroPython's unix port, about
    four nibble-table builds; gcm.GCM._ghash3 says when."""
    return _rows(t[0], t[3]), _rows(t[1], t[4]), _rows(t[2], t[5])


def ghash_bytes(t8, parts, y):
    """gcm_limbs.ghash_nibbles with the byte tables of byte_tables: one lookup per limb and byte instead of two
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
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xc >> 16) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xc >> 24) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xc >> 32) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = xb & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xb >> 8) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xb >> 16) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xb >> 24) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xb >> 32) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = xa & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xa >> 8) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xa >> 16) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xa >> 24) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xa >> 32) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
            m = (xa >> 40) & 255
            r = zc & 255
            zc = (zc >> 8) ^ ((zb & 255) << 32) ^ mc[m]
            zb = (zb >> 8) ^ ((za & 255) << 32) ^ mb[m]
            za = (za >> 8) ^ (r8[r] << 33) ^ ma[m]
    return za, zb, zc
