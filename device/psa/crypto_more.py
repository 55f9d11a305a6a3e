"""The rest of the PSA Crypto API's non-secure wrappers: hash, MAC, cipher, key export / generation /
attributes, random, and the constants a TLS connection does not use.

Use them through device.psa.crypto (``crypto.psa_hash_compute``, ``crypto.KEY_ID_PSK``): that module
loads this one on the first lookup of a name it does not hold itself (see its ``__getattr__``), so a
TLS client that never hashes or exports keeps this code out of its heap. Same wire format (docs/crypto.md). device.psa.crypto keeps private copies of the constants it uses itself;
their public names (and the PSA_ALG_* macros) are here, so that the TLS path's module holds few names.
"""

from device.compat import const
from device.psa.crypto import (
    HEADER_FORMAT,
    KeyAttributes,
    PSA_ALG_AEAD_TAG_LENGTH_MASK,
    PSA_AEAD_TAG_LENGTH_OFFSET,
    TFM_CRYPTO_HANDLE,
    _got,
    _out,
    _pack,
    _psa,
    _psa_call,
    _u32,
)

# --- algorithms (psa_algorithm_t) ---------------------------------------------------------------
PSA_ALG_NONE = const(0)
PSA_ALG_HMAC_BASE = const(0x03800000)
PSA_ALG_TLS12_PRF_BASE = const(0x08000200)
PSA_ALG_TLS12_PSK_TO_MS_BASE = const(0x08000300)
PSA_ALG_HASH_MASK = const(0x000000FF)
PSA_ALG_SHA_256 = const(0x02000009)
PSA_ALG_CBC_NO_PADDING = const(0x04404000)
PSA_ALG_CCM = const(0x05500100)
PSA_ALG_GCM = const(0x05500200)


def PSA_ALG_HMAC(hash_alg):
    return PSA_ALG_HMAC_BASE | (hash_alg & PSA_ALG_HASH_MASK)


def PSA_ALG_TLS12_PRF(hash_alg):
    return PSA_ALG_TLS12_PRF_BASE | (hash_alg & PSA_ALG_HASH_MASK)


def PSA_ALG_TLS12_PSK_TO_MS(hash_alg):
    return PSA_ALG_TLS12_PSK_TO_MS_BASE | (hash_alg & PSA_ALG_HASH_MASK)


def PSA_ALG_AEAD_WITH_SHORTENED_TAG(aead_alg, tag_length):
    return (aead_alg & ~PSA_ALG_AEAD_TAG_LENGTH_MASK) | ((tag_length & 0x3F) << PSA_AEAD_TAG_LENGTH_OFFSET)


def PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(aead_alg):
    return PSA_ALG_AEAD_WITH_SHORTENED_TAG(aead_alg, 16)


def PSA_AEAD_TAG_LENGTH(alg):
    return (alg & PSA_ALG_AEAD_TAG_LENGTH_MASK) >> PSA_AEAD_TAG_LENGTH_OFFSET


# --- key types, usage flags, lifetimes, key ids --------------------------------------------------
PSA_KEY_TYPE_NONE = const(0x0000)
PSA_KEY_TYPE_RAW_DATA = const(0x1001)
PSA_KEY_TYPE_HMAC = const(0x1100)
PSA_KEY_TYPE_DERIVE = const(0x1200)
PSA_KEY_TYPE_AES = const(0x2400)

PSA_KEY_USAGE_EXPORT = const(0x00000001)
PSA_KEY_USAGE_COPY = const(0x00000002)
PSA_KEY_USAGE_SIGN_MESSAGE = const(0x00000400)
PSA_KEY_USAGE_VERIFY_MESSAGE = const(0x00000800)
PSA_KEY_USAGE_SIGN_HASH = const(0x00001000)
PSA_KEY_USAGE_VERIFY_HASH = const(0x00002000)
PSA_KEY_USAGE_ENCRYPT = const(0x00000100)
PSA_KEY_USAGE_DECRYPT = const(0x00000200)
PSA_KEY_USAGE_DERIVE = const(0x00004000)

