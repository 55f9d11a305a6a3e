"""Published test vectors for the crypto partition's primitives, on every AES backend of this runtime.

FIPS-197 appendix C (AES), RFC 4231 (HMAC-SHA256), RFC 3610 packet vector 1 and NIST SP 800-38C
appendix C (CCM), the GCM spec's test cases 1-6 (McGrew & Viega, as used by NIST CAVP), and the
widely used TLS 1.2 P_SHA256 vector (IETF TLS list, "test label").
"""

from device.partitions.crypto import aes, ccm, gcm, tls12
from device.partitions.crypto.hmac_sha256 import HMAC, hmac_sha256

H = bytes.fromhex


def _rng(a, b):
    return bytes(range(a, b))


def test_aes_fips197_all_backends_and_key_sizes():
    pt = H("00112233445566778899aabbccddeeff")
    want = {
        16: "69c4e0d86a7b0430d8cdb78070b4c55a",
        24: "dda97ca4864cdfe06eaf70a0ec0d7191",
        32: "8ea2b7ca516745bfeafc49904b496089",
    }
    assert "pure" in aes.BACKENDS
    for backend in aes.BACKENDS:
        for n in (16, 24, 32) if backend != "cryptolib" else (16, 32):  # cryptolib: no AES-192
            c = aes.new(_rng(0, n), backend)
            ct = c.ecb_encrypt(pt + pt)
            assert ct == H(want[n]) * 2, (backend, n)
            assert c.ecb_decrypt(ct) == pt + pt


def test_aes_cbc_backends_agree_and_round_trip():
    key = _rng(0, 16)
    iv = _rng(16, 32)
    data = _rng(0, 80)
    ref = None
    for backend in aes.BACKENDS:
        c = aes.new(key, backend)
        ct = c.cbc_encrypt(iv, data)
        assert c.cbc_decrypt(iv, ct) == data
        assert c.cbc_mac(data) == c.cbc_encrypt(bytes(16), data)[-16:]
        ref = ref or ct
        assert ct == ref, backend
    # SP 800-38A F.2.1 CBC-AES128.Encrypt, first block
    c = aes.new(H("2b7e151628aed2a6abf7158809cf4f3c"))
    ct = c.cbc_encrypt(_rng(0, 16), H("6bc1bee22e409f96e93d7e117393172a"))
    assert ct == H("7649abac8119b246cee98e9b12e9197d")


def test_aes_rejects_bad_sizes():
    for bad in (b"", _rng(0, 15), _rng(0, 17)):
        try:
            aes.new(bad)
        except ValueError:
            pass
        else:
            raise AssertionError("key of %d bytes accepted" % len(bad))
    try:
        aes.new(bytes(16)).ecb_encrypt(bytes(15))
    except ValueError:
        pass
    else:
        raise AssertionError("partial block accepted")
    try:
        aes.new(bytes(16), "no-such-backend")
    except ValueError:
        pass
    else:
        raise AssertionError("unknown backend accepted")


_RFC4231 = (
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation", "a3b6167473100ee06e0c796c2955552b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
                    b"The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
)


def test_hmac_sha256_rfc4231():
    for key, msg, want in _RFC4231:
        w = H(want)
        assert hmac_sha256(key, msg)[: len(w)] == w
        h = HMAC(key)
        h.update(msg[:7])
        h.update(msg[7:])
        assert h.digest()[: len(w)] == w


def test_compare_digest():
    assert aes.compare_digest(b"abc", b"abc")
    assert not aes.compare_digest(b"abc", b"abd")
    assert not aes.compare_digest(b"abc", b"ab")
    assert aes.compare_digest(b"", b"")


def test_ccm_rfc3610_packet_1_eight_byte_tag():
    nonce = H("00000003020100a0a1a2a3a4a5")
    want = H("588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0")
    for backend in aes.BACKENDS:
        c = aes.new(H("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"), backend)
        assert ccm.encrypt(c, nonce, _rng(0, 8), _rng(8, 31), 8) == want
        assert ccm.decrypt(c, nonce, _rng(0, 8), want, 8) == _rng(8, 31)


