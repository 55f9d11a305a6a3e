"""The crypto service's functions that the TLS record path of the AEAD suites never calls: hash,
MAC (HMAC-SHA256), AES-CBC without padding, export and generate. service.HANDLERS reaches them
through service._more, which imports this module on the first such call (a board that only runs
TLS with CCM or GCM never loads this code). Same wire format and checks as service.py.
"""

import hashlib

from device import psa as _psa
from device.compat import const, urandom
from device.psa import crypto as C
from device.psa.service import psa_write
from device.partitions.crypto import aes, keystore
from device.partitions.crypto.hmac_sha256 import HMACKey
from device.partitions.crypto.service import (
    _HMAC_SHA256, _err, _in, _reply, _key_for, _id_out, _new_key_attrs, _new_op, _op, _ops,
)

_CATEGORY = const(0x7F000000)


def _aes(k):
    if k.type != C.PSA_KEY_TYPE_AES:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    if k.ctx is None:
        k.ctx = aes.new(k.data)
    return k.ctx


def _generate(msg, step, kid, alg, op):
    a = _new_key_attrs(msg)
    _id_out(msg, keystore.create(a, urandom(a.bits // 8), msg.client_id))


def _export(msg, step, kid, alg, op):
    k = keystore.get(kid, msg.client_id)
    if not k.usage & C.PSA_KEY_USAGE_EXPORT:
        _err(_psa.PSA_ERROR_NOT_PERMITTED)
    _reply(msg, 0, k.data)


def _check_hash(alg):
    if alg != C.PSA_ALG_SHA_256:
        _err(_psa.PSA_ERROR_NOT_SUPPORTED if alg & _CATEGORY == 0x02000000 else _psa.PSA_ERROR_INVALID_ARGUMENT)


def _hash_compute(msg, step, kid, alg, op):
    _check_hash(alg)
    _reply(msg, 0, hashlib.sha256(_in(msg, 1)).digest())


def _hash_setup(msg, step, kid, alg, op):
    _check_hash(alg)
    _new_op(msg, "hash", hashlib.sha256())


def _hash_update(msg, step, kid, alg, op):
    _op(msg, op, "hash").update(_in(msg, 1))


def _hash_finish(msg, step, kid, alg, op):
    h = _op(msg, op, "hash")
    if msg.out_size[0] < 32:
        del _ops[op]
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    del _ops[op]
    psa_write(msg, 0, h.digest())


# --- MAC ---------------------------------------------------------------------------------------------
def _mac(msg, kid, alg, usage):
    if alg != _HMAC_SHA256:
        _err(_psa.PSA_ERROR_NOT_SUPPORTED if alg & _CATEGORY == 0x03000000 else _psa.PSA_ERROR_INVALID_ARGUMENT)
    k = _key_for(msg, kid, usage, alg)
    if k.type != C.PSA_KEY_TYPE_HMAC:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    if k.ctx is None:
        k.ctx = HMACKey(k.data)
    return k.ctx.mac(_in(msg, 1))


def _mac_compute(msg, step, kid, alg, op):
    if msg.out_size[0] < 32:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    psa_write(msg, 0, _mac(msg, kid, alg, C.PSA_KEY_USAGE_SIGN_MESSAGE))


def _mac_verify(msg, step, kid, alg, op):
    if not aes.compare_digest(_mac(msg, kid, alg, C.PSA_KEY_USAGE_VERIFY_MESSAGE), _in(msg, 2)):
        _err(_psa.PSA_ERROR_INVALID_SIGNATURE)


# --- AES-CBC without padding ----------------------------------------------------------------------
def _cipher(msg, kid, alg, usage):
    if alg != C.PSA_ALG_CBC_NO_PADDING:
        _err(_psa.PSA_ERROR_NOT_SUPPORTED if alg & _CATEGORY == 0x04000000 else _psa.PSA_ERROR_INVALID_ARGUMENT)
    return _aes(_key_for(msg, kid, usage, alg))


def _cipher_encrypt(msg, step, kid, alg, op):
    c = _cipher(msg, kid, alg, C.PSA_KEY_USAGE_ENCRYPT)
    data = _in(msg, 1)
    if len(data) % 16:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    if len(data) + 16 > msg.out_size[0]:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    iv = urandom(16)
    psa_write(msg, 0, iv)
    psa_write(msg, 0, c.cbc_encrypt(iv, data))


def _cipher_decrypt(msg, step, kid, alg, op):
    c = _cipher(msg, kid, alg, C.PSA_KEY_USAGE_DECRYPT)
    data = _in(msg, 1)
    if len(data) < 16 or len(data) % 16:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    if len(data) - 16 > msg.out_size[0]:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    psa_write(msg, 0, c.cbc_decrypt(data[:16], data[16:]))


HANDLERS = {
    C.TFM_CRYPTO_GENERATE_KEY: _generate,
    C.TFM_CRYPTO_EXPORT_KEY: _export,
    C.TFM_CRYPTO_HASH_COMPUTE: _hash_compute,
    C.TFM_CRYPTO_HASH_SETUP: _hash_setup,
    C.TFM_CRYPTO_HASH_UPDATE: _hash_update,
    C.TFM_CRYPTO_HASH_FINISH: _hash_finish,
    C.TFM_CRYPTO_MAC_COMPUTE: _mac_compute,
    C.TFM_CRYPTO_MAC_VERIFY: _mac_verify,
    C.TFM_CRYPTO_CIPHER_ENCRYPT: _cipher_encrypt,
    C.TFM_CRYPTO_CIPHER_DECRYPT: _cipher_decrypt,
}
