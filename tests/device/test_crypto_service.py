"""Crypto partition through psa_call: published vectors, AEAD/CBC/hash/MAC behaviour, TLS 1.2 derivation."""

import hashlib

from device import psa
from device.psa import crypto as C
from device.psa import spm
from device.partitions import crypto as crypto_partition
from device.partitions.crypto import aes, ccm, tls12
from tests.device import crypto_fixtures as cf
from tests.device import psa_fixtures as fx

H = bytes.fromhex
HMAC256 = C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)
CCM8 = C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_CCM, 8)
PRF = C.PSA_ALG_TLS12_PRF(C.PSA_ALG_SHA_256)
PSK_TO_MS = C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256)
SEED = C.PSA_KEY_DERIVATION_INPUT_SEED
SECRET = C.PSA_KEY_DERIVATION_INPUT_SECRET
LABEL = C.PSA_KEY_DERIVATION_INPUT_LABEL


def test_algorithm_constants_are_psa_crypto_1_1_values():
    assert C.PSA_ALG_CCM == 0x05500100 and C.PSA_ALG_GCM == 0x05500200
    assert CCM8 == 0x05480100 and C.PSA_AEAD_TAG_LENGTH(CCM8) == 8 and C.PSA_AEAD_TAG_LENGTH(C.PSA_ALG_CCM) == 16
    assert HMAC256 == 0x03800009 and C.PSA_ALG_SHA_256 == 0x02000009
    assert PRF == 0x08000209 and PSK_TO_MS == 0x08000309 and C.PSA_ALG_CBC_NO_PADDING == 0x04404000
    assert (C.PSA_KEY_TYPE_AES, C.PSA_KEY_TYPE_HMAC, C.PSA_KEY_TYPE_DERIVE, C.PSA_KEY_TYPE_RAW_DATA) == (
        0x2400, 0x1100, 0x1200, 0x1001)
    assert (SECRET, C.PSA_KEY_DERIVATION_INPUT_OTHER_SECRET, LABEL, SEED) == (0x0101, 0x0103, 0x0201, 0x0204)


def test_aead_ccm_vectors_through_the_partition():
    root = cf.start()
    try:
        k = C.psa_import_key(cf.aes_attrs(CCM8), H("c0c1c2c3c4c5c6c7c8c9cacbcccdcecf"))
        nonce = H("00000003020100a0a1a2a3a4a5")
        want = H("588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0")  # RFC 3610 packet 1
        assert C.psa_aead_encrypt(k, CCM8, nonce, bytes(range(8)), bytes(range(8, 31))) == want
        assert C.psa_aead_decrypt(k, CCM8, nonce, bytes(range(8)), want) == bytes(range(8, 31))
        bad = bytearray(want)
        bad[-1] ^= 1
        assert cf.status_of(C.psa_aead_decrypt, k, CCM8, nonce, bytes(range(8)), bytes(bad)) == (
            psa.PSA_ERROR_INVALID_SIGNATURE)
        assert cf.status_of(C.psa_aead_decrypt, k, CCM8, nonce, b"", b"short") == psa.PSA_ERROR_INVALID_SIGNATURE
        assert cf.status_of(C.psa_aead_encrypt, k, CCM8, bytes(6), b"", b"x") == psa.PSA_ERROR_INVALID_ARGUMENT
        k16 = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_CCM), bytes(range(0x40, 0x50)))  # SP 800-38C key
        sealed = C.psa_aead_encrypt(k16, C.PSA_ALG_CCM, bytes(range(0x10, 0x1C)), bytes(range(13)),
                                    bytes(range(0x20, 0x60)))
        assert sealed[-16:] == H("4dd09ddcfac471aaaa29138dee55314678d4d675f2ae6fde")[-16:]
        assert len(sealed) == 64 + 16
    finally:
        cf.stop(root)


