"""GCM's three GHASH paths (device/partitions/crypto/gcm.py) against published vectors and each other.

A GCM object hashes with big ints (limbs=False: ports whose small ints are narrower than 48 bits), or
with three small-int limbs (limbs=True: 64-bit ports and CPython), first through nibble tables and,
once the key has hashed UPGRADE_BLOCKS blocks, through byte tables. Every path must give the same
bytes: the McGrew-Viega test cases 1-6 (AES-128) and 13-17 (AES-256), then many edge lengths
(empty, partial and whole blocks of AAD and message, nonces other than 96 bits) on one key while it
crosses the upgrade. The AES backend is the runtime's default one only: the GHASH paths do not depend
on it, test_crypto_primitives runs GCM on every backend, and the pure backend's tables here pushed the
MicroPython lane's shared 256k heap (.mpy) into fragmentation further on (a 2 KB allocation failed in
test_tls_engine).
"""

from device.partitions.crypto import aes, gcm

H = bytes.fromhex

_P = H("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
       "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
_A = H("feedfacedeadbeeffeedfacedeadbeefabaddad2")
_IV = H("cafebabefacedbaddecaf888")
_C3 = H("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
        "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985")
_C15 = H("522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
         "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad")


def _upgraded(cipher):
    """A limb-path GCM whose key has crossed UPGRADE_BLOCKS (its byte tables in use)."""
    g = gcm.GCM(cipher, True)
    for i in range(gcm.UPGRADE_BLOCKS):
        if g._t8 is not None:
            return g
        g.encrypt(bytes(12), b"", bytes(32))  # 3 blocks a call
    raise AssertionError("no byte tables after %d blocks" % (3 * gcm.UPGRADE_BLOCKS))


def _paths(key, backend=None):
    c = aes.new(key, backend)
    return (("big", gcm.GCM(c, False)), ("nibble", gcm.GCM(c, True)), ("byte", _upgraded(c)))


def test_default_path_follows_the_port():
    g = gcm.GCM(aes.new(bytes(16)))
    assert g._limbs == gcm.LIMBS
    import sys

    assert gcm.LIMBS == (getattr(sys, "maxsize", 0) > 0x7FFFFFFF)


def test_mcgrew_viega_cases_1_to_6_every_path():
    for backend in (aes.DEFAULT,):  # (GHASH does not depend on the AES backend: see the docstring)
        for name, g in _paths(bytes(16), backend):
            assert g.encrypt(bytes(12), b"", b"") == H("58e2fccefa7e3061367f1d57a4e7455a"), (backend, name)
            assert g.encrypt(bytes(12), b"", bytes(16)) == H(
                "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf"), (backend, name)
        for name, g in _paths(H("feffe9928665731c6d6a8f9467308308"), backend):
            assert g.encrypt(_IV, b"", _P) == _C3 + H("4d5c2af327cd64a62cf35abd2ba6fab4"), (backend, name)
            sealed = g.encrypt(_IV, _A, _P[:60])
            assert sealed == _C3[:60] + H("5bc94fbc3221a5db94fae95ae7121a47"), (backend, name)
            assert g.decrypt(_IV, _A, sealed) == _P[:60]
            sealed = g.encrypt(H("cafebabefacedbad"), _A, _P[:60])  # 64-bit IV: J0 = GHASH(IV)
            assert sealed[-16:] == H("3612d2e79e3b0785561be14aaca2fccb"), (backend, name)
            assert g.decrypt(H("cafebabefacedbad"), _A, sealed) == _P[:60]
            iv6 = H("9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e242"
                    "9a6b525416aedbf5a0de6a57a637b39b")
            sealed = g.encrypt(iv6, _A, _P[:60])
            assert sealed[-16:] == H("619cc5aefffe0bfa462af43c1699d050"), (backend, name)


def test_mcgrew_viega_cases_13_to_17_aes256_every_path():
    for backend in (aes.DEFAULT,):  # (GHASH does not depend on the AES backend: see the docstring)
        for name, g in _paths(bytes(32), backend):
            assert g.encrypt(bytes(12), b"", b"") == H("530f8afbc74536b9a963b4f1c4cb738b"), (backend, name)
            assert g.encrypt(bytes(12), b"", bytes(16)) == H(
                "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"), (backend, name)
        key = H("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
        for name, g in _paths(key, backend):
            assert g.encrypt(_IV, b"", _P) == _C15 + H("b094dac5d93471bdec1a502270e3cc6c"), (backend, name)
            sealed = g.encrypt(_IV, _A, _P[:60])
            assert sealed == _C15[:60] + H("76fc6ece0f4e1768cddf8853bb2d551b"), (backend, name)
            assert g.decrypt(_IV, _A, sealed) == _P[:60]
            sealed = g.encrypt(H("cafebabefacedbad"), _A, _P[:60])
            assert sealed[-16:] == H("3a337dbf46a792c45e454913fe2ea8f2"), (backend, name)


def test_paths_agree_on_edge_lengths_across_the_upgrade():
    # one limb-path key hashes from its first block through the upgrade and on; every call must match
    # the big-int path byte for byte, and open with either
    c = aes.new(bytes(range(16)))
    big = gcm.GCM(c, False)
    limbs = gcm.GCM(c, True)
    seen_nibble = seen_byte = False
    lens = (0, 1, 13, 15, 16, 17, 31, 32, 33, 64)
    i = 0
    for al in lens:
        for ml in lens:
            i += 1
            nonce = bytes((i + j) & 0xFF for j in range(12 if i % 5 else 1 + i % 17))
            aad = bytes((3 * i + j) & 0xFF for j in range(al))
            pt = bytes((7 * i + j) & 0xFF for j in range(ml))
            tag = (16, 12, 8, 4, 13)[i % 5]
            if limbs._t8 is None:
                seen_nibble = True
            else:
                seen_byte = True
            want = big.encrypt(nonce, aad, pt, tag)
            assert limbs.encrypt(nonce, aad, pt, tag) == want, (al, ml, tag)
            assert limbs.decrypt(nonce, aad, want, tag) == pt
            assert big.decrypt(nonce, aad, want, tag) == pt
            bad = bytearray(want)
            bad[(i * 5) % len(bad)] ^= 1 << (i % 8)
            for g in (big, limbs):
                try:
                    g.decrypt(nonce, aad, bytes(bad), tag)
                    raise AssertionError("tampered input verified")
                except aes.InvalidTag:
                    pass
    assert seen_nibble and seen_byte


def test_ghash_limb_state_round_trips_any_value():
    # _ghash continues from a 128-bit state: all-ones, top bit only, low bit only
    c = aes.new(bytes(range(1, 17)))
    big = gcm.GCM(c, False)
    limbs = gcm.GCM(c, True)
    for y in ((1 << 128) - 1, 1 << 127, 1, 0xE1 << 120):
        for data in (b"", b"\xff" * 16, bytes(range(40))):
            assert limbs._ghash(data, y) == big._ghash(data, y), (y, len(data))
