"""Every AEAD, cipher, MAC and the TLS PRF cross-checked against pyca/cryptography on random inputs.

Each property runs on the pure-Python backend (the one CPython has), on the aesio adapter driven by an
aesio-API stand-in (CircuitPython's aesio does not run here; the stand-in is built on cryptography's AES,
so it checks our adapter, not aesio itself), and through the crypto partition via psa_call.
"""

import hashlib
import hmac

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from cryptography.exceptions import InvalidTag as CryptographyInvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM

from device import psa
from device.psa import crypto as C
from device.psa import spm
from device.partitions.crypto import aes, ccm, gcm, tls12
from device.partitions.crypto.hmac_sha256 import HMAC, hmac_sha256
from tests.host.prf_oracle import p_sha256

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
keys = st.sampled_from((16, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n))
data = st.binary(max_size=200)


class _StandInAesio:
    """aesio's documented API (AES(key, mode, iv), encrypt_into/decrypt_into, MODE_ECB/CBC) on cryptography."""

    MODE_ECB = 1
    MODE_CBC = 2

    class AES:
        def __init__(self, key, mode, iv=None):
            self._key, self._mode, self._iv = key, mode, iv

        def _run(self, src, dst, decrypt):
            if self._mode == 1 and len(src) != 16:
                raise ValueError("aesio ECB works on one 16-byte block")
            m = modes.ECB() if self._mode == 1 else modes.CBC(self._iv)
            c = Cipher(algorithms.AES(self._key), m)
            ctx = c.decryptor() if decrypt else c.encryptor()
            out = ctx.update(bytes(src)) + ctx.finalize()
            if self._mode == 2:
                self._iv = (bytes(src) if decrypt else out)[-16:]
            dst[:] = out

        def encrypt_into(self, src, dst):
            self._run(src, dst, False)

        def decrypt_into(self, src, dst):
            self._run(src, dst, True)


def _aesio_backend(key):
    saved = aes._aesio
    aes._aesio = _StandInAesio
    try:
        from device.partitions.crypto.aes_aesio import AesioAES

        return AesioAES(key)
    finally:
        aes._aesio = saved


@pytest.fixture(params=["pure", "aesio-adapter"])
def new_cipher(request):
    return (lambda k: aes.new(k, "pure")) if request.param == "pure" else _aesio_backend


@pytest.fixture(scope="module")
def secure_world(tmp_path_factory):
    spm.configure(storage_root=str(tmp_path_factory.mktemp("its")), partitions=["its", "crypto"])
    yield
    spm.configure(storage_root=str(tmp_path_factory.mktemp("its2")), partitions=["its", "crypto"])