def test_aead_gcm_vector_through_the_partition():
    root = cf.start()
    try:
        k = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_GCM), H("feffe9928665731c6d6a8f9467308308"))
        p = H("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
              "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
        a = H("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        iv = H("cafebabefacedbaddecaf888")
        sealed = C.psa_aead_encrypt(k, C.PSA_ALG_GCM, iv, a, p)  # GCM test case 4
        assert sealed[:4] == H("42831ec2") and sealed[-16:] == H("5bc94fbc3221a5db94fae95ae7121a47")
        assert C.psa_aead_decrypt(k, C.PSA_ALG_GCM, iv, a, sealed) == p
        assert cf.status_of(C.psa_aead_decrypt, k, C.PSA_ALG_GCM, iv, a + b"!", sealed) == (
            psa.PSA_ERROR_INVALID_SIGNATURE)
        # an unsupported AEAD (ChaCha20-Poly1305) and a non-AEAD alg
        assert cf.status_of(C.psa_aead_encrypt, k, 0x05100500, iv, b"", b"x") == psa.PSA_ERROR_NOT_SUPPORTED
        assert cf.status_of(C.psa_aead_encrypt, k, HMAC256, iv, b"", b"x") == psa.PSA_ERROR_INVALID_ARGUMENT
    finally:
        cf.stop(root)


def test_cbc_no_padding_through_the_partition():
    root = cf.start()
    try:
        key = H("2b7e151628aed2a6abf7158809cf4f3c")
        k = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_CBC_NO_PADDING), key)
        pt = bytes(range(48))
        out = C.psa_cipher_encrypt(k, C.PSA_ALG_CBC_NO_PADDING, pt)
        assert len(out) == 16 + 48
        assert out[16:] == aes.new(key, "pure").cbc_encrypt(out[:16], pt)
        assert C.psa_cipher_decrypt(k, C.PSA_ALG_CBC_NO_PADDING, out) == pt
        assert C.psa_cipher_encrypt(k, C.PSA_ALG_CBC_NO_PADDING, pt)[:16] != out[:16]  # a fresh IV each time
        # SP 800-38A F.2.2 CBC-AES128.Decrypt, first block
        sp = bytes(range(16)) + H("7649abac8119b246cee98e9b12e9197d")
        assert C.psa_cipher_decrypt(k, C.PSA_ALG_CBC_NO_PADDING, sp) == H("6bc1bee22e409f96e93d7e117393172a")
        assert cf.status_of(C.psa_cipher_encrypt, k, C.PSA_ALG_CBC_NO_PADDING, bytes(15)) == (
            psa.PSA_ERROR_INVALID_ARGUMENT)
        assert cf.status_of(C.psa_cipher_decrypt, k, C.PSA_ALG_CBC_NO_PADDING, bytes(8)) == (
            psa.PSA_ERROR_INVALID_ARGUMENT)
        assert cf.status_of(C.psa_cipher_encrypt, k, 0x04404400, bytes(16)) == psa.PSA_ERROR_NOT_SUPPORTED
    finally:
        cf.stop(root)


def test_hash_single_and_multi_part():
    root = cf.start()
    try:
        abc = H("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")  # FIPS 180-2 "abc"
        assert C.psa_hash_compute(C.PSA_ALG_SHA_256, b"abc") == abc
        op = C.psa_hash_setup(C.PSA_ALG_SHA_256)
        C.psa_hash_update(op, b"a")
        C.psa_hash_update(op, b"bc")
        handle = op.handle
        assert C.psa_hash_finish(op) == abc
        assert cf.status_of(C.psa_hash_update, C.HashOperation(handle, C.PSA_ALG_SHA_256), b"x") == (
            psa.PSA_ERROR_BAD_STATE)
        assert cf.status_of(C.psa_hash_compute, 0x02000005, b"abc") == psa.PSA_ERROR_NOT_SUPPORTED  # SHA-1
        assert cf.status_of(C.psa_hash_setup, HMAC256) == psa.PSA_ERROR_INVALID_ARGUMENT
        op = C.psa_hash_setup(C.PSA_ALG_SHA_256)
        # another client cannot drive this caller's operation
        assert cf.standin_call(cf.HASH_UPDATE_FOREIGN, op.handle)[0] == psa.PSA_ERROR_BAD_STATE
        C.psa_hash_abort(op)
        assert op.handle == 0
    finally:
        cf.stop(root)


