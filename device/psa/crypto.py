"""PSA Crypto API 1.1 for non-secure callers: thin wrappers, one ``psa_call`` each to the crypto
service (SID 0x80, TF-M's TFM_CRYPTO, stateless handle index 1), in the style of TF-M's
interface/src/tfm_crypto_api.c. Every wrapper raises ``PSAError`` carrying the PSA status on failure.

    from device.psa import crypto
    attrs = crypto.KeyAttributes(type=crypto.PSA_KEY_TYPE_AES, bits=128,
                                 usage=crypto.PSA_KEY_USAGE_ENCRYPT | crypto.PSA_KEY_USAGE_DECRYPT,
                                 alg=crypto.PSA_ALG_CCM)
    key = crypto.psa_import_key(attrs, key_bytes)
    sealed = crypto.psa_aead_encrypt(key, crypto.PSA_ALG_CCM, nonce, aad, plaintext)

Keys live in the crypto partition; NS code holds only key ids. The wire format (a 16-byte packed
header in in_vec[0], data in further in-vectors, results in out-vectors) is documented in
docs/crypto.md; the constant values are PSA Certified Crypto API 1.1's.
"""

import struct

from device.compat import const
from device import psa as _psa

_psa_call = _psa.psa_call  # (the backend is chosen inside psa_call, so binding it is safe)

# --- algorithms (psa_algorithm_t) ---------------------------------------------------------------
PSA_ALG_NONE = const(0)
PSA_ALG_SHA_256 = const(0x02000009)
PSA_ALG_HMAC_BASE = const(0x03800000)
PSA_ALG_CBC_NO_PADDING = const(0x04404000)
PSA_ALG_CCM = const(0x05500100)
PSA_ALG_GCM = const(0x05500200)
PSA_ALG_TLS12_PRF_BASE = const(0x08000200)
PSA_ALG_TLS12_PSK_TO_MS_BASE = const(0x08000300)
PSA_ALG_HASH_MASK = const(0x000000FF)
PSA_ALG_AEAD_TAG_LENGTH_MASK = const(0x003F0000)
PSA_AEAD_TAG_LENGTH_OFFSET = const(16)


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
PSA_KEY_USAGE_ENCRYPT = const(0x00000100)
PSA_KEY_USAGE_DECRYPT = const(0x00000200)
PSA_KEY_USAGE_SIGN_MESSAGE = const(0x00000400)
PSA_KEY_USAGE_VERIFY_MESSAGE = const(0x00000800)
PSA_KEY_USAGE_SIGN_HASH = const(0x00001000)
PSA_KEY_USAGE_VERIFY_HASH = const(0x00002000)
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
PSA_KEY_DERIVATION_INPUT_OTHER_SECRET = const(0x0103)
PSA_KEY_DERIVATION_INPUT_LABEL = const(0x0201)
PSA_KEY_DERIVATION_INPUT_SALT = const(0x0202)
PSA_KEY_DERIVATION_INPUT_INFO = const(0x0203)
PSA_KEY_DERIVATION_INPUT_SEED = const(0x0204)

# --- sizes -----------------------------------------------------------------------------------------
PSA_HASH_LENGTH_SHA_256 = const(32)
PSA_MAC_MAX_SIZE = const(32)
PSA_AEAD_TAG_MAX_SIZE = const(16)
PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE = const(16)
PSA_CIPHER_IV_LENGTH_AES = const(16)
MAX_KEY_BYTES = const(128)  # largest key the store holds (and psa_export_key's buffer)

# --- the service and its wire format ---------------------------------------------------------------
TFM_CRYPTO_SID = const(0x80)
TFM_CRYPTO_VERSION = const(1)
TFM_CRYPTO_HANDLE = const(0x40000100)  # stateless handle: (1 << 30) | (version << 8) | (index 1 - 1)

# function ids carried in the header (TF-M calls them TFM_CRYPTO_*_SID)
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
TFM_CRYPTO_AEAD_ENCRYPT = const(0x0501)
TFM_CRYPTO_AEAD_DECRYPT = const(0x0502)
TFM_CRYPTO_CIPHER_ENCRYPT = const(0x0601)
TFM_CRYPTO_CIPHER_DECRYPT = const(0x0602)
TFM_CRYPTO_KEY_DERIVATION_SETUP = const(0x0701)
TFM_CRYPTO_KEY_DERIVATION_INPUT_BYTES = const(0x0702)
TFM_CRYPTO_KEY_DERIVATION_INPUT_KEY = const(0x0703)
TFM_CRYPTO_KEY_DERIVATION_OUTPUT_BYTES = const(0x0704)
TFM_CRYPTO_KEY_DERIVATION_OUTPUT_KEY = const(0x0705)
TFM_CRYPTO_KEY_DERIVATION_ABORT = const(0x0706)