@SETTINGS
@given(key=keys, block=st.binary(min_size=0, max_size=96).map(lambda b: b[: len(b) // 16 * 16]),
       iv=st.binary(min_size=16, max_size=16))
def test_ecb_cbc_match_cryptography(new_cipher, key, block, iv):
    c = new_cipher(key)
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    assert c.ecb_encrypt(block) == e.update(block) + e.finalize()
    assert c.ecb_decrypt(c.ecb_encrypt(block)) == block
    e = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    want = e.update(block) + e.finalize()
    assert c.cbc_encrypt(iv, block) == want
    assert c.cbc_decrypt(iv, want) == block


@SETTINGS
@given(key=keys, nonce=st.integers(7, 13).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       aad=data, pt=data, tag=st.sampled_from((4, 6, 8, 10, 12, 14, 16)))
def test_ccm_matches_cryptography(new_cipher, key, nonce, aad, pt, tag):
    c = new_cipher(key)
    want = AESCCM(key, tag_length=tag).encrypt(nonce, pt, aad)
    assert ccm.encrypt(c, nonce, aad, pt, tag) == want
    assert ccm.decrypt(c, nonce, aad, want, tag) == pt
    bad = bytearray(want)
    bad[len(bad) // 2] ^= 1
    with pytest.raises(aes.InvalidTag):
        ccm.decrypt(c, nonce, aad, bytes(bad), tag)


@pytest.mark.parametrize("aad_len", [0xFEFF, 0xFF00])  # the last 2-byte and the first 6-byte AAD length encoding
def test_ccm_long_aad_matches_cryptography(aad_len):
    key, nonce = bytes(range(16)), bytes(range(12))
    aad = bytes(i & 0xFF for i in range(aad_len))
    c = aes.new(key, "pure")
    want = AESCCM(key).encrypt(nonce, b"record", aad)
    assert ccm.encrypt(c, nonce, aad, b"record") == want
    assert ccm.decrypt(c, nonce, aad, want) == b"record"


@SETTINGS
@given(key=keys, nonce=st.one_of(st.just(12), st.integers(8, 64)).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       aad=data, pt=data, tag=st.sampled_from((4, 8, 12, 13, 14, 15, 16)))
def test_gcm_matches_cryptography(new_cipher, key, nonce, aad, pt, tag):
    g = gcm.GCM(new_cipher(key))
    full = AESGCM(key).encrypt(nonce, pt, aad)
    want = full[: len(pt) + tag]  # a shortened GCM tag is the prefix of the full one
    assert g.encrypt(nonce, aad, pt, tag) == want
    assert g.decrypt(nonce, aad, want, tag) == pt
    bad = bytearray(want)
    bad[-1] ^= 0x80
    with pytest.raises(aes.InvalidTag):
        g.decrypt(nonce, aad, bytes(bad), tag)


@SETTINGS
@given(key=st.binary(min_size=0, max_size=150), msg=data, split=st.integers(0, 200))
def test_hmac_matches_stdlib(key, msg, split):
    want = hmac.new(key, msg, hashlib.sha256).digest()
    assert hmac_sha256(key, msg) == want
    h = HMAC(key)
    h.update(msg[:split])
    h.update(msg[split:])
    assert h.digest() == want


@SETTINGS
@given(secret=st.binary(max_size=100), label=st.binary(max_size=30), seed=data, n=st.integers(0, 200))
def test_tls12_prf_matches_direct_computation(secret, label, seed, n):
    assert tls12.prf_sha256(secret, label, seed, n) == p_sha256(secret, label + seed, n)


# --- the same through the partition ----------------------------------------------------------------
def _aes_key(k, alg):
    return C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 0, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT,
                                            alg), k)


@SETTINGS
@given(key=keys, nonce=st.binary(min_size=12, max_size=12), aad=data, pt=data, tag=st.sampled_from((8, 16)))
def test_partition_ccm_matches_cryptography(secure_world, key, nonce, aad, pt, tag):
    alg = C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_CCM, tag)
    kid = _aes_key(key, alg)
    try:
        want = AESCCM(key, tag_length=tag).encrypt(nonce, pt, aad)
        assert C.psa_aead_encrypt(kid, alg, nonce, aad, pt) == want
        assert C.psa_aead_decrypt(kid, alg, nonce, aad, want) == pt
        with pytest.raises(psa.PSAError) as e:
            C.psa_aead_decrypt(kid, alg, nonce, aad + b"x", want)
        assert e.value.status == psa.PSA_ERROR_INVALID_SIGNATURE
    finally:
        C.psa_destroy_key(kid)


@SETTINGS
@given(key=keys, nonce=st.binary(min_size=12, max_size=12), aad=data, pt=data)
def test_partition_gcm_matches_cryptography(secure_world, key, nonce, aad, pt):
    kid = _aes_key(key, C.PSA_ALG_GCM)
    try:
        want = AESGCM(key).encrypt(nonce, pt, aad)
        assert C.psa_aead_encrypt(kid, C.PSA_ALG_GCM, nonce, aad, pt) == want
        assert C.psa_aead_decrypt(kid, C.PSA_ALG_GCM, nonce, aad, want) == pt
        with pytest.raises(CryptographyInvalidTag):  # and the other way round: ours is checked by theirs
            AESGCM(key).decrypt(nonce, C.psa_aead_encrypt(kid, C.PSA_ALG_GCM, nonce, aad + b"!", pt), aad)
    finally:
        C.psa_destroy_key(kid)


@SETTINGS
@given(key=keys, pt=st.binary(max_size=128).map(lambda b: b[: len(b) // 16 * 16]))
def test_partition_cbc_matches_cryptography(secure_world, key, pt):
    kid = _aes_key(key, C.PSA_ALG_CBC_NO_PADDING)
    try:
        out = C.psa_cipher_encrypt(kid, C.PSA_ALG_CBC_NO_PADDING, pt)
        e = Cipher(algorithms.AES(key), modes.CBC(out[:16])).encryptor()
        assert out[16:] == e.update(pt) + e.finalize()
        assert C.psa_cipher_decrypt(kid, C.PSA_ALG_CBC_NO_PADDING, out) == pt
    finally:
        C.psa_destroy_key(kid)


@SETTINGS
@given(key=st.binary(min_size=1, max_size=C.MAX_KEY_BYTES), msg=data)
def test_partition_hmac_and_hash_match_stdlib(secure_world, key, msg):
    alg = C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)
    kid = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_SIGN_MESSAGE |
                                           C.PSA_KEY_USAGE_VERIFY_MESSAGE, alg), key)
    try:
        want = hmac.new(key, msg, hashlib.sha256).digest()
        assert C.psa_mac_compute(kid, alg, msg) == want
        C.psa_mac_verify(kid, alg, msg, want)
        assert C.psa_hash_compute(C.PSA_ALG_SHA_256, msg) == hashlib.sha256(msg).digest()
    finally:
        C.psa_destroy_key(kid)


