"""The crypto partition (TF-M's TFM_SP_CRYPTO, pid 259): service TFM_CRYPTO, SID 0x80, stateless
handle index 1, version 1 STRICT. Symmetric only, as TF-M Profile Small: AES-128/256 (CCM with 16-
or 8-byte tags, GCM, CBC without padding), SHA-256, HMAC-SHA256, TLS12_PRF and TLS12_PSK_TO_MS.

Non-secure code reaches it only through device.psa.crypto (one psa_call per PSA function). The
pieces: aes (backends cryptolib / aesio / pure), ccm, gcm, hmac_sha256, tls12 (the primitives),
keystore (keys, owners, ITS persistence), service (the wire format and policy checks).

Factory provisioning (S side; used by `sensorkit provision` and tests):

    from device.partitions import crypto
    crypto.provision_key(crypto.KEY_ID_PSK, crypto.PSA_KEY_TYPE_DERIVE, 0, crypto.PSA_KEY_USAGE_DERIVE,
                         crypto.PSA_ALG_TLS12_PSK_TO_MS(crypto.PSA_ALG_SHA_256), psk, owner=-1)
    crypto.provision_psk(psk)     # the same, with the well-known attributes
    crypto.provision_iak(iak)     # HMAC-SHA256 key of the attestation partition (pid 261)
"""

from device.psa import crypto as _C
from device.psa.crypto import (  # noqa: F401  (re-exported for provisioning code)
    KEY_ID_PSK,
    KEY_ID_IAK,
    PSA_KEY_TYPE_AES,
    PSA_KEY_TYPE_HMAC,
    PSA_KEY_TYPE_DERIVE,
    PSA_KEY_TYPE_RAW_DATA,
    PSA_KEY_USAGE_DERIVE,
    PSA_KEY_USAGE_SIGN_MESSAGE,
    PSA_KEY_USAGE_VERIFY_MESSAGE,
    PSA_KEY_USAGE_EXPORT,
    PSA_ALG_SHA_256,
    PSA_ALG_HMAC,
    PSA_ALG_TLS12_PSK_TO_MS,
)

PID = 259
ATTEST_PID = 261
NS_CLIENT_ID = -1

MANIFEST = {
    "name": "TFM_SP_CRYPTO",
    "pid": PID,
    "type": "PSA-ROT",
    "priority": "NORMAL",
    "model": "SFN",
    "services": [
        {
            "name": "TFM_CRYPTO",
            "sid": _C.TFM_CRYPTO_SID,
            "non_secure_clients": True,
            "version": _C.TFM_CRYPTO_VERSION,
            "version_policy": "STRICT",
            "connection_based": False,
            "stateless_handle": 1,
        }
    ],
    "dependencies": ["TFM_INTERNAL_TRUSTED_STORAGE_SERVICE"],
}


def init(config):
    """A fresh secure world: no volatile keys, no operations in flight."""
    from device.partitions.crypto import keystore, service

    keystore.reset()
    service.reset()


# The service function is service.dispatch itself: the SPM calls it with no Python layer in between (one
# call per psa_call less on the record path). init() imports service at every boot anyway, so importing it
# here costs nothing a running secure world does not load.
from device.partitions.crypto.service import dispatch as tfm_crypto_sfn  # noqa: E402


def provision_key(key_id, key_type, bits, usage, alg, data, owner):
    """Write a persistent key into the crypto partition's ITS namespace (factory provisioning).

    Runs as the crypto partition inside the running SPM (device.psa.spm.get(); on the host shim,
    call it inside the secure world). key_id is a persistent id (user or vendor range, e.g.
    KEY_ID_PSK / KEY_ID_IAK); an existing key with that id is replaced. owner is the client id
    allowed to use the key (-1 for NS, 261 for the attestation partition). Raises PSAError.
    """
    from device.psa import spm
    from device.partitions.crypto import keystore

    attrs = _C.KeyAttributes(key_type, bits, usage, alg, _C.PSA_KEY_LIFETIME_PERSISTENT, key_id)
    return spm.get().run_as(PID, keystore.create, attrs, data, owner, True)


def provision_psk(psk, key_id=KEY_ID_PSK, owner=NS_CLIENT_ID):
    """The TLS PSK: DERIVE key for TLS12_PSK_TO_MS(SHA-256), usable (never exportable) by NS."""
    return provision_key(key_id, PSA_KEY_TYPE_DERIVE, 8 * len(psk), PSA_KEY_USAGE_DERIVE,
                         PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_256), psk, owner)


def provision_iak(iak, key_id=KEY_ID_IAK, owner=ATTEST_PID):
    """The Initial Attestation Key: HMAC-SHA256, usable only by the attestation partition."""
    return provision_key(key_id, PSA_KEY_TYPE_HMAC, 8 * len(iak),
                         PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE,
                         PSA_ALG_HMAC(PSA_ALG_SHA_256), iak, owner)
