"""Crypto partition: key store, attributes, persistence, per-caller key policy, wire-format errors."""

import os

from device import psa
from device.psa import crypto as C
from device.psa import spm
from device.partitions import crypto as crypto_partition
from device.partitions import its as its_partition
from device.partitions.crypto import keystore
from device.partitions.crypto.hmac_sha256 import hmac_sha256
from tests.device import crypto_fixtures as cf

HMAC256 = C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)
PSK = bytes(range(1, 33))
IAK = bytes(range(100, 132))


def test_service_is_registered_as_tf_m_crypto():
    root = cf.start()
    try:
        assert psa.psa_version(C.TFM_CRYPTO_SID) == 1
        sid, version, handle = spm.get().service("TFM_CRYPTO")
        assert (sid, version, handle) == (0x80, 1, C.TFM_CRYPTO_HANDLE) and handle == 0x40000100
        assert crypto_partition.MANIFEST["pid"] == 259
    finally:
        cf.stop(root)


def test_import_attributes_export_destroy_volatile():
    root = cf.start()
    try:
        a = C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_SIGN_MESSAGE | C.PSA_KEY_USAGE_EXPORT, HMAC256)
        k = C.psa_import_key(a, b"k" * 20)
        assert C.PSA_KEY_ID_VOLATILE_MIN <= k <= C.PSA_KEY_ID_VENDOR_MAX
        got = C.psa_get_key_attributes(k)
        assert (got.type, got.bits, got.usage, got.alg, got.lifetime, got.id) == (
            C.PSA_KEY_TYPE_HMAC, 160, a.usage, HMAC256, C.PSA_KEY_LIFETIME_VOLATILE, k)
        assert C.psa_export_key(k) == b"k" * 20
        k2 = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 160, C.PSA_KEY_USAGE_SIGN_MESSAGE, HMAC256),
                              b"q" * 20)
        assert k2 != k
        assert cf.status_of(C.psa_export_key, k2) == psa.PSA_ERROR_NOT_PERMITTED
        C.psa_destroy_key(k)
        assert cf.status_of(C.psa_export_key, k) == psa.PSA_ERROR_INVALID_HANDLE
        assert cf.status_of(C.psa_get_key_attributes, k) == psa.PSA_ERROR_INVALID_HANDLE
        assert cf.status_of(C.psa_destroy_key, k) == psa.PSA_ERROR_INVALID_HANDLE
        C.psa_destroy_key(C.PSA_KEY_ID_NULL)  # a no-op, as PSA says
        g = C.psa_generate_key(cf.aes_attrs(C.PSA_ALG_CCM, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_EXPORT))
        assert len(C.psa_export_key(g)) == 16 and C.psa_get_key_attributes(g).bits == 128
    finally:
        cf.stop(root)


def test_import_rejects_bad_attributes():
    root = cf.start()
    try:
        bad = (
            (cf.aes_attrs(C.PSA_ALG_CCM, bits=0), bytes(15), psa.PSA_ERROR_INVALID_ARGUMENT),
            (cf.aes_attrs(C.PSA_ALG_CCM, bits=0), bytes(24), psa.PSA_ERROR_NOT_SUPPORTED),
            (cf.aes_attrs(C.PSA_ALG_CCM, bits=256), bytes(16), psa.PSA_ERROR_INVALID_ARGUMENT),
            (C.KeyAttributes(0x7001, 0, 0, 0), bytes(16), psa.PSA_ERROR_NOT_SUPPORTED),
            (C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, 0, 0), b"", psa.PSA_ERROR_INVALID_ARGUMENT),
            (C.KeyAttributes(C.PSA_KEY_TYPE_RAW_DATA, 0, 0, 0), bytes(C.MAX_KEY_BYTES + 1),
             psa.PSA_ERROR_NOT_SUPPORTED),
            (cf.aes_attrs(C.PSA_ALG_CCM, id=5), bytes(16), psa.PSA_ERROR_INVALID_ARGUMENT),  # volatile + id
            (cf.aes_attrs(C.PSA_ALG_CCM, lifetime=C.PSA_KEY_LIFETIME_PERSISTENT, id=0), bytes(16),
             psa.PSA_ERROR_INVALID_ARGUMENT),
            (cf.aes_attrs(C.PSA_ALG_CCM, lifetime=C.PSA_KEY_LIFETIME_PERSISTENT, id=C.KEY_ID_PSK), bytes(16),
             psa.PSA_ERROR_INVALID_ARGUMENT),  # vendor range: factory only
            (cf.aes_attrs(C.PSA_ALG_CCM, lifetime=0x0180, id=7), bytes(16), psa.PSA_ERROR_NOT_SUPPORTED),
        )
        for attrs, data, want in bad:
            assert cf.status_of(C.psa_import_key, attrs, data) == want, (attrs, len(data), want)
        assert cf.status_of(C.psa_generate_key, cf.aes_attrs(C.PSA_ALG_CCM, bits=0)) == psa.PSA_ERROR_INVALID_ARGUMENT
    finally:
        cf.stop(root)