def test_hmac_rfc4231_through_the_partition_and_verify():
    root = cf.start()
    try:
        a = C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_SIGN_MESSAGE | C.PSA_KEY_USAGE_VERIFY_MESSAGE,
                            HMAC256)
        k = C.psa_import_key(a, b"Jefe")
        want = H("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")  # RFC 4231 case 2
        assert C.psa_mac_compute(k, HMAC256, b"what do ya want for nothing?") == want
        C.psa_mac_verify(k, HMAC256, b"what do ya want for nothing?", want)
        for bad in (want[:-1] + b"\x00", want[:16], b""):
            assert cf.status_of(C.psa_mac_verify, k, HMAC256, b"what do ya want for nothing?", bad) == (
                psa.PSA_ERROR_INVALID_SIGNATURE)
        assert cf.status_of(C.psa_mac_compute, k, C.PSA_ALG_HMAC(0x0200000B), b"m") == psa.PSA_ERROR_NOT_SUPPORTED
    finally:
        cf.stop(root)


def test_the_call_that_boots_the_secure_world_gets_the_length_it_asked_for():
    # the first PSA call starts the secure world, whose partitions' init make crypto calls of their own
    # (attest's): they must not leave their out-vector length on the shared result out-vector
    root = fx.temp_root()
    prev = spm._config
    try:
        for n in (4, 12):
            psa.set_backend(None)
            spm._spm = None
            spm._config = {"storage_root": root, "partitions": ["its", "crypto", "attest"]}
            assert len(C.psa_generate_random(n)) == n
            assert spm._spm is not None and psa.backend() is spm._spm  # this call did boot it
    finally:
        spm._config = prev
        cf.stop(root)


def test_generate_random():
    root = cf.start()
    try:
        a = C.psa_generate_random(32)
        assert len(a) == 32 and a != C.psa_generate_random(32)
        assert C.psa_generate_random(0) == b""
        assert cf.status_of(C.psa_generate_random, 4096) == psa.PSA_ERROR_INVALID_ARGUMENT
    finally:
        cf.stop(root)


def test_tls12_prf_vector_through_the_partition():
    root = cf.start()
    try:
        op = C.psa_key_derivation_setup(PRF)
        C.psa_key_derivation_input_bytes(op, SEED, H("a0ba9f936cda311827a6f796ffd5198c"))
        C.psa_key_derivation_input_bytes(op, SECRET, H("9bbe436ba940f017b17652849a71db35"))
        C.psa_key_derivation_input_bytes(op, LABEL, b"test label")
        out = C.psa_key_derivation_output_bytes(op, 40) + C.psa_key_derivation_output_bytes(op, 60)
        assert out == H("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e"
                        "14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5"
                        "a72e5a5110fff70187347b66")
        # a secret given as bytes may not become a key (PSA 1.1)
        assert cf.status_of(C.psa_key_derivation_output_key, cf.aes_attrs(C.PSA_ALG_CCM), op) == (
            psa.PSA_ERROR_NOT_PERMITTED)
        C.psa_key_derivation_abort(op)
    finally:
        cf.stop(root)