PSA_KEY_LIFETIME_VOLATILE = const(0x00000000)
PSA_KEY_LIFETIME_PERSISTENT = const(0x00000001)

PSA_KEY_ID_NULL = const(0)
PSA_KEY_ID_USER_MIN = const(0x00000001)
PSA_KEY_ID_USER_MAX = const(0x3FFFFFFF)
PSA_KEY_ID_VENDOR_MIN = const(0x40000000)
PSA_KEY_ID_VENDOR_MAX = const(0x7FFFFFFF)
PSA_KEY_ID_VOLATILE_MIN = const(0x7FFFC000)  # volatile keys get ids from here (vendor range top)

# Well-known persistent keys, provisioned at the factory (device.partitions.crypto.provision_key)
KEY_ID_PSK = const(0x40000001)  # TLS PSK: owner NS (-1), type DERIVE, usage DERIVE, TLS12_PSK_TO_MS(SHA-256)
KEY_ID_IAK = const(0x40000002)  # attestation key: owner pid 261, type HMAC, SIGN/VERIFY_MESSAGE, HMAC(SHA-256)

# --- key derivation steps --------------------------------------------------------------------------
PSA_KEY_DERIVATION_INPUT_SECRET = const(0x0101)
PSA_KEY_DERIVATION_INPUT_LABEL = const(0x0201)
PSA_KEY_DERIVATION_INPUT_SEED = const(0x0204)
PSA_KEY_DERIVATION_INPUT_OTHER_SECRET = const(0x0103)
PSA_KEY_DERIVATION_INPUT_SALT = const(0x0202)
PSA_KEY_DERIVATION_INPUT_INFO = const(0x0203)

# --- sizes -----------------------------------------------------------------------------------------
PSA_HASH_LENGTH_SHA_256 = const(32)
PSA_MAC_MAX_SIZE = const(32)
PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE = const(16)
PSA_CIPHER_IV_LENGTH_AES = const(16)
MAX_KEY_BYTES = const(128)  # largest key the store holds (and psa_export_key's buffer)

# --- the service and its wire format ---------------------------------------------------------------
TFM_CRYPTO_SID = const(0x80)
TFM_CRYPTO_VERSION = const(1)

TFM_CRYPTO_IMPORT_KEY = const(0x0101)
TFM_CRYPTO_DESTROY_KEY = const(0x0102)
TFM_CRYPTO_GET_KEY_ATTRIBUTES = const(0x0103)
TFM_CRYPTO_EXPORT_KEY = const(0x0104)
TFM_CRYPTO_GENERATE_KEY = const(0x0105)
TFM_CRYPTO_GENERATE_RANDOM = const(0x0200)
TFM_CRYPTO_HASH_COMPUTE = const(0x0301)
TFM_CRYPTO_HASH_SETUP = const(0x0302)
TFM_CRYPTO_HASH_UPDATE = const(0x0303)
TFM_CRYPTO_HASH_FINISH = const(0x0304)
TFM_CRYPTO_HASH_ABORT = const(0x0305)
TFM_CRYPTO_MAC_COMPUTE = const(0x0401)
TFM_CRYPTO_MAC_VERIFY = const(0x0402)
TFM_CRYPTO_CIPHER_ENCRYPT = const(0x0601)
TFM_CRYPTO_CIPHER_DECRYPT = const(0x0602)
TFM_CRYPTO_KEY_DERIVATION_SETUP = const(0x0701)
TFM_CRYPTO_KEY_DERIVATION_INPUT_BYTES = const(0x0702)
TFM_CRYPTO_KEY_DERIVATION_INPUT_KEY = const(0x0703)
TFM_CRYPTO_KEY_DERIVATION_OUTPUT_BYTES = const(0x0704)
TFM_CRYPTO_KEY_DERIVATION_OUTPUT_KEY = const(0x0705)
TFM_CRYPTO_KEY_DERIVATION_ABORT = const(0x0706)

HEADER_SIZE = const(16)
ATTRIBUTES_FORMAT = "<HHIIII"  # type, bits, usage, alg, lifetime, id
ATTRIBUTES_SIZE = const(20)

psa_key_attributes_t = KeyAttributes