def test_persistent_keys_survive_a_restart_volatile_ones_do_not():
    root = cf.start()
    try:
        a = cf.aes_attrs(C.PSA_ALG_GCM, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_EXPORT,
                         lifetime=C.PSA_KEY_LIFETIME_PERSISTENT, id=7)
        assert C.psa_import_key(a, b"P" * 16) == 7
        assert cf.status_of(C.psa_import_key, a, b"Q" * 16) == psa.PSA_ERROR_ALREADY_EXISTS
        v = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_GCM), b"V" * 16)
        cf.start(root)  # reboot of the secure world, same flash
        assert C.psa_export_key(7) == b"P" * 16
        assert C.psa_get_key_attributes(7).lifetime == C.PSA_KEY_LIFETIME_PERSISTENT
        assert cf.status_of(C.psa_get_key_attributes, v) == psa.PSA_ERROR_INVALID_HANDLE
        C.psa_destroy_key(7)
        assert cf.status_of(C.psa_export_key, 7) == psa.PSA_ERROR_INVALID_HANDLE
        assert C.psa_import_key(a, b"R" * 16) == 7  # the id is free again
    finally:
        cf.stop(root)


def test_key_policy_ns_cannot_export_psk_or_use_iak():
    root = cf.start()
    try:
        crypto_partition.provision_psk(PSK)
        crypto_partition.provision_iak(IAK)
        # NS: PSK export refused, IAK use refused (CVE-2021-40327 class), provisioned keys read-only
        assert cf.status_of(C.psa_export_key, C.KEY_ID_PSK) == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.status_of(C.psa_export_key, C.KEY_ID_IAK) == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.status_of(C.psa_mac_compute, C.KEY_ID_IAK, HMAC256, b"data") == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.status_of(C.psa_mac_verify, C.KEY_ID_IAK, HMAC256, b"data", bytes(32)) == (
            psa.PSA_ERROR_NOT_PERMITTED)
        assert cf.status_of(C.psa_get_key_attributes, C.KEY_ID_IAK) == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.status_of(C.psa_destroy_key, C.KEY_ID_IAK) == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.status_of(C.psa_destroy_key, C.KEY_ID_PSK) == psa.PSA_ERROR_NOT_PERMITTED
        psk = C.psa_get_key_attributes(C.KEY_ID_PSK)  # NS owns the PSK: it may see its attributes
        assert psk.usage == C.PSA_KEY_USAGE_DERIVE and psk.type == C.PSA_KEY_TYPE_DERIVE
        # the owner of the IAK (pid 261) can MAC with it, but not export it; it cannot use the PSK
        st, mac = cf.standin_call(cf.MAC, C.KEY_ID_IAK, b"data")
        assert st == psa.PSA_SUCCESS and mac == hmac_sha256(IAK, b"data")
        assert cf.standin_call(cf.EXPORT, C.KEY_ID_IAK)[0] == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.standin_call(cf.EXPORT, C.KEY_ID_PSK)[0] == psa.PSA_ERROR_NOT_PERMITTED
        # a volatile key of NS is just as invisible to the stand-in
        k = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_SIGN_MESSAGE, HMAC256), b"n" * 32)
        assert cf.standin_call(cf.MAC, k, b"data")[0] == psa.PSA_ERROR_NOT_PERMITTED
        # the key store survives a restart with its owners
        cf.start(root)
        assert cf.status_of(C.psa_mac_compute, C.KEY_ID_IAK, HMAC256, b"data") == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.standin_call(cf.MAC, C.KEY_ID_IAK, b"data")[1] == hmac_sha256(IAK, b"data")
    finally:
        cf.stop(root)


def test_usage_flags_and_permitted_algorithm_are_enforced():
    root = cf.start()
    try:
        enc_only = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_CCM, C.PSA_KEY_USAGE_ENCRYPT), bytes(16))
        sealed = C.psa_aead_encrypt(enc_only, C.PSA_ALG_CCM, bytes(12), b"", b"x")
        assert cf.status_of(C.psa_aead_decrypt, enc_only, C.PSA_ALG_CCM, bytes(12), b"", sealed) == (
            psa.PSA_ERROR_NOT_PERMITTED)
        assert cf.status_of(C.psa_aead_encrypt, enc_only, C.PSA_ALG_GCM, bytes(12), b"", b"x") == (
            psa.PSA_ERROR_NOT_PERMITTED)
        ccm8 = C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_CCM, 8)
        assert cf.status_of(C.psa_aead_encrypt, enc_only, ccm8, bytes(12), b"", b"x") == psa.PSA_ERROR_NOT_PERMITTED
        hk = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_VERIFY_MESSAGE, HMAC256), b"h" * 32)
        assert cf.status_of(C.psa_mac_compute, hk, HMAC256, b"m") == psa.PSA_ERROR_NOT_PERMITTED
        C.psa_mac_verify(hk, HMAC256, b"m", hmac_sha256(b"h" * 32, b"m"))
        # an AES key offered for a MAC, an HMAC key for AEAD
        aes_mac = C.psa_import_key(cf.aes_attrs(HMAC256, C.PSA_KEY_USAGE_SIGN_MESSAGE), bytes(16))
        assert cf.status_of(C.psa_mac_compute, aes_mac, HMAC256, b"m") == psa.PSA_ERROR_INVALID_ARGUMENT
    finally:
        cf.stop(root)