def _tls_flow(psk_key, psk, label=b"master secret", seed=b"C" * 32 + b"S" * 32):
    """The TLS engine's derivation: master secret as a DERIVE key, then the key block."""
    op = C.psa_key_derivation_setup(PSK_TO_MS)
    C.psa_key_derivation_input_bytes(op, SEED, seed)
    C.psa_key_derivation_input_key(op, SECRET, psk_key)
    C.psa_key_derivation_input_bytes(op, LABEL, label)
    ms_attrs = C.KeyAttributes(C.PSA_KEY_TYPE_DERIVE, 384, C.PSA_KEY_USAGE_DERIVE, PRF)
    ms = C.psa_key_derivation_output_key(ms_attrs, op)
    C.psa_key_derivation_abort(op)
    ms_bytes = tls12.psk_to_ms(psk, seed, label)
    # key expansion: client/server write keys stay inside, the implicit IVs come out as bytes
    op = C.psa_key_derivation_setup(PRF)
    C.psa_key_derivation_input_bytes(op, SEED, b"S" * 32 + b"C" * 32)
    C.psa_key_derivation_input_key(op, SECRET, ms)
    C.psa_key_derivation_input_bytes(op, LABEL, b"key expansion")
    ka = cf.aes_attrs(C.PSA_ALG_CCM)
    ck = C.psa_key_derivation_output_key(ka, op)
    sk = C.psa_key_derivation_output_key(ka, op)
    ivs = C.psa_key_derivation_output_bytes(op, 8)
    C.psa_key_derivation_abort(op)
    block = tls12.prf_sha256(ms_bytes, b"key expansion", b"S" * 32 + b"C" * 32, 40)
    return ms, ms_bytes, ck, sk, ivs, block


def test_tls_psk_derivation_keeps_session_keys_inside():
    root = cf.start()
    try:
        psk = b"0123456789abcdef"
        crypto_partition.provision_psk(psk)
        for label in (b"master secret", b"extended master secret"):  # RFC 7627: seed = session hash
            ms, ms_bytes, ck, sk, ivs, block = _tls_flow(C.KEY_ID_PSK, psk, label)
            assert ivs == block[32:40]
            nonce = ivs[:4] + bytes(8)
            rec = C.psa_aead_encrypt(ck, C.PSA_ALG_CCM, nonce, b"hdr", b"record")
            assert rec == ccm.encrypt(aes.new(block[:16]), nonce, b"hdr", b"record", 16)
            assert C.psa_aead_decrypt(sk, C.PSA_ALG_CCM, nonce, b"hdr",
                                      ccm.encrypt(aes.new(block[16:32]), nonce, b"hdr", b"x", 16)) == b"x"
            for k in (ms, ck, sk):  # derived without EXPORT: NS cannot read them
                assert cf.status_of(C.psa_export_key, k) == psa.PSA_ERROR_NOT_PERMITTED
            # Finished verify_data from the master secret key
            op = C.psa_key_derivation_setup(PRF)
            h = hashlib.sha256(b"handshake messages").digest()
            C.psa_key_derivation_input_bytes(op, SEED, h)
            C.psa_key_derivation_input_key(op, SECRET, ms)
            C.psa_key_derivation_input_bytes(op, LABEL, b"client finished")
            assert C.psa_key_derivation_output_bytes(op, 12) == tls12.prf_sha256(ms_bytes, b"client finished", h, 12)
            C.psa_key_derivation_abort(op)
            for k in (ms, ck, sk):
                C.psa_destroy_key(k)
        # a raw PSK imported as a volatile, non-exportable DERIVE key works the same way
        raw = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_DERIVE, 0, C.PSA_KEY_USAGE_DERIVE, PSK_TO_MS), psk)
        ms, ms_bytes, ck, sk, ivs, block = _tls_flow(raw, psk)
        assert ivs == block[32:40]
        assert C.psa_aead_encrypt(ck, C.PSA_ALG_CCM, bytes(12), b"", b"r") == ccm.encrypt(
            aes.new(block[:16]), bytes(12), b"", b"r", 16)
        assert cf.status_of(C.psa_export_key, raw) == psa.PSA_ERROR_NOT_PERMITTED
    finally:
        cf.stop(root)


