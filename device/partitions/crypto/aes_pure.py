"""Pure-Python AES (T-tables as Python ints): the ``pure`` backend of ``aes``, for runtimes with
neither MicroPython's cryptolib nor CircuitPython's aesio (and for tests). Imported by
``aes.new(key, "pure")`` on first use only, so a board with a C AES never loads it.
"""

from device.partitions.crypto.aes import xor, _check_key, _check_blocks, _check_to

_T = None  # (sbox, inv_sbox, te0..te3, td0..td3)


def _tables():
    global _T
    if _T is not None:
        return _T
    sbox = bytearray(256)
    inv = bytearray(256)
    p = q = 1
    while True:  # walk the multiplicative group with generator 3 (and its inverse)
        p = p ^ ((p << 1) & 0xFF) ^ (0x1B if p & 0x80 else 0)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        x = q ^ ((q << 1) | (q >> 7)) ^ ((q << 2) | (q >> 6)) ^ ((q << 3) | (q >> 5)) ^ ((q << 4) | (q >> 4))
        sbox[p] = (x ^ 0x63) & 0xFF
        if p == 1:
            break
    sbox[0] = 0x63
    for i in range(256):
        inv[sbox[i]] = i

    def mul(a, b):
        r = 0
        while b:
            if b & 1:
                r ^= a
            a = ((a << 1) ^ 0x11B) if a & 0x80 else (a << 1)
            b >>= 1
        return r

    te0 = []
    td0 = []
    for i in range(256):
        s = sbox[i]
        te0.append((mul(s, 2) << 24) | (s << 16) | (s << 8) | mul(s, 3))
        s = inv[i]
        td0.append((mul(s, 14) << 24) | (mul(s, 9) << 16) | (mul(s, 13) << 8) | mul(s, 11))

    def rot(t, n):
        return [((v >> n) | (v << (32 - n))) & 0xFFFFFFFF for v in t]

    _T = (bytes(sbox), bytes(inv), te0, rot(te0, 8), rot(te0, 16), rot(te0, 24),
          td0, rot(td0, 8), rot(td0, 16), rot(td0, 24))
    return _T