def test_corrupt_persistent_key_reads_as_data_corrupt():
    root = cf.start()
    try:
        a = C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_SIGN_MESSAGE, HMAC256,
                            C.PSA_KEY_LIFETIME_PERSISTENT, 9)
        C.psa_import_key(a, b"z" * 32)
        C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 0, C.PSA_KEY_USAGE_SIGN_MESSAGE, HMAC256,
                                         C.PSA_KEY_LIFETIME_PERSISTENT, 10), b"y" * 32)
        path = its_partition.asset_path(259, keystore.KEY_UID_BASE + 9)
        with open(path, "rb") as f:
            raw = bytearray(f.read())
        raw[len(raw) // 2] ^= 0x40
        with open(path, "wb") as f:
            f.write(raw)
        assert cf.status_of(C.psa_mac_compute, 9, HMAC256, b"m") == psa.PSA_ERROR_DATA_CORRUPT
        assert C.psa_mac_compute(10, HMAC256, b"m") == hmac_sha256(b"y" * 32, b"m")  # the others are fine
        assert cf.status_of(C.psa_import_key, a, b"w" * 32) == psa.PSA_ERROR_ALREADY_EXISTS
        os.stat(path)
    finally:
        cf.stop(root)


def test_resource_limits():
    root = cf.start()
    try:
        a = cf.aes_attrs(C.PSA_ALG_CCM)
        keys = [C.psa_import_key(a, bytes(16)) for _ in range(keystore.MAX_VOLATILE)]
        assert len(set(keys)) == keystore.MAX_VOLATILE
        assert cf.status_of(C.psa_import_key, a, bytes(16)) == psa.PSA_ERROR_INSUFFICIENT_MEMORY
        C.psa_destroy_key(keys[3])
        C.psa_import_key(a, bytes(16))
        from device.partitions.crypto import service

        ops = [C.psa_hash_setup(C.PSA_ALG_SHA_256) for _ in range(service.MAX_OPERATIONS)]
        assert cf.status_of(C.psa_hash_setup, C.PSA_ALG_SHA_256) == psa.PSA_ERROR_INSUFFICIENT_MEMORY
        C.psa_hash_abort(ops[0])
        C.psa_hash_setup(C.PSA_ALG_SHA_256)
    finally:
        cf.stop(root)


def test_wire_format_errors_are_statuses_not_exceptions():
    root = cf.start()
    try:
        h = C.TFM_CRYPTO_HANDLE
        out = psa.psa_outvec(32)
        assert psa.psa_call(h, psa.PSA_IPC_CALL, (b"\x01\x02\x03",), (out,)) == psa.PSA_ERROR_PROGRAMMER_ERROR
        assert psa.psa_call(h, psa.PSA_IPC_CALL, (), (out,)) == psa.PSA_ERROR_PROGRAMMER_ERROR
        hdr = bytes(C.HEADER_SIZE)  # function id 0
        assert psa.psa_call(h, psa.PSA_IPC_CALL, (hdr,), (out,)) == psa.PSA_ERROR_NOT_SUPPORTED
        imp = (C.TFM_CRYPTO_IMPORT_KEY).to_bytes(2, "little") + bytes(14)
        assert psa.psa_call(h, psa.PSA_IPC_CALL, (imp, b"short", bytes(16)), (out,)) == psa.PSA_ERROR_INVALID_ARGUMENT
        # a too-small out-vector: BUFFER_TOO_SMALL, nothing written
        k = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_CCM, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_EXPORT), bytes(16))
        exp = C.TFM_CRYPTO_EXPORT_KEY.to_bytes(2, "little") + bytes(2) + k.to_bytes(4, "little") + bytes(8)
        small = psa.psa_outvec(8)
        assert psa.psa_call(h, psa.PSA_IPC_CALL, (exp,), (small,)) == psa.PSA_ERROR_BUFFER_TOO_SMALL
        assert small.len == 0
        assert spm.get().faults == []
    finally:
        cf.stop(root)
