"""The record path's buffer tricks against pyca/cryptography's AESCCM/AESGCM: AEADRecords seals in
place in a reused record buffer and opens into the caller's buffer; whatever the order and sizes of
records, every record must be exactly RFC 5288/6655's (nonce = salt || seq, AAD = seq || header)."""

import struct

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM

from device.psa import crypto as C
from device.psa import spm
from device.tls.alerts import TLSError
from device.tls.keys import AEADRecords

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def secure_world(tmp_path_factory):
    spm.configure(storage_root=str(tmp_path_factory.mktemp("its")), partitions=["its", "crypto"])
    yield
    spm.configure(storage_root=str(tmp_path_factory.mktemp("its2")), partitions=["its", "crypto"])


SUITES = {  # name -> (PSA algorithm, tag length, reference)
    "ccm": (C.PSA_ALG_CCM, 16, lambda k: AESCCM(k, 16)),
    "ccm8": (C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_CCM, 8), 8, lambda k: AESCCM(k, 8)),
    "gcm": (C.PSA_ALG_GCM, 16, AESGCM),
}


@SETTINGS
@given(suite=st.sampled_from(sorted(SUITES)), key=st.binary(min_size=16, max_size=16),
       ivs=st.binary(min_size=8, max_size=8),
       records=st.lists(st.tuples(st.sampled_from((21, 22, 23)), st.binary(min_size=0, max_size=1200)),
                         min_size=1, max_size=6))
def test_records_in_place_match_cryptography(secure_world, suite, key, ivs, records):
    alg, tag, ref = SUITES[suite]
    kid = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT,
                                           alg), key)
    try:
        # one key both ways: this side seals, the peer object opens what cryptography seals
        mine = AEADRecords(kid, kid, alg, ivs[:4], ivs[4:], tag)
        peer = AEADRecords(kid, kid, alg, ivs[:4], ivs[4:], tag)  # reads with salt ivs[4:]
        r = ref(key)
        out = bytearray(1300)
        for seq, (ctype, pt) in enumerate(records):
            rec = bytes(mine.seal_view(ctype, pt))
            nonce = ivs[:4] + struct.pack(">Q", seq)
            aad = struct.pack(">QBHH", seq, ctype, 0x0303, len(pt))
            want = r.encrypt(nonce, pt, aad)
            assert rec == struct.pack(">BHH", ctype, 0x0303, 8 + len(want)) + nonce[4:] + want
            # the other way: cryptography seals, open_into writes exactly the plaintext, nothing beyond
            theirs = struct.pack(">Q", seq) + r.encrypt(ivs[4:] + struct.pack(">Q", seq), pt, aad)
            out[:] = b"\x5a" * len(out)
            assert peer.open_into(ctype, memoryview(theirs), out) == len(pt)
            assert bytes(out[:len(pt)]) == pt and out[len(pt):] == b"\x5a" * (len(out) - len(pt))
        # a forged record: bad_record_mac, the buffer untouched, the sequence number kept
        theirs = bytearray(struct.pack(">Q", len(records)) + r.encrypt(
            ivs[4:] + struct.pack(">Q", len(records)), b"last", struct.pack(">QBHH", len(records), 23, 0x0303, 4)))
        theirs[9] ^= 1
        out[:] = b"\x5a" * len(out)
        with pytest.raises(TLSError) as e:
            peer.open_into(23, theirs, out)
        assert e.value.code == 20 and out == b"\x5a" * len(out) and peer.read_seq == len(records)
    finally:
        C.psa_destroy_key(kid)


def test_psa_aead_encrypt_into_a_too_small_buffer_is_buffer_too_small(secure_world):
    from device import psa

    kid = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128, C.PSA_KEY_USAGE_ENCRYPT, C.PSA_ALG_CCM), bytes(16))
    try:
        for size in (0, 1, 19):
            with pytest.raises(psa.PSAError) as e:
                C.psa_aead_encrypt_into(kid, C.PSA_ALG_CCM, bytes(12), b"", b"four", bytearray(size))
            assert e.value.status == psa.PSA_ERROR_BUFFER_TOO_SMALL
        buf = bytearray(20)
        assert C.psa_aead_encrypt_into(kid, C.PSA_ALG_CCM, bytes(12), b"", b"four", buf) == 20
        assert bytes(buf) == AESCCM(bytes(16), 16).encrypt(bytes(12), b"four", b"")
    finally:
        C.psa_destroy_key(kid)
