"""Published vectors through the crypto partition: the TLS 1.2 PRF (P_SHA256), the RFC 4279
premaster construction inside PSA_ALG_TLS12_PSK_TO_MS, and the engine's keys never leaving it."""

from binascii import unhexlify

from device import psa
from device.psa import crypto as c
from device.tls import keys
from tests.device import tls_world

# The widely published TLS 1.2 PRF SHA-256 vector (IETF TLS WG list, msg03416); also reproduced by
# `openssl kdf -keylen 100 -kdfopt digest:SHA2-256 -kdfopt hexsecret:9bbe... -kdfopt hexseed:<label||seed> TLS1-PRF`.
PRF_SECRET = "9bbe436ba940f017b17652849a71db35"
PRF_SEED = "a0ba9f936cda311827a6f796ffd5198c"
PRF_OUT = ("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af"
           "0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66")

# PSK -> master secret: premaster = 0010 || 00*16 || 0010 || PSK (RFC 4279 §2), then
# PRF(premaster, "master secret", client_random || server_random)[:48]. Expected value computed by
# OpenSSL 3.0: openssl kdf -keylen 48 -kdfopt digest:SHA2-256 -kdfopt hexsecret:<premaster>
#   -kdfopt hexseed:<"master secret" || 00 01 .. 3f> TLS1-PRF
PSK = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
MS = "95047c4d6d46b178e43bb79ddc32032167ea7a33a8f82ade3350dc3f54413c1b8b13a3ffcc0275bdadccc8b4bad05afb"


def _prf_key(secret):
    a = c.KeyAttributes(type=c.PSA_KEY_TYPE_DERIVE, bits=8 * len(secret), usage=c.PSA_KEY_USAGE_DERIVE,
                        alg=c.PSA_ALG_TLS12_PRF(c.PSA_ALG_SHA_256))
    return c.psa_import_key(a, secret)


def test_tls12_prf_published_vector():
    tls_world.ensure()
    key = _prf_key(unhexlify(PRF_SECRET))
    try:
        op = c.psa_key_derivation_setup(c.PSA_ALG_TLS12_PRF(c.PSA_ALG_SHA_256))
        c.psa_key_derivation_input_bytes(op, c.PSA_KEY_DERIVATION_INPUT_SEED, unhexlify(PRF_SEED))
        c.psa_key_derivation_input_key(op, c.PSA_KEY_DERIVATION_INPUT_SECRET, key)
        c.psa_key_derivation_input_bytes(op, c.PSA_KEY_DERIVATION_INPUT_LABEL, b"test label")
        out = c.psa_key_derivation_output_bytes(op, 60) + c.psa_key_derivation_output_bytes(op, 40)
        c.psa_key_derivation_abort(op)
        assert out == unhexlify(PRF_OUT)
        # the engine's Finished computation is the same PRF keyed by a key id
        assert keys.verify_data(key, b"test label", unhexlify(PRF_SEED)) == unhexlify(PRF_OUT)[:12]
    finally:
        c.psa_destroy_key(key)


def test_psk_to_master_secret_vector():
    tls_world.ensure()
    psk = keys.import_psk(unhexlify(PSK))
    try:
        op = c.psa_key_derivation_setup(keys.PSK_TO_MS_ALG)
        c.psa_key_derivation_input_bytes(op, c.PSA_KEY_DERIVATION_INPUT_SEED, bytes(range(64)))
        c.psa_key_derivation_input_key(op, c.PSA_KEY_DERIVATION_INPUT_SECRET, psk)
        c.psa_key_derivation_input_bytes(op, c.PSA_KEY_DERIVATION_INPUT_LABEL, b"master secret")
        assert c.psa_key_derivation_output_bytes(op, 48) == unhexlify(MS)
        c.psa_key_derivation_abort(op)
        # the engine's master-secret key is that value, kept inside: the Finished PRF keyed by it
        # equals the PRF keyed by the known bytes
        ms_key = keys.master_secret(psk, bytes(range(32)), bytes(range(32, 64)))
        known = _prf_key(unhexlify(MS))
        try:
            th = b"\x5a" * 32
            assert keys.verify_data(ms_key, b"client finished", th) == keys.verify_data(known, b"client finished", th)
        finally:
            c.psa_destroy_key(known)
            keys.destroy(ms_key)
    finally:
        keys.destroy(psk)


def _not_exportable(key):
    try:
        c.psa_export_key(key)
    except psa.PSAError as e:
        assert e.status == psa.PSA_ERROR_NOT_PERMITTED, e.status
    else:
        raise AssertionError("key exported")


def test_engine_keys_stay_in_the_partition():
    tls_world.ensure()
    psk = keys.import_psk(unhexlify(PSK))
    _not_exportable(psk)
    ms_key = keys.master_secret(psk, bytes(32), bytes(32), session_hash=b"\x01" * 32)
    _not_exportable(ms_key)
    for suite in (0xC0A4, 0xC0A8, 0x00A8, 0x00AE):
        prot = keys.record_protection(ms_key, suite, bytes(32), bytes(32), etm=True)
        ids = [k for k in (prot.write_key, prot.read_key, getattr(prot, "write_mac", None),
                           getattr(prot, "read_mac", None)) if k is not None]
        assert len(ids) == (4 if suite == 0x00AE else 2)
        for k in ids:
            _not_exportable(k)
        prot.destroy()
        for k in ids:  # destroyed with the connection
            try:
                c.psa_get_key_attributes(k)
            except psa.PSAError as e:
                assert e.status == psa.PSA_ERROR_INVALID_HANDLE or e.status == psa.PSA_ERROR_DOES_NOT_EXIST, e.status
            else:
                raise AssertionError("destroyed key still there")
    keys.destroy(ms_key)
    keys.destroy(psk)


def test_key_block_failing_midway_destroys_the_keys_it_made():
    # the key store runs out after `room` more keys: record_protection must fail with internal_error and
    # leave none of the keys it derived before the failure behind (each suite, CBC's four keys included)
    from device.partitions.crypto import keystore
    from device.tls.alerts import TLSError

    tls_world.ensure()
    psk = keys.import_psk(unhexlify(PSK))
    ms_key = keys.master_secret(psk, bytes(32), bytes(32))
    filler = []
    try:
        a = c.KeyAttributes(c.PSA_KEY_TYPE_AES, 128, c.PSA_KEY_USAGE_ENCRYPT, c.PSA_ALG_CCM)
        for suite, room in ((0x00AE, 3), (0x00AE, 1), (0xC0A4, 1)):
            while len(keystore._volatile) < keystore.MAX_VOLATILE - room:
                filler.append(c.psa_import_key(a, bytes(16)))
            while len(keystore._volatile) > keystore.MAX_VOLATILE - room:
                c.psa_destroy_key(filler.pop())
            before = sorted(keystore._volatile)
            try:
                keys.record_protection(ms_key, suite, bytes(32), bytes(32), etm=True)
            except TLSError as e:
                assert e.alert == "internal_error", e.alert
            else:
                raise AssertionError("key block made with no room for its keys")
            assert sorted(keystore._volatile) == before  # every key made before the failure is gone
    finally:
        for k in filler:
            c.psa_destroy_key(k)
        keys.destroy(ms_key)
        keys.destroy(psk)