def test_ccm_sp800_38c_examples_and_sixteen_byte_tag():
    key = _rng(0x40, 0x50)
    cases = (  # (nonce, aad, payload, tag_len, expected)
        (_rng(0x10, 0x17), _rng(0, 8), _rng(0x20, 0x24), 4, "7162015b4dac255d"),
        (_rng(0x10, 0x18), _rng(0, 16), _rng(0x20, 0x30), 6, "d2a1f0e051ea5f62081a7792073d593d1fc64fbfaccd"),
        (_rng(0x10, 0x1C), _rng(0, 20), _rng(0x20, 0x38), 8,
         "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5484392fbc1b09951"),
        # 16-byte tag (TLS_PSK_WITH_AES_128_CCM); expected value from pyca/cryptography's AESCCM
        (_rng(0x10, 0x1C), _rng(0, 13), _rng(0x20, 0x60), 16,
         "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5541bd1d416fa0ce3ec37af206e6278ae445328420b6512"
         "7396305f9254e6c8884dd09ddcfac471aaaa29138dee55314678d4d675f2ae6fde"),
    )
    for backend in aes.BACKENDS:
        c = aes.new(key, backend)
        for nonce, aad, pt, t, want in cases:
            assert ccm.encrypt(c, nonce, aad, pt, t) == H(want), (backend, t)
            assert ccm.decrypt(c, nonce, aad, H(want), t) == pt


def test_one_cipher_object_serves_many_macs_and_ccm_records():
    # the cryptolib backend keeps one CBC context per key and restarts its chain for every MAC:
    # interleaved CBC-MACs, CCM seals and opens on ONE object must equal fresh objects' results
    key = _rng(0x40, 0x50)
    for backend in aes.BACKENDS:
        c = aes.new(key, backend)
        for i in range(4):
            data = bytes((i + j) & 0xFF for j in range(16 * (i + 1)))
            fresh = aes.new(key, backend)
            assert c.cbc_mac(data) == fresh.cbc_mac(data) == fresh.cbc_encrypt(bytes(16), data)[-16:], backend
            nonce = bytes((i,)) * 12
            sealed = ccm.encrypt(c, nonce, b"aad", data[: 5 * i + 3], 16)
            assert sealed == ccm.encrypt(aes.new(key, backend), nonce, b"aad", data[: 5 * i + 3], 16), backend
            assert ccm.decrypt(c, nonce, b"aad", sealed, 16) == data[: 5 * i + 3]
            buf = bytearray(data)
            c.ecb_encrypt_into(buf)
            assert bytes(buf) == fresh.ecb_encrypt(data), backend


def test_ccm_rejects_tampering_and_bad_parameters():
    c = aes.new(_rng(0x40, 0x50))
    sealed = bytearray(ccm.encrypt(c, _rng(0, 12), b"hdr", b"payload", 16))
    for i in (0, len(sealed) - 1):
        bad = bytearray(sealed)
        bad[i] ^= 1
        try:
            ccm.decrypt(c, _rng(0, 12), b"hdr", bytes(bad), 16)
        except aes.InvalidTag:
            pass
        else:
            raise AssertionError("tampered byte %d accepted" % i)
    for args in ((_rng(0, 6), 16), (_rng(0, 14), 16), (_rng(0, 12), 5), (_rng(0, 12), 18)):
        try:
            ccm.encrypt(c, args[0], b"", b"x", args[1])
        except ValueError:
            pass
        else:
            raise AssertionError("bad CCM parameters accepted: %r" % (args,))
    try:
        ccm.decrypt(c, _rng(0, 12), b"", b"short", 16)
    except aes.InvalidTag:
        pass
    else:
        raise AssertionError("input shorter than the tag accepted")


_GCM_P = H("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
           "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255")
_GCM_A = H("feedfacedeadbeeffeedfacedeadbeefabaddad2")
_GCM_C3 = H("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
            "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985")