class PureAES:
    name = "pure"

    def __init__(self, key):
        _check_key(key)
        t = _tables()
        sbox = t[0]
        nk = len(key) // 4
        self._nr = nr = nk + 6
        w = [int.from_bytes(key[4 * i: 4 * i + 4], "big") for i in range(nk)]
        rcon = 1
        for i in range(nk, 4 * (nr + 1)):
            v = w[i - 1]
            if i % nk == 0:
                v = ((v << 8) | (v >> 24)) & 0xFFFFFFFF
                v = (sbox[v >> 24] << 24) | (sbox[(v >> 16) & 255] << 16) | (sbox[(v >> 8) & 255] << 8) | sbox[v & 255]
                v ^= rcon << 24
                rcon = ((rcon << 1) ^ 0x11B) if rcon & 0x80 else (rcon << 1)
            elif nk > 6 and i % nk == 4:
                v = (sbox[v >> 24] << 24) | (sbox[(v >> 16) & 255] << 16) | (sbox[(v >> 8) & 255] << 8) | sbox[v & 255]
            w.append(w[i - nk] ^ v)
        self._ek = w
        self._dk = None

    def _dec_keys(self):
        t = _tables()
        sbox, td0, td1, td2, td3 = t[0], t[6], t[7], t[8], t[9]
        nr = self._nr
        ek = self._ek
        dk = []
        for r in range(nr, -1, -1):
            for j in range(4):
                v = ek[4 * r + j]
                if 0 < r < nr:  # InvMixColumns of the round key (equivalent inverse cipher)
                    v = td0[sbox[v >> 24]] ^ td1[sbox[(v >> 16) & 255]] ^ td2[sbox[(v >> 8) & 255]] ^ td3[sbox[v & 255]]
                dk.append(v)
        self._dk = dk
        return dk

    def _encrypt_block(self, b, off, out):
        t = _T
        sb, t0, t1, t2, t3 = t[0], t[2], t[3], t[4], t[5]
        k = self._ek
        s0 = int.from_bytes(b[off: off + 4], "big") ^ k[0]
        s1 = int.from_bytes(b[off + 4: off + 8], "big") ^ k[1]
        s2 = int.from_bytes(b[off + 8: off + 12], "big") ^ k[2]
        s3 = int.from_bytes(b[off + 12: off + 16], "big") ^ k[3]
        i = 4
        for _ in range(self._nr - 1):
            a0 = t0[s0 >> 24] ^ t1[(s1 >> 16) & 255] ^ t2[(s2 >> 8) & 255] ^ t3[s3 & 255] ^ k[i]
            a1 = t0[s1 >> 24] ^ t1[(s2 >> 16) & 255] ^ t2[(s3 >> 8) & 255] ^ t3[s0 & 255] ^ k[i + 1]
            a2 = t0[s2 >> 24] ^ t1[(s3 >> 16) & 255] ^ t2[(s0 >> 8) & 255] ^ t3[s1 & 255] ^ k[i + 2]
            s3 = t0[s3 >> 24] ^ t1[(s0 >> 16) & 255] ^ t2[(s1 >> 8) & 255] ^ t3[s2 & 255] ^ k[i + 3]
            s0, s1, s2 = a0, a1, a2
            i += 4
        out[off: off + 16] = (
            ((sb[s0 >> 24] << 24) | (sb[(s1 >> 16) & 255] << 16) | (sb[(s2 >> 8) & 255] << 8) | sb[s3 & 255]) ^ k[i]
        ).to_bytes(4, "big") + (
            ((sb[s1 >> 24] << 24) | (sb[(s2 >> 16) & 255] << 16) | (sb[(s3 >> 8) & 255] << 8) | sb[s0 & 255]) ^ k[i + 1]
        ).to_bytes(4, "big") + (
            ((sb[s2 >> 24] << 24) | (sb[(s3 >> 16) & 255] << 16) | (sb[(s0 >> 8) & 255] << 8) | sb[s1 & 255]) ^ k[i + 2]
        ).to_bytes(4, "big") + (
            ((sb[s3 >> 24] << 24) | (sb[(s0 >> 16) & 255] << 16) | (sb[(s1 >> 8) & 255] << 8) | sb[s2 & 255]) ^ k[i + 3]
        ).to_bytes(4, "big")

    def _decrypt_block(self, b, off, out):
        t = _T
        ib, d0, d1, d2, d3 = t[1], t[6], t[7], t[8], t[9]
        k = self._dk or self._dec_keys()
        s0 = int.from_bytes(b[off: off + 4], "big") ^ k[0]
        s1 = int.from_bytes(b[off + 4: off + 8], "big") ^ k[1]
        s2 = int.from_bytes(b[off + 8: off + 12], "big") ^ k[2]
        s3 = int.from_bytes(b[off + 12: off + 16], "big") ^ k[3]
        i = 4
        for _ in range(self._nr - 1):
            a0 = d0[s0 >> 24] ^ d1[(s3 >> 16) & 255] ^ d2[(s2 >> 8) & 255] ^ d3[s1 & 255] ^ k[i]
            a1 = d0[s1 >> 24] ^ d1[(s0 >> 16) & 255] ^ d2[(s3 >> 8) & 255] ^ d3[s2 & 255] ^ k[i + 1]
            a2 = d0[s2 >> 24] ^ d1[(s1 >> 16) & 255] ^ d2[(s0 >> 8) & 255] ^ d3[s3 & 255] ^ k[i + 2]
            s3 = d0[s3 >> 24] ^ d1[(s2 >> 16) & 255] ^ d2[(s1 >> 8) & 255] ^ d3[s0 & 255] ^ k[i + 3]
            s0, s1, s2 = a0, a1, a2
            i += 4
        out[off: off + 16] = (
            ((ib[s0 >> 24] << 24) | (ib[(s3 >> 16) & 255] << 16) | (ib[(s2 >> 8) & 255] << 8) | ib[s1 & 255]) ^ k[i]
        ).to_bytes(4, "big") + (
            ((ib[s1 >> 24] << 24) | (ib[(s0 >> 16) & 255] << 16) | (ib[(s3 >> 8) & 255] << 8) | ib[s2 & 255]) ^ k[i + 1]
        ).to_bytes(4, "big") + (
            ((ib[s2 >> 24] << 24) | (ib[(s1 >> 16) & 255] << 16) | (ib[(s0 >> 8) & 255] << 8) | ib[s3 & 255]) ^ k[i + 2]
        ).to_bytes(4, "big") + (
            ((ib[s3 >> 24] << 24) | (ib[(s2 >> 16) & 255] << 16) | (ib[(s1 >> 8) & 255] << 8) | ib[s0 & 255]) ^ k[i + 3]
        ).to_bytes(4, "big")

    def ecb_encrypt(self, data):
        _check_blocks(data)
        out = bytearray(len(data))
        for off in range(0, len(data), 16):
            self._encrypt_block(data, off, out)
        return bytes(out)

    def ecb_decrypt(self, data):
        _check_blocks(data)
        out = bytearray(len(data))
        for off in range(0, len(data), 16):
            self._decrypt_block(data, off, out)
        return bytes(out)

    def cbc_encrypt(self, iv, data):
        _check_blocks(data)
        out = bytearray(len(data))
        prev = bytes(iv)
        blk = bytearray(16)
        for off in range(0, len(data), 16):
            blk[:] = xor(prev, data[off: off + 16])
            self._encrypt_block(blk, 0, blk)
            out[off: off + 16] = blk
            prev = blk
        return bytes(out)

    def cbc_decrypt(self, iv, data):
        _check_blocks(data)
        out = bytearray(len(data))
        for off in range(0, len(data), 16):
            self._decrypt_block(data, off, out)
        # one XOR for the whole chain: P = D(C) ^ (IV || C[:-16])
        if data:
            out = xor(out, bytes(iv) + bytes(data[:-16]))
        return bytes(out)

    def cbc_mac(self, data):
        _check_blocks(data)
        blk = bytearray(16)
        for off in range(0, len(data), 16):
            blk[:] = xor(blk, data[off: off + 16])
            self._encrypt_block(blk, 0, blk)
        return bytes(blk)

    def cbc_mac_into(self, buf):
        if buf:
            buf[-16:] = self.cbc_mac(buf)

    def ecb_encrypt_into(self, buf):
        _check_blocks(buf)
        for off in range(0, len(buf), 16):
            self._encrypt_block(buf, off, buf)

    def ecb_encrypt_to(self, src, dst):
        _check_to(src, dst)
        for off in range(0, len(src), 16):
            self._encrypt_block(src, off, dst)
