"""device.psa.crypto keeps its whole API while the rarely used part lives in device.psa.crypto_more
(loaded through the module __getattr__ on first use); the TLS alert table is one string."""

from device.psa import crypto as C
from device.tls import alerts

# every public name device.psa.crypto had before the split (round 3 of the performance sprint)
API = (
    "ATTRIBUTES_FORMAT ATTRIBUTES_SIZE HEADER_FORMAT HEADER_SIZE HashOperation KEY_ID_IAK KEY_ID_PSK "
    "KeyAttributes KeyDerivationOperation MAX_KEY_BYTES PSA_AEAD_TAG_LENGTH PSA_AEAD_TAG_LENGTH_OFFSET "
    "PSA_AEAD_TAG_MAX_SIZE PSA_ALG_AEAD_TAG_LENGTH_MASK PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG "
    "PSA_ALG_AEAD_WITH_SHORTENED_TAG PSA_ALG_CBC_NO_PADDING PSA_ALG_CCM PSA_ALG_GCM PSA_ALG_HASH_MASK "
    "PSA_ALG_HMAC PSA_ALG_HMAC_BASE PSA_ALG_NONE PSA_ALG_SHA_256 PSA_ALG_TLS12_PRF PSA_ALG_TLS12_PRF_BASE "
    "PSA_ALG_TLS12_PSK_TO_MS PSA_ALG_TLS12_PSK_TO_MS_BASE PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE "
    "PSA_CIPHER_IV_LENGTH_AES PSA_HASH_LENGTH_SHA_256 PSA_KEY_DERIVATION_INPUT_INFO "
    "PSA_KEY_DERIVATION_INPUT_LABEL PSA_KEY_DERIVATION_INPUT_OTHER_SECRET PSA_KEY_DERIVATION_INPUT_SALT "
    "PSA_KEY_DERIVATION_INPUT_SECRET PSA_KEY_DERIVATION_INPUT_SEED PSA_KEY_ID_NULL PSA_KEY_ID_USER_MAX "
    "PSA_KEY_ID_USER_MIN PSA_KEY_ID_VENDOR_MAX PSA_KEY_ID_VENDOR_MIN PSA_KEY_ID_VOLATILE_MIN "
    "PSA_KEY_LIFETIME_PERSISTENT PSA_KEY_LIFETIME_VOLATILE PSA_KEY_TYPE_AES PSA_KEY_TYPE_DERIVE "
    "PSA_KEY_TYPE_HMAC PSA_KEY_TYPE_NONE PSA_KEY_TYPE_RAW_DATA PSA_KEY_USAGE_COPY PSA_KEY_USAGE_DECRYPT "
    "PSA_KEY_USAGE_DERIVE PSA_KEY_USAGE_ENCRYPT PSA_KEY_USAGE_EXPORT PSA_KEY_USAGE_SIGN_HASH "
    "PSA_KEY_USAGE_SIGN_MESSAGE PSA_KEY_USAGE_VERIFY_HASH PSA_KEY_USAGE_VERIFY_MESSAGE PSA_MAC_MAX_SIZE "
    "TFM_CRYPTO_AEAD_DECRYPT TFM_CRYPTO_AEAD_ENCRYPT TFM_CRYPTO_CIPHER_DECRYPT TFM_CRYPTO_CIPHER_ENCRYPT "
    "TFM_CRYPTO_DESTROY_KEY TFM_CRYPTO_EXPORT_KEY TFM_CRYPTO_GENERATE_KEY TFM_CRYPTO_GENERATE_RANDOM "
    "TFM_CRYPTO_GET_KEY_ATTRIBUTES TFM_CRYPTO_HANDLE TFM_CRYPTO_HASH_ABORT TFM_CRYPTO_HASH_COMPUTE "
    "TFM_CRYPTO_HASH_FINISH TFM_CRYPTO_HASH_SETUP TFM_CRYPTO_HASH_UPDATE TFM_CRYPTO_IMPORT_KEY "
    "TFM_CRYPTO_KEY_DERIVATION_ABORT TFM_CRYPTO_KEY_DERIVATION_INPUT_BYTES TFM_CRYPTO_KEY_DERIVATION_INPUT_KEY "
    "TFM_CRYPTO_KEY_DERIVATION_OUTPUT_BYTES TFM_CRYPTO_KEY_DERIVATION_OUTPUT_KEY "
    "TFM_CRYPTO_KEY_DERIVATION_SETUP TFM_CRYPTO_MAC_COMPUTE TFM_CRYPTO_MAC_VERIFY TFM_CRYPTO_SID "
    "TFM_CRYPTO_VERSION psa_aead_decrypt psa_aead_decrypt_into psa_aead_encrypt psa_aead_encrypt_into "
    "psa_cipher_decrypt psa_cipher_encrypt psa_destroy_key psa_export_key psa_generate_key "
    "psa_generate_random psa_get_key_attributes psa_hash_abort psa_hash_compute psa_hash_finish "
    "psa_hash_setup psa_hash_update psa_import_key psa_key_attributes_t psa_key_derivation_abort "
    "psa_key_derivation_input_bytes psa_key_derivation_input_key psa_key_derivation_output_bytes "
    "psa_key_derivation_output_key psa_key_derivation_setup psa_mac_compute psa_mac_verify"
).split()