HEADER_FORMAT = "<HHIII"  # function id, step/nonce length, key id, alg, operation handle
HEADER_SIZE = const(16)
ATTRIBUTES_FORMAT = "<HHIIII"  # type, bits, usage, alg, lifetime, id
ATTRIBUTES_SIZE = const(20)


class KeyAttributes:
    """psa_key_attributes_t: type, bits, usage, alg, lifetime, id (0 = volatile, id chosen by the store)."""

    def __init__(self, type=PSA_KEY_TYPE_NONE, bits=0, usage=0, alg=PSA_ALG_NONE,
                 lifetime=PSA_KEY_LIFETIME_VOLATILE, id=PSA_KEY_ID_NULL):
        self.type = type
        self.bits = bits
        self.usage = usage
        self.alg = alg
        self.lifetime = lifetime
        self.id = id

    def pack(self):
        return _pack(ATTRIBUTES_FORMAT, self.type, self.bits, self.usage, self.alg, self.lifetime, self.id)

    @classmethod
    def unpack(cls, data):
        if len(data) != ATTRIBUTES_SIZE:
            raise ValueError("key attributes must be %d bytes" % ATTRIBUTES_SIZE)
        t, b, u, a, l, i = struct.unpack(ATTRIBUTES_FORMAT, data)
        return cls(t, b, u, a, l, i)

    def __eq__(self, other):
        return isinstance(other, KeyAttributes) and self.pack() == other.pack()

    def __repr__(self):
        return "KeyAttributes(type=0x%04x, bits=%d, usage=0x%x, alg=0x%08x, lifetime=%d, id=0x%x)" % (
            self.type, self.bits, self.usage, self.alg, self.lifetime, self.id)


psa_key_attributes_t = KeyAttributes


_pack = struct.pack


def _call(func, in_vecs=(), out_vecs=(), key=0, alg=0, op=0, step=0):
    # (the handshake's wrappers call this with positional arguments: keyword calls cost more on MicroPython)
    hdr = _pack(HEADER_FORMAT, func, step, key & 0xFFFFFFFF, alg & 0xFFFFFFFF, op)
    status = _psa_call(TFM_CRYPTO_HANDLE, 0, (hdr,) + tuple(in_vecs) if in_vecs else (hdr,), out_vecs)
    if status:  # PSA_SUCCESS is 0
        raise _psa.PSAError(status)


def _out(n):
    return _psa.psa_outvec(bytearray(n), n)


def _got(out):
    return bytes(out.base[: out.len])


def _u32(out):
    if out.len != 4:
        raise _psa.PSAError(_psa.PSA_ERROR_COMMUNICATION_FAILURE)
    return int.from_bytes(out.base, "little")


# --- key management --------------------------------------------------------------------------------
def psa_import_key(attributes, data):
    """Import `data` as a key; returns its key id."""
    o = _out(4)
    _call(TFM_CRYPTO_IMPORT_KEY, (attributes.pack(), data), (o,))
    return _u32(o)


def psa_generate_key(attributes):
    """Generate a random key of attributes.bits; returns its key id."""
    o = _out(4)
    _call(TFM_CRYPTO_GENERATE_KEY, (attributes.pack(),), (o,))
    return _u32(o)


def psa_destroy_key(key):
    _call(TFM_CRYPTO_DESTROY_KEY, (), (), key)


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


# --- AEAD ------------------------------------------------------------------------------------------
# The record path of TLS, one psa_call per record, written to allocate little on MicroPython: the
# packed header is kept for the last (key, alg, nonce length) of each direction (a TLS connection
# seals with one key and opens with another, so both hit every time), one out-vector object serves
# every AEAD call (NS code runs one call at a time), and the *_into variants let the caller give
# the buffer the result is written to.
_hdr_cache = {}  # function id -> (key, alg, nonce length, packed header)
_aead_ov = None  # the out-vector object of the AEAD calls (its .base is set per call)
_aead_ovs = None  # (_aead_ov,): the out_vec tuple, made once


def _aead_header(func, key, alg, nl):
    c = _hdr_cache.get(func)
    if c is not None and c[0] == key and c[1] == alg and c[2] == nl:
        return c[3]
    h = struct.pack(HEADER_FORMAT, func, nl, key & 0xFFFFFFFF, alg & 0xFFFFFFFF, 0)
    _hdr_cache[func] = (key, alg, nl, h)
    return h