def test_key_derivation_state_and_policy_errors():
    root = cf.start()
    try:
        crypto_partition.provision_psk(b"psk-bytes")
        crypto_partition.provision_iak(bytes(32))
        op = C.psa_key_derivation_setup(PSK_TO_MS)
        assert cf.status_of(C.psa_key_derivation_output_bytes, op, 48) == psa.PSA_ERROR_BAD_STATE
        C.psa_key_derivation_input_bytes(op, SEED, b"seed")
        assert cf.status_of(C.psa_key_derivation_input_bytes, op, SEED, b"again") == psa.PSA_ERROR_BAD_STATE
        assert cf.status_of(C.psa_key_derivation_input_bytes, op, C.PSA_KEY_DERIVATION_INPUT_SALT, b"s") == (
            psa.PSA_ERROR_INVALID_ARGUMENT)
        assert cf.status_of(C.psa_key_derivation_input_key, op, SECRET, C.KEY_ID_IAK) == psa.PSA_ERROR_NOT_PERMITTED
        C.psa_key_derivation_input_key(op, SECRET, C.KEY_ID_PSK)
        C.psa_key_derivation_input_bytes(op, LABEL, b"master secret")
        assert len(C.psa_key_derivation_output_bytes(op, 48)) == 48
        assert cf.status_of(C.psa_key_derivation_input_bytes, op, C.PSA_KEY_DERIVATION_INPUT_OTHER_SECRET, b"x") == (
            psa.PSA_ERROR_BAD_STATE)
        assert cf.status_of(C.psa_key_derivation_output_bytes, op, 1 << 14) == psa.PSA_ERROR_INSUFFICIENT_DATA
        C.psa_key_derivation_abort(op)
        assert cf.status_of(C.psa_key_derivation_output_bytes, C.KeyDerivationOperation(5, PRF), 1) == (
            psa.PSA_ERROR_BAD_STATE)
        # the PSK permits TLS12_PSK_TO_MS only
        op = C.psa_key_derivation_setup(PRF)
        assert cf.status_of(C.psa_key_derivation_input_key, op, SECRET, C.KEY_ID_PSK) == psa.PSA_ERROR_NOT_PERMITTED
        C.psa_key_derivation_abort(op)
        assert cf.status_of(C.psa_key_derivation_setup, 0x08000109) == psa.PSA_ERROR_NOT_SUPPORTED  # HKDF
        # PSK_TO_MS with an other secret (RFC 4279 premaster with a non-zero other_secret)
        op = C.psa_key_derivation_setup(PSK_TO_MS)
        C.psa_key_derivation_input_bytes(op, SEED, b"seed")
        C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_OTHER_SECRET, b"other")
        C.psa_key_derivation_input_bytes(op, SECRET, b"psk")
        C.psa_key_derivation_input_bytes(op, LABEL, b"master secret")
        assert C.psa_key_derivation_output_bytes(op, 48) == tls12.psk_to_ms(b"psk", b"seed", b"master secret", b"other")
        C.psa_key_derivation_abort(op)
    finally:
        cf.stop(root)


