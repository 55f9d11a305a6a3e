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

Two modules, one API: this one holds what a TLS connection uses (key import/destroy, key
derivation, AEAD and the constants they need); the rest (hash, MAC, cipher, export, generate,
attributes, random, the other constants) lives in device.psa.crypto_more and loads on first use
through the module ``__getattr__`` at the end of this file, so ``crypto.psa_hash_compute`` and
``from device.psa.crypto import KEY_ID_PSK`` keep working while a TLS client's heap does without them.
"""

import struct

from device.compat import const
from device import psa as _psa

_psa_call = _psa.psa_call  # (the backend is chosen inside psa_call, so binding it is safe)

# --- constants -------------------------------------------------------------------------------------
# Only what the AEAD block below names stays public here; every other constant of the API (algorithms,
# key types, usages, derivation steps, function ids, formats) and the PSA_ALG_* macros are public in
# crypto_more, reached through __getattr__ at the end of this file. This module uses private copies
# (`_NAME = const(...)`: folded at compile time, no dict entry, no qstr): a non-secure TLS image loads this
# module and never crypto_more, and each public module-level name costs it a dict slot and a qstr.
PSA_ALG_AEAD_TAG_LENGTH_MASK = const(0x003F0000)
PSA_AEAD_TAG_LENGTH_OFFSET = const(16)
PSA_AEAD_TAG_MAX_SIZE = const(16)

# --- the service and its wire format ---------------------------------------------------------------
TFM_CRYPTO_HANDLE = const(0x40000100)  # stateless handle: (1 << 30) | (version << 8) | (index 1 - 1)

# function ids carried in the header (TF-M calls them TFM_CRYPTO_*_SID); public in crypto_more
TFM_CRYPTO_AEAD_ENCRYPT = const(0x0501)
TFM_CRYPTO_AEAD_DECRYPT = const(0x0502)
_IMPORT_KEY = const(0x0101)
_DESTROY_KEY = const(0x0102)
_KDF_SETUP = const(0x0701)
_KDF_INPUT_BYTES = const(0x0702)
_KDF_INPUT_KEY = const(0x0703)
_KDF_OUTPUT_BYTES = const(0x0704)
_KDF_OUTPUT_KEY = const(0x0705)
_KDF_ABORT = const(0x0706)
_PSA_ERROR_COMMUNICATION_FAILURE = const(-145)

HEADER_FORMAT = "<HHIII"  # function id, step/nonce length, key id, alg, operation handle
# (the attributes' format, "<HHIIII": type, bits, usage, alg, lifetime, id; ATTRIBUTES_FORMAT in crypto_more)
_ATTRIBUTES_SIZE = const(20)


class KeyAttributes:
    """psa_key_attributes_t: type, bits, usage, alg, lifetime, id (0 = volatile, id chosen by the store).
    (The defaults are PSA_KEY_TYPE_NONE, PSA_ALG_NONE, PSA_KEY_LIFETIME_VOLATILE and PSA_KEY_ID_NULL: 0.)"""

    def __init__(self, type=0, bits=0, usage=0, alg=0, lifetime=0, id=0):
        self.type = type
        self.bits = bits
        self.usage = usage
        self.alg = alg
        self.lifetime = lifetime
        self.id = id

    def pack(self):
        return _pack("<HHIIII", self.type, self.bits, self.usage, self.alg, self.lifetime, self.id)

    @classmethod
    def unpack(cls, data):
        if len(data) != _ATTRIBUTES_SIZE:
            raise ValueError("key attributes must be %d bytes" % _ATTRIBUTES_SIZE)
        t, b, u, a, l, i = struct.unpack("<HHIIII", data)
        return cls(t, b, u, a, l, i)

    def __eq__(self, other):
        return isinstance(other, KeyAttributes) and self.pack() == other.pack()

    def __repr__(self):
        return "KeyAttributes(type=0x%04x, bits=%d, usage=0x%x, alg=0x%08x, lifetime=%d, id=0x%x)" % (
            self.type, self.bits, self.usage, self.alg, self.lifetime, self.id)


_pack = struct.pack


# The wrappers a TLS handshake uses (key import/destroy, key derivation: ~30 calls per handshake) skip
# crypto_more's _call: each packs its header and builds its whole in-vector tuple in one display (no (hdr,) + ...
# concatenation), and _kcall goes to the backend's call() directly, not through psa.psa_call: one
# Python call layer instead of two (on MicroPython each layer costs a frame set-up and its lookups).
def _kcall(in_vec, out_vec):
    status = (_psa._impl or _psa._start()).call(TFM_CRYPTO_HANDLE, 0, in_vec, out_vec)  # (psa.psa_call's body)
    if status:  # PSA_SUCCESS is 0
        raise _psa.PSAError(status)


# The results of the other calls (key ids, attributes, a PRF output of up to 48 bytes, hashes) land in one
# reused out-vector over one buffer, read out (_got, _u32) before the wrapper returns: a TLS handshake
# makes ~25 such calls, and a fresh bytearray + psa_outvec per call was garbage that fragments a small
# heap. NS code makes one call at a time (as the AEAD block below also relies on).
_RESULT_MAX = const(48)
_result = bytearray(_RESULT_MAX)
_result_ov = None  # the out-vector over _result (created on first use)


def _out(n):
    global _result_ov
    if _psa._impl is None:  # boot the secure world first: its partitions' init calls use this out-vector too
        _psa._start()
    if n > _RESULT_MAX:
        return _psa.psa_outvec(bytearray(n), n)
    o = _result_ov
    if o is None:
        o = _result_ov = _psa.psa_outvec(_result, n)
    o.len = n
    return o


def _got(out):
    return bytes(out.base[: out.len])


def _u32(out):
    if out.len != 4:
        raise _psa.PSAError(_PSA_ERROR_COMMUNICATION_FAILURE)
    b = out.base
    return b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)  # (little-endian; the buffer may be longer)


# --- key management (the rest is in crypto_more) -----------------------------------------------------
def psa_import_key(attributes, data):
    """Import `data` as a key; returns its key id."""
    o = _out(4)
    _kcall((_pack(HEADER_FORMAT, _IMPORT_KEY, 0, 0, 0, 0), attributes.pack(), data), (o,))
    return _u32(o)


def psa_destroy_key(key):
    _kcall((_pack(HEADER_FORMAT, _DESTROY_KEY, 0, key & 0xFFFFFFFF, 0, 0),), ())


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


# --- key derivation (TLS12_PRF, TLS12_PSK_TO_MS) ---------------------------------------------------
class KeyDerivationOperation:
    """psa_key_derivation_operation_t: a handle to a derivation in progress inside the partition."""

    def __init__(self, handle, alg):
        self.handle = handle
        self.alg = alg


def psa_key_derivation_setup(alg):
    o = _out(4)
    _kcall((_pack(HEADER_FORMAT, _KDF_SETUP, 0, 0, alg & 0xFFFFFFFF, 0),), (o,))
    return KeyDerivationOperation(_u32(o), alg)


def psa_key_derivation_input_bytes(operation, step, data):
    _kcall((_pack(HEADER_FORMAT, _KDF_INPUT_BYTES, step, 0, 0, operation.handle), data), ())


def psa_key_derivation_input_key(operation, step, key):
    _kcall((_pack(HEADER_FORMAT, _KDF_INPUT_KEY, step, key & 0xFFFFFFFF, 0, operation.handle),),
           ())


def psa_key_derivation_output_bytes(operation, n):
    if n <= 0:
        if n == 0:
            return b""
        raise ValueError("negative length")
    o = _out(n)
    _kcall((_pack(HEADER_FORMAT, _KDF_OUTPUT_BYTES, 0, 0, 0, operation.handle),), (o,))
    return _got(o)


def psa_key_derivation_output_key(attributes, operation):
    """A new key of attributes.bits from the derivation stream; returns its key id."""
    o = _out(4)
    _kcall((_pack(HEADER_FORMAT, _KDF_OUTPUT_KEY, 0, 0, 0, operation.handle), attributes.pack()),
           (o,))
    return _u32(o)


def psa_key_derivation_abort(operation):
    if operation.handle:
        h, operation.handle = operation.handle, 0
        _kcall((_pack(HEADER_FORMAT, _KDF_ABORT, 0, 0, 0, h),), ())


def __getattr__(name):
    # Every other public name of the API (hash, MAC, cipher, export, generate, attributes, random, the
    # other constants) is in device.psa.crypto_more, loaded on the first lookup of a name this module lacks
    # (PEP 562; MicroPython and CircuitPython have module __getattr__ too). Its names are then copied here
    # all at once, so later lookups are plain module attributes -- and so this module's dict grows once, to
    # a size with room: MicroPython grows a dict only when it is full, and in a full dict every missed
    # lookup (each builtin a function here uses goes through the module's dict first) scans all of it.
    if name[:1] == "_":  # dunder probes (__path__, __wrapped__ ...) and private names: not the API
        raise AttributeError(name)
    from device.psa import crypto_more

    g = globals()
    for k in dir(crypto_more):  # (all at once: a later miss is an unknown name, rare)
        if k[:1] != "_" and k not in g:
            g[k] = getattr(crypto_more, k)
    if name not in g:
        raise AttributeError(name)
    return g[name]