@SETTINGS
@given(psk=st.binary(min_size=1, max_size=64), seed=st.binary(max_size=80), n=st.integers(1, 120),
       label=st.sampled_from((b"master secret", b"extended master secret", b"key expansion")))
def test_partition_prf_and_psk_to_ms_match_direct_computation(secure_world, psk, seed, n, label):
    op = C.psa_key_derivation_setup(C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256))
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SEED, seed)
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SECRET, psk)
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_LABEL, label)
    ms = C.psa_key_derivation_output_bytes(op, 48)
    C.psa_key_derivation_abort(op)
    pms = len(psk).to_bytes(2, "big") + bytes(len(psk)) + len(psk).to_bytes(2, "big") + psk
    assert ms == p_sha256(pms, label + seed, 48)
    op = C.psa_key_derivation_setup(C.PSA_ALG_TLS12_PRF(C.PSA_ALG_SHA_256))
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SEED, seed)
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SECRET, ms)
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_LABEL, label)
    got = C.psa_key_derivation_output_bytes(op, n // 2) + C.psa_key_derivation_output_bytes(op, n - n // 2)
    C.psa_key_derivation_abort(op)
    assert got == p_sha256(ms, label + seed, n)


@pytest.mark.parametrize("n", [4080, 4097, 16384])  # 255, 256+ and 1024 counter blocks: the 2-byte counter path
def test_ccm_long_message_matches_cryptography(n):
    key, nonce = bytes(range(16)), bytes(range(3, 15))
    pt = bytes((7 * i) & 0xFF for i in range(n))
    c = aes.new(key, "pure")
    want = AESCCM(key).encrypt(nonce, pt, b"hdr")
    assert ccm.encrypt(c, nonce, b"hdr", pt) == want
    assert ccm.decrypt(c, nonce, b"hdr", want) == pt


_record = st.tuples(st.integers(0, 1), st.sampled_from((7, 8, 12, 13)), st.integers(0, 40),
                    st.sampled_from((0, 1, 15, 16, 17, 63, 64, 200, 1030)), st.sampled_from((4, 8, 16)))


@SETTINGS
@given(k1=keys, k2=keys, seq=st.lists(_record, min_size=2, max_size=8), seed=st.integers(0, 255))
def test_ccm_and_gcm_sequences_match_cryptography(new_cipher, k1, k2, seq, seed):
    # the modes reuse module scratch buffers from call to call: a random sequence of records (two keys,
    # nonce/AAD/message lengths across the scratch limits, 1030 > SCRATCH_MAX) must each equal the
    # reference, opened and sealed, with a tampered record failing in between
    ciphers = (new_cipher(k1), new_cipher(k2))
    gcms = (gcm.GCM(ciphers[0]), gcm.GCM(ciphers[1]))
    for n, (which, nl, al, ml, tag) in enumerate(seq):
        key = (k1, k2)[which]
        nonce = bytes((seed + n + i) & 0xFF for i in range(nl))
        aad = bytes((seed * 3 + i) & 0xFF for i in range(al))
        pt = bytes((seed + 7 * i) & 0xFF for i in range(ml))
        want = AESCCM(key, tag_length=tag).encrypt(nonce, pt, aad)
        assert ccm.encrypt(ciphers[which], nonce, aad, pt, tag) == want
        assert ccm.decrypt(ciphers[which], nonce, aad, want, tag) == pt
        gtag = 12 if tag == 4 else tag
        nonce = nonce if nl >= 8 else nonce + b"g"  # (cryptography's AESGCM takes 8..128 bytes)
        gwant = AESGCM(key).encrypt(nonce, pt, aad)[: ml + gtag]
        assert gcms[which].encrypt(nonce, aad, pt, gtag) == gwant
        bad = bytearray(gwant)
        bad[(seed + n) % len(bad)] ^= 1
        with pytest.raises(aes.InvalidTag):
            gcms[which].decrypt(nonce, aad, bytes(bad), gtag)
        assert gcms[which].decrypt(nonce, aad, gwant, gtag) == pt
