"""DEV-ONLY stand-in for device.psa.crypto (CPython, `cryptography`), used only while the crypto
branch has no NS wrappers yet. Same names/values as /work/CONTRACTS.md. Removed once merged."""
import hashlib
import hmac as _hmac
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM

PSA_SUCCESS = 0
PSA_ERROR_INVALID_SIGNATURE = -149
PSA_ERROR_INVALID_ARGUMENT = -135
PSA_ERROR_NOT_PERMITTED = -133
PSA_ALG_SHA_256 = 0x02000009
PSA_ALG_CCM = 0x05500100
PSA_ALG_GCM = 0x05500200
PSA_ALG_CBC_NO_PADDING = 0x04404000
PSA_KEY_TYPE_AES = 0x2400
PSA_KEY_TYPE_HMAC = 0x1100
PSA_KEY_TYPE_DERIVE = 0x1200
PSA_KEY_TYPE_RAW_DATA = 0x1001
PSA_KEY_USAGE_EXPORT = 0x1
PSA_KEY_USAGE_ENCRYPT = 0x100
PSA_KEY_USAGE_DECRYPT = 0x200
PSA_KEY_USAGE_SIGN_MESSAGE = 0x400
PSA_KEY_USAGE_VERIFY_MESSAGE = 0x800
PSA_KEY_USAGE_DERIVE = 0x4000
PSA_KEY_LIFETIME_VOLATILE = 0
PSA_KEY_LIFETIME_PERSISTENT = 1
PSA_KEY_DERIVATION_INPUT_SECRET = 0x0101
PSA_KEY_DERIVATION_INPUT_OTHER_SECRET = 0x0102
PSA_KEY_DERIVATION_INPUT_LABEL = 0x0201
PSA_KEY_DERIVATION_INPUT_SEED = 0x0204
KEY_ID_PSK = 0x5001


def PSA_ALG_HMAC(h):
    return 0x03800000 | (h & 0xFF)


def PSA_ALG_TLS12_PRF(h):
    return 0x08000200 | (h & 0xFF)


def PSA_ALG_TLS12_PSK_TO_MS(h):
    return 0x08000300 | (h & 0xFF)


def PSA_ALG_AEAD_WITH_SHORTENED_TAG(alg, n):
    return (alg & ~0x003F0000) | (n << 16)


class PSAError(Exception):
    def __init__(self, status):
        self.status = status
        super().__init__(status)


class KeyAttributes:
    def __init__(self):
        self.type = self.bits = self.usage = self.alg = self.lifetime = self.id = 0


_keys = {}
_next = [1]


def psa_import_key(a, data):
    kid = _next[0]
    _next[0] += 1
    _keys[kid] = (a, bytes(data))
    return kid


def psa_destroy_key(k):
    _keys.pop(k)


def _prf(secret, label, seed, n):
    out = b""
    a = label + seed
    while len(out) < n:
        a = _hmac.new(secret, a, hashlib.sha256).digest()
        out += _hmac.new(secret, a + label + seed, hashlib.sha256).digest()
    return out[:n]


class _Op:
    def __init__(self, alg):
        self.alg, self.seed, self.secret, self.label, self.stream, self.pos = alg, None, None, None, None, 0


def psa_key_derivation_setup(alg):
    return _Op(alg)


def psa_key_derivation_input_bytes(op, step, data):
    if step == PSA_KEY_DERIVATION_INPUT_SEED:
        op.seed = bytes(data)
    elif step == PSA_KEY_DERIVATION_INPUT_LABEL:
        op.label = bytes(data)
    else:
        op.secret = bytes(data)


def psa_key_derivation_input_key(op, step, key):
    a, data = _keys[key]
    if op.alg == PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_256):
        n = len(data)
        data = n.to_bytes(2, "big") + bytes(n) + n.to_bytes(2, "big") + data
    op.secret = data


def psa_key_derivation_output_bytes(op, n):
    if op.stream is None:
        op.stream = _prf(op.secret, op.label, op.seed, 48 if op.alg & 0x100 else 200)
    out = op.stream[op.pos:op.pos + n]
    op.pos += n
    return out


def psa_key_derivation_output_key(a, op):
    return psa_import_key(a, psa_key_derivation_output_bytes(op, a.bits // 8))


def psa_key_derivation_abort(op):
    pass


def _aead(key, alg):
    base = alg & ~0x003F0000
    tag = (alg >> 16) & 0x3F or 16
    k = _keys[key][1]
    return AESCCM(k, tag) if base == (PSA_ALG_CCM & ~0x003F0000) else AESGCM(k)


def psa_aead_encrypt(key, alg, nonce, ad, pt):
    return _aead(key, alg).encrypt(nonce, bytes(pt), ad)


def psa_aead_decrypt(key, alg, nonce, ad, ct):
    try:
        return _aead(key, alg).decrypt(nonce, bytes(ct), ad)
    except Exception:
        raise PSAError(PSA_ERROR_INVALID_SIGNATURE)


def psa_mac_compute(key, alg, data):
    return _hmac.new(_keys[key][1], data, hashlib.sha256).digest()


def psa_mac_verify(key, alg, data, mac):
    if not _hmac.compare_digest(psa_mac_compute(key, alg, data), mac):
        raise PSAError(PSA_ERROR_INVALID_SIGNATURE)


def psa_cipher_encrypt(key, alg, data):
    iv = os.urandom(16)
    e = Cipher(algorithms.AES(_keys[key][1]), modes.CBC(iv)).encryptor()
    return iv + e.update(bytes(data)) + e.finalize()


def psa_cipher_decrypt(key, alg, data):
    d = Cipher(algorithms.AES(_keys[key][1]), modes.CBC(bytes(data[:16]))).decryptor()
    return d.update(bytes(data[16:])) + d.finalize()