def test_every_crypto_name_is_still_there():
    missing = [n for n in API if getattr(C, n, None) is None]
    assert not missing, missing
    assert C.psa_key_attributes_t is C.KeyAttributes


def test_lazy_names_import_and_stay_put():
    from device.psa.crypto import KEY_ID_PSK, psa_hash_compute  # through the module __getattr__

    assert KEY_ID_PSK == 0x40000001
    assert C.psa_hash_compute is psa_hash_compute  # copied into the module: one object, found directly
    # the first lazy lookup copied every public name of crypto_more at once (the dict grows once, with room)
    assert all(n in C.__dict__ for n in ("psa_mac_verify", "TFM_CRYPTO_SID", "PSA_KEY_ID_VOLATILE_MIN"))


def test_the_folded_values_match_the_public_constants():
    # crypto.py folds private copies of the *_BASE / mask values; crypto_more has the public names
    sha = C.PSA_ALG_SHA_256
    assert C.PSA_ALG_HMAC(sha) == C.PSA_ALG_HMAC_BASE | (sha & C.PSA_ALG_HASH_MASK) == 0x03800009
    assert C.PSA_ALG_TLS12_PRF(sha) == C.PSA_ALG_TLS12_PRF_BASE | 9
    assert C.PSA_ALG_TLS12_PSK_TO_MS(sha) == C.PSA_ALG_TLS12_PSK_TO_MS_BASE | 9
    assert C.PSA_AEAD_TAG_LENGTH(C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_CCM, 8)) == 8
    assert C.PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(C.PSA_ALG_CCM) == C.PSA_ALG_CCM
    a = C.KeyAttributes()
    assert (a.type, a.alg, a.lifetime, a.id) == (C.PSA_KEY_TYPE_NONE, C.PSA_ALG_NONE,
                                                 C.PSA_KEY_LIFETIME_VOLATILE, C.PSA_KEY_ID_NULL)


def test_unknown_and_private_names_raise_attribute_error():
    for name in ("psa_no_such_call", "_call_more", "__path__"):
        try:
            getattr(C, name)
            assert False, name
        except AttributeError:
            pass


def test_alert_table():
    names = alerts.NAMES  # still a {code: name} dict, built on demand
    assert len(names) == 31 and names[0] == "close_notify" and names[115] == "unknown_psk_identity"
    for code in range(256):
        assert alerts.alert_name(code) == names.get(code, "alert_%d" % code)
    assert alerts.alert_name(-1) == "alert_-1" and alerts.alert_name(1000) == "alert_1000"
    e = alerts.TLSError(alerts.BAD_RECORD_MAC, "x")
    assert e.alert == "bad_record_mac" and e.code == 20 and str(e) == "sent alert bad_record_mac: x"