def test_gcm_test_cases_1_to_6():
    for backend in aes.BACKENDS:
        g = gcm.GCM(aes.new(bytes(16), backend))
        assert g.encrypt(bytes(12), b"", b"") == H("58e2fccefa7e3061367f1d57a4e7455a")
        assert g.encrypt(bytes(12), b"", bytes(16)) == H("0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf")
        g = gcm.GCM(aes.new(H("feffe9928665731c6d6a8f9467308308"), backend))
        iv = H("cafebabefacedbaddecaf888")
        assert g.encrypt(iv, b"", _GCM_P) == _GCM_C3 + H("4d5c2af327cd64a62cf35abd2ba6fab4")
        sealed = g.encrypt(iv, _GCM_A, _GCM_P[:60])
        assert sealed == _GCM_C3[:60] + H("5bc94fbc3221a5db94fae95ae7121a47")
        assert g.decrypt(iv, _GCM_A, sealed) == _GCM_P[:60]
        sealed = g.encrypt(H("cafebabefacedbad"), _GCM_A, _GCM_P[:60])  # 8-byte IV: J0 through GHASH
        assert sealed == H("61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c742373806900e49f24b2"
                           "2b097544d4896b424989b5e1ebac0f07c23f4598" "3612d2e79e3b0785561be14aaca2fccb")
        iv6 = H("9313225df88406e555909c5aff5269aa6a7a9538534f7da1e4c303d2a318a728c3c0c95156809539fcf0e242"
                "9a6b525416aedbf5a0de6a57a637b39b")
        sealed = g.encrypt(iv6, _GCM_A, _GCM_P[:60])
        assert sealed[:20] == H("8ce24998625615b603a033aca13fb894be9112a5")
        assert sealed[-16:] == H("619cc5aefffe0bfa462af43c1699d050")
        assert g.decrypt(iv6, _GCM_A, sealed) == _GCM_P[:60]


def test_gcm_rejects_tampering():
    g = gcm.GCM(aes.new(_rng(0, 16)))
    sealed = g.encrypt(_rng(0, 12), b"aad", b"some plaintext")
    for i in (0, len(sealed) - 1):
        bad = bytearray(sealed)
        bad[i] ^= 0x80
        try:
            g.decrypt(_rng(0, 12), b"aad", bytes(bad))
        except aes.InvalidTag:
            pass
        else:
            raise AssertionError("tampered GCM byte %d accepted" % i)
    try:
        g.decrypt(_rng(0, 12), b"aax", sealed)
    except aes.InvalidTag:
        pass
    else:
        raise AssertionError("wrong AAD accepted")


def test_tls12_prf_sha256_vector():
    out = tls12.prf_sha256(H("9bbe436ba940f017b17652849a71db35"), b"test label",
                           H("a0ba9f936cda311827a6f796ffd5198c"), 100)
    assert out == H("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e"
                    "14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5"
                    "a72e5a5110fff70187347b66")


def test_psk_premaster_layout():
    psk = b"\x01\x02\x03"
    assert tls12.psk_premaster(psk) == b"\x00\x03\x00\x00\x00\x00\x03\x01\x02\x03"
    assert tls12.psk_premaster(psk, b"\xaa") == b"\x00\x01\xaa\x00\x03\x01\x02\x03"
    ms = tls12.psk_to_ms(psk, b"seed")
    assert len(ms) == 48 and ms == tls12.prf_sha256(tls12.psk_premaster(psk), b"master secret", b"seed", 48)


def _aead_cases(make, lens):
    """(args, sealed) of CCM/GCM calls over two keys, several nonce, AAD and message lengths: short
    ones (the reused scratch), a message over SCRATCH_MAX and AAD over 30 bytes (temporaries)."""
    k1 = make(_rng(0, 16))
    k2 = make(_rng(16, 48))
    out = []
    for i, (nl, al, ml, tag) in enumerate(lens):
        out.append((k1 if i % 2 else k2, _rng(i, i + nl), _rng(2 * i, 2 * i + al), bytes((i + j) & 0xFF for j in range(ml)),
                    tag))
    return out


_CCM_LENS = ((12, 13, 64, 16), (13, 0, 5, 8), (7, 30, 0, 4), (12, 31, 200, 16), (12, 13, 1100, 16), (8, 2, 17, 6),
             (12, 13, 63, 16))
_GCM_LENS = ((12, 13, 64, 16), (8, 0, 5, 8), (12, 30, 0, 4), (16, 31, 200, 16), (12, 13, 1100, 16), (60, 2, 17, 12),
             (12, 13, 63, 16))


def test_ccm_scratch_reuse_leaks_nothing_between_calls():
    # the module's scratch buffers serve every call: each record must seal and open to the same bytes
    # whatever ran before it (longer or shorter message, other key, nonce length, AAD, a failed open)
    for backend in aes.BACKENDS:
        cases = _aead_cases(lambda k: aes.new(k, backend), _CCM_LENS)
        sealed = [ccm.encrypt(*c) for c in cases]
        for order in ((6, 5, 4, 3, 2, 1, 0), (4, 0, 4, 1, 3, 2, 6, 5, 0)):
            for i in order:
                c, want, tag = cases[i], sealed[i], cases[i][4]
                assert ccm.encrypt(*c) == want, (backend, i)
                bad = bytearray(want)
                bad[-1] ^= 1
                try:
                    ccm.decrypt(c[0], c[1], c[2], bytes(bad), tag)
                    raise AssertionError("a wrong tag verified")
                except aes.InvalidTag:
                    pass
                assert ccm.decrypt(c[0], c[1], c[2], want, tag) == c[3], (backend, i)
        # and the first record is still the SP 800-38C value after all that (16-byte tag, 64 bytes)
        c = aes.new(_rng(0x40, 0x50), backend)
        assert ccm.encrypt(c, _rng(0x10, 0x1C), _rng(0, 13), _rng(0x20, 0x60), 16)[-16:] == H(
            "4dd09ddcfac471aaaa29138dee55314678d4d675f2ae6fde")[-16:]