def test_aead_into_writes_only_the_callers_buffer():
    root = cf.start()
    try:
        for alg in (C.PSA_ALG_CCM, CCM8, C.PSA_ALG_GCM):
            k = C.psa_import_key(cf.aes_attrs(alg), bytes(range(16)))
            nonce, aad = bytes(range(12)), b"hdr"
            want = C.psa_aead_encrypt(k, alg, nonce, aad, b"payload")
            assert C.psa_aead_decrypt(k, alg, nonce, aad, want) == b"payload"
            rec = bytearray(b"\xaa" * (5 + len(want) + 3))
            n = C.psa_aead_encrypt_into(k, alg, nonce, aad, b"payload", memoryview(rec)[5: 5 + len(want)])
            assert n == len(want) and bytes(rec[5: 5 + n]) == want
            assert rec[:5] == bytearray(b"\xaa" * 5) and rec[5 + n:] == bytearray(b"\xaa" * 3)
            out = bytearray(10)
            assert C.psa_aead_decrypt_into(k, alg, nonce, aad, want, out) == 7 and bytes(out[:7]) == b"payload"
            assert cf.status_of(C.psa_aead_encrypt_into, k, alg, nonce, aad, b"payload",
                                bytearray(len(want) - 1)) == psa.PSA_ERROR_BUFFER_TOO_SMALL
            assert cf.status_of(C.psa_aead_decrypt_into, k, alg, nonce, aad, want, bytearray(6)) == (
                psa.PSA_ERROR_BUFFER_TOO_SMALL)
            bad = bytearray(want)
            bad[-1] ^= 1
            out = bytearray(7)
            assert cf.status_of(C.psa_aead_decrypt_into, k, alg, nonce, aad, bytes(bad), out) == (
                psa.PSA_ERROR_INVALID_SIGNATURE)
            assert out == bytearray(7)  # nothing of a record that failed to verify reaches the caller
            # the cached header follows the key: another key of the same alg seals differently
            k2 = C.psa_import_key(cf.aes_attrs(alg), bytes(range(1, 17)))
            assert C.psa_aead_encrypt(k2, alg, nonce, aad, b"payload") != want
            assert C.psa_aead_encrypt(k, alg, nonce, aad, b"payload") == want
            C.psa_destroy_key(k2)
            C.psa_destroy_key(k)
            assert cf.status_of(C.psa_aead_encrypt, k, alg, nonce, aad, b"x") == psa.PSA_ERROR_INVALID_HANDLE
    finally:
        cf.stop(root)


def test_prf_keyed_by_a_key_uses_that_keys_pads_even_after_it_is_destroyed():
    """The partition caches the HMAC pads of a PRF secret given as a key on that key (the TLS key block and
    both Finished PRFs use one master secret): each operation keeps the pads of the key it was given, two
    master secrets never mix, and destroying the key after input_key does not change the operation's output."""
    root = cf.start()
    try:
        psk = b"0123456789abcdef"
        crypto_partition.provision_psk(psk)
        ms1, ms1_bytes = _tls_flow(C.KEY_ID_PSK, psk, seed=b"1" * 64)[:2]
        ms2, ms2_bytes = _tls_flow(C.KEY_ID_PSK, psk, seed=b"2" * 64)[:2]
        assert ms1_bytes != ms2_bytes
        h = hashlib.sha256(b"transcript").digest()
        ops = []
        for ms in (ms1, ms2, ms1):
            op = C.psa_key_derivation_setup(PRF)
            C.psa_key_derivation_input_key(op, SECRET, ms)
            C.psa_key_derivation_input_bytes(op, SEED, h)
            C.psa_key_derivation_input_bytes(op, LABEL, b"server finished")
            ops.append(op)
        C.psa_destroy_key(ms1)  # after input_key: the first and third operations still hold ms1's pads
        want1 = tls12.prf_sha256(ms1_bytes, b"server finished", h, 44)
        want2 = tls12.prf_sha256(ms2_bytes, b"server finished", h, 44)
        assert C.psa_key_derivation_output_bytes(ops[0], 12) + C.psa_key_derivation_output_bytes(ops[0], 32) == want1
        assert C.psa_key_derivation_output_bytes(ops[1], 44) == want2
        assert C.psa_key_derivation_output_bytes(ops[2], 1) == want1[:1]
        assert C.psa_key_derivation_output_bytes(ops[2], 43) == want1[1:]
        for op in ops:
            C.psa_key_derivation_abort(op)
        op = C.psa_key_derivation_setup(PRF)
        assert cf.status_of(C.psa_key_derivation_input_key, op, SECRET, ms1) == psa.PSA_ERROR_INVALID_HANDLE
        C.psa_key_derivation_abort(op)
        C.psa_destroy_key(ms2)
    finally:
        cf.stop(root)
