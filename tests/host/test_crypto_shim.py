"""The crypto partition behind the host shim: the secure world in a child process, keys provisioned there,
the NS side using the very same device.psa.crypto wrappers across the process boundary."""

import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from device import psa
from device.psa import crypto as C
from psa_shim import SecureWorld
from tests.device import crypto_fixtures as cf

HMAC256 = C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)
PARTITIONS = ["its", "crypto", "tests.device.crypto_fixtures:AttestStandIn"]


def test_key_policy_and_aead_across_the_process_boundary():
    psk = bytes(range(32))
    iak = bytes(range(64, 96))
    with SecureWorld(partitions=PARTITIONS) as sw:
        sw.secure_exec("device.partitions.crypto:provision_psk", psk)
        sw.secure_exec("device.partitions.crypto:provision_iak", iak)
        assert cf.status_of(C.psa_export_key, C.KEY_ID_PSK) == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.status_of(C.psa_mac_compute, C.KEY_ID_IAK, HMAC256, b"m") == psa.PSA_ERROR_NOT_PERMITTED
        st, mac = cf.standin_call(cf.MAC, C.KEY_ID_IAK, b"m")  # pid 261, inside the child
        assert st == psa.PSA_SUCCESS and mac == hmac.new(iak, b"m", hashlib.sha256).digest()
        # master secret and a session key derived inside; NS gets ids only
        op = C.psa_key_derivation_setup(C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256))
        C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SEED, b"r" * 64)
        C.psa_key_derivation_input_key(op, C.PSA_KEY_DERIVATION_INPUT_SECRET, C.KEY_ID_PSK)
        C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_LABEL, b"master secret")
        ms = C.psa_key_derivation_output_key(
            C.KeyAttributes(C.PSA_KEY_TYPE_DERIVE, 384, C.PSA_KEY_USAGE_DERIVE, C.PSA_ALG_TLS12_PRF(C.PSA_ALG_SHA_256)),
            op)
        C.psa_key_derivation_abort(op)
        assert cf.status_of(C.psa_export_key, ms) == psa.PSA_ERROR_NOT_PERMITTED
        # a key NS imported itself works across the boundary like in-process
        k = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_CCM), bytes(16))
        sealed = C.psa_aead_encrypt(k, C.PSA_ALG_CCM, bytes(12), b"hdr", b"payload")
        assert sealed == AESCCM(bytes(16)).encrypt(bytes(12), b"payload", b"hdr")
        assert C.psa_aead_decrypt(k, C.PSA_ALG_CCM, bytes(12), b"hdr", sealed) == b"payload"
        # the call log records sizes and statuses, never contents
        calls = [e for e in sw.log if e.get("op") == "call"]
        assert calls and all(e["handle"] in (C.TFM_CRYPTO_HANDLE, cf.STANDIN_HANDLE) for e in calls)
        assert psk not in repr(sw.log).encode() and iak not in repr(sw.log).encode()
        # persistent keys survive a restart of the secure world; volatile ones do not
        sw.kill()
        sw.restart()
        assert cf.status_of(C.psa_get_key_attributes, k) == psa.PSA_ERROR_INVALID_HANDLE
        assert C.psa_get_key_attributes(C.KEY_ID_PSK).usage == C.PSA_KEY_USAGE_DERIVE