def _aead_into(func, key, alg, nonce, additional_data, data, out, n):
    """One AEAD psa_call writing at most n bytes into the writable buffer `out`; returns the count."""
    global _aead_ov, _aead_ovs
    o = _aead_ov
    if o is None:
        o = _aead_ov = _psa.psa_outvec(bytearray(0), 0)
        _aead_ovs = (o,)
    o.base = out
    o.len = n
    # nonce || additional data in one bytes object: the SPM passes bytes on without a copy
    na = nonce + additional_data if nonce.__class__ is bytes else bytes(nonce) + bytes(additional_data)
    try:
        status = _psa_call(TFM_CRYPTO_HANDLE, 0,  # PSA_IPC_CALL
                           (_aead_header(func, key, alg, len(nonce)), na, data), _aead_ovs)
        n = o.len
    finally:
        o.base = None  # the out-vector keeps no reference to the caller's buffer
    if status:
        raise _psa.PSAError(status)
    return n


def _tag_len(alg):
    return (alg & PSA_ALG_AEAD_TAG_LENGTH_MASK) >> PSA_AEAD_TAG_LENGTH_OFFSET


def _sealed_len(alg, n):
    return n + (_tag_len(alg) or PSA_AEAD_TAG_MAX_SIZE)


def _opened_len(alg, n):
    tag = _tag_len(alg)
    return max(n - tag, 1) if 4 <= tag <= 16 else max(n, 1)


def psa_aead_encrypt(key, alg, nonce, additional_data, plaintext):
    """ciphertext || tag."""
    n = _sealed_len(alg, len(plaintext))
    buf = bytearray(n)
    got = _aead_into(TFM_CRYPTO_AEAD_ENCRYPT, key, alg, nonce, additional_data, plaintext, buf, n)
    return bytes(buf) if got == n else bytes(buf[:got])


def psa_aead_decrypt(key, alg, nonce, additional_data, ciphertext):
    """The plaintext; PSAError(PSA_ERROR_INVALID_SIGNATURE) when the tag does not verify."""
    n = _opened_len(alg, len(ciphertext))
    buf = bytearray(n)
    got = _aead_into(TFM_CRYPTO_AEAD_DECRYPT, key, alg, nonce, additional_data, ciphertext, buf, n)
    return bytes(buf) if got == n else bytes(buf[:got])


def psa_aead_encrypt_into(key, alg, nonce, additional_data, plaintext, out):
    """Like psa_aead_encrypt, writing ciphertext || tag into the writable buffer `out` (bytearray or
    memoryview, e.g. a slice of a record buffer); returns the number of bytes written. PSAError
    BUFFER_TOO_SMALL when `out` cannot hold them."""
    return _aead_into(TFM_CRYPTO_AEAD_ENCRYPT, key, alg, nonce, additional_data, plaintext, out, len(out))


def psa_aead_decrypt_into(key, alg, nonce, additional_data, ciphertext, out):
    """Like psa_aead_decrypt, writing the plaintext into the writable buffer `out`; returns its length.
    PSAError INVALID_SIGNATURE on a bad tag (nothing is written then), BUFFER_TOO_SMALL when `out`
    cannot hold the plaintext."""
    return _aead_into(TFM_CRYPTO_AEAD_DECRYPT, key, alg, nonce, additional_data, ciphertext, out, len(out))


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


# --- key derivation (TLS12_PRF, TLS12_PSK_TO_MS) ---------------------------------------------------
class KeyDerivationOperation:
    """psa_key_derivation_operation_t: a handle to a derivation in progress inside the partition."""

    def __init__(self, handle, alg):
        self.handle = handle
        self.alg = alg


def psa_key_derivation_setup(alg):
    o = _out(4)
    _call(TFM_CRYPTO_KEY_DERIVATION_SETUP, (), (o,), 0, alg)
    return KeyDerivationOperation(_u32(o), alg)


def psa_key_derivation_input_bytes(operation, step, data):
    _call(TFM_CRYPTO_KEY_DERIVATION_INPUT_BYTES, (data,), (), 0, 0, operation.handle, step)


def psa_key_derivation_input_key(operation, step, key):
    _call(TFM_CRYPTO_KEY_DERIVATION_INPUT_KEY, (), (), key, 0, operation.handle, step)


def psa_key_derivation_output_bytes(operation, n):
    if n <= 0:
        if n == 0:
            return b""
        raise ValueError("negative length")
    o = _out(n)
    _call(TFM_CRYPTO_KEY_DERIVATION_OUTPUT_BYTES, (), (o,), 0, 0, operation.handle)
    return _got(o)


def psa_key_derivation_output_key(attributes, operation):
    """A new key of attributes.bits from the derivation stream; returns its key id."""
    o = _out(4)
    _call(TFM_CRYPTO_KEY_DERIVATION_OUTPUT_KEY, (attributes.pack(),), (o,), 0, 0, operation.handle)
    return _u32(o)


def psa_key_derivation_abort(operation):
    if operation.handle:
        h, operation.handle = operation.handle, 0
        _call(TFM_CRYPTO_KEY_DERIVATION_ABORT, (), (), 0, 0, h)