def test_ccm_every_wrong_tag_byte_fails():
    c = aes.new(_rng(0, 16))
    for tag in (4, 8, 16):
        sealed = ccm.encrypt(c, _rng(0, 12), b"hdr", b"payload", tag)
        for i in range(len(sealed)):
            bad = bytearray(sealed)
            bad[i] ^= 0x80
            try:
                ccm.decrypt(c, _rng(0, 12), b"hdr", bytes(bad), tag)
                raise AssertionError("tampered byte %d verified" % i)
            except aes.InvalidTag:
                pass
        assert ccm.decrypt(c, _rng(0, 12), b"hdr", sealed, tag) == b"payload"


def test_gcm_counter_template_reuse_leaks_nothing_between_calls():
    for backend in aes.BACKENDS:
        cases = _aead_cases(lambda k: gcm.GCM(aes.new(k, backend)), _GCM_LENS)
        sealed = [c[0].encrypt(c[1], c[2], c[3], c[4]) for c in cases]
        for i in (6, 5, 4, 3, 2, 1, 0, 4, 0, 6):
            g, nonce, aad, pt, tag = cases[i]
            assert g.encrypt(nonce, aad, pt, tag) == sealed[i], (backend, i)
            bad = bytearray(sealed[i])
            bad[len(pt)] ^= 1  # the first tag byte
            try:
                g.decrypt(nonce, aad, bytes(bad), tag)
                raise AssertionError("a wrong tag verified")
            except aes.InvalidTag:
                pass
            assert g.decrypt(nonce, aad, sealed[i], tag) == pt, (backend, i)


def test_ccm_shapes_interleaved_match_fresh_scratch():
    # ccm keeps views per call shape (message, tag, nonce and AAD lengths) on its scratch buffers:
    # interleaving shapes, growing the scratch, and going past its limits must give what a fresh
    # start gives, and every tag still protects its record
    key = _rng(0x40, 0x50)
    shapes = [(12, 13, 64, 16), (12, 13, 3, 16), (7, 0, 0, 4), (13, 30, 1000, 8), (12, 13, 64, 8),
              (8, 31, 20, 16), (12, 13, 1100, 16), (11, 5, 17, 6), (12, 13, 64, 16)]
    c = aes.new(key)
    got = []
    for nl, a, n, t in shapes:
        nonce, aad, pt = _rng(n & 0x7F, (n & 0x7F) + nl), _rng(a, 2 * a), bytes((i * 7) & 0xFF for i in range(n))
        sealed = ccm.seal(c, nonce + aad, nl, pt, t)
        assert ccm.encrypt(c, nonce, aad, pt, t) == sealed
        assert ccm.unseal(c, nonce + aad, nl, sealed, t) == pt
        bad = bytearray(sealed)
        bad[len(bad) // 2] ^= 0x80
        try:
            ccm.unseal(c, nonce + aad, nl, bytes(bad), t)
        except aes.InvalidTag:
            pass
        else:
            raise AssertionError("tampered record accepted for shape %r" % ((nl, a, n, t),))
        got.append(sealed)
    for i, (nl, a, n, t) in enumerate(shapes):
        ccm._plans.clear()
        ccm._cap = 0  # a fresh scratch for each
        nonce, aad, pt = _rng(n & 0x7F, (n & 0x7F) + nl), _rng(a, 2 * a), bytes((i * 7) & 0xFF for i in range(n))
        assert ccm.seal(aes.new(key), nonce + aad, nl, pt, t) == got[i], (nl, a, n, t)
    for args in ((b"", 0), (bytes(12), 13)):  # a nonce longer than nonce || aad
        try:
            ccm.seal(c, args[0], args[1], b"x", 16)
        except ValueError:
            pass
        else:
            raise AssertionError("bad nonce length accepted")