def _call(func, in_vecs=(), out_vecs=(), key=0, alg=0, op=0, step=0):
    hdr = _pack(HEADER_FORMAT, func, step, key & 0xFFFFFFFF, alg & 0xFFFFFFFF, op)
    status = _psa_call(TFM_CRYPTO_HANDLE, 0, (hdr,) + in_vecs if in_vecs else (hdr,), out_vecs)  # (tuples)
    if status:  # PSA_SUCCESS is 0
        raise _psa.PSAError(status)


# --- key management --------------------------------------------------------------------------------
def psa_generate_key(attributes):
    """Generate a random key of attributes.bits; returns its key id."""
    o = _out(4)
    _call(TFM_CRYPTO_GENERATE_KEY, (attributes.pack(),), (o,))
    return _u32(o)


def psa_get_key_attributes(key):
    o = _out(ATTRIBUTES_SIZE)
    _call(TFM_CRYPTO_GET_KEY_ATTRIBUTES, (), (o,), key=key)
    return KeyAttributes.unpack(_got(o))


def psa_export_key(key):
    """The key bytes; PSAError(NOT_PERMITTED) unless the key has PSA_KEY_USAGE_EXPORT."""
    o = _out(MAX_KEY_BYTES)
    _call(TFM_CRYPTO_EXPORT_KEY, (), (o,), key=key)
    return _got(o)


def psa_generate_random(n):
    if n < 0:
        raise ValueError("negative length")
    if n == 0:
        return b""
    o = _out(n)
    _call(TFM_CRYPTO_GENERATE_RANDOM, (), (o,))
    return _got(o)


# --- hash ------------------------------------------------------------------------------------------
class HashOperation:
    """psa_hash_operation_t: a handle to a hash in progress inside the partition."""

    def __init__(self, handle, alg):
        self.handle = handle
        self.alg = alg


def psa_hash_compute(alg, data):
    o = _out(PSA_HASH_LENGTH_SHA_256)
    _call(TFM_CRYPTO_HASH_COMPUTE, (data,), (o,), alg=alg)
    return _got(o)


def psa_hash_setup(alg):
    o = _out(4)
    _call(TFM_CRYPTO_HASH_SETUP, (), (o,), alg=alg)
    return HashOperation(_u32(o), alg)


def psa_hash_update(operation, data):
    _call(TFM_CRYPTO_HASH_UPDATE, (data,), op=operation.handle)


def psa_hash_finish(operation):
    o = _out(PSA_HASH_LENGTH_SHA_256)
    try:
        _call(TFM_CRYPTO_HASH_FINISH, (), (o,), op=operation.handle)
    finally:
        operation.handle = 0
    return _got(o)


def psa_hash_abort(operation):
    if operation.handle:
        h, operation.handle = operation.handle, 0
        _call(TFM_CRYPTO_HASH_ABORT, op=h)


# --- MAC -------------------------------------------------------------------------------------------
def psa_mac_compute(key, alg, data):
    o = _out(PSA_MAC_MAX_SIZE)
    _call(TFM_CRYPTO_MAC_COMPUTE, (data,), (o,), key=key, alg=alg)
    return _got(o)


def psa_mac_verify(key, alg, data, mac):
    """Returns None; PSAError(PSA_ERROR_INVALID_SIGNATURE) when `mac` does not match (constant time)."""
    _call(TFM_CRYPTO_MAC_VERIFY, (data, mac), key=key, alg=alg)


# --- unauthenticated cipher (AES-CBC without padding) ----------------------------------------------
def psa_cipher_encrypt(key, alg, input):
    """iv || ciphertext, the IV generated inside the partition."""
    o = _out(len(input) + PSA_CIPHER_IV_LENGTH_AES)
    _call(TFM_CRYPTO_CIPHER_ENCRYPT, (input,), (o,), key=key, alg=alg)
    return _got(o)


def psa_cipher_decrypt(key, alg, input):
    """Plaintext of iv || ciphertext."""
    o = _out(max(len(input), 1))
    _call(TFM_CRYPTO_CIPHER_DECRYPT, (input,), (o,), key=key, alg=alg)
    return _got(o)
