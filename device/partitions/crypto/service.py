"""The crypto service function: unpack the 16-byte header of in_vec[0], check policy, run the
primitive, reply through psa_write. Wire format: docs/crypto.md.

Every function checks, in this order: the vectors are well formed (else PROGRAMMER_ERROR for a
bad header, INVALID_ARGUMENT for bad data), the algorithm is one this partition offers
(NOT_SUPPORTED), the key exists (INVALID_HANDLE) and belongs to the caller, has the usage flag
and permits the algorithm (NOT_PERMITTED), and the out-vector is large enough (BUFFER_TOO_SMALL).
"""

import struct

try:
    from collections import namedtuple
except ImportError:  # a port built without collections: KeyAttributes objects serve (slower)
    namedtuple = None

from device import psa as _psa
from device.compat import const, urandom
from device.psa import PSAError
from device.psa import crypto as C
from device.psa.service import psa_read, psa_write
from device.partitions.crypto import aes, ccm, keystore  # gcm: imported on a GCM key's first use
from device.partitions.crypto.hmac_sha256 import HMACKey
from device.partitions.crypto.tls12 import psk_premaster

MAX_OPERATIONS = 8
MAX_RANDOM = 1024
KDF_CAPACITY = 255 * 32  # TLS12_PRF and TLS12_PSK_TO_MS with SHA-256 (as mbedTLS: 255 hash lengths)

_HMAC_SHA256 = C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)
_PRF = C.PSA_ALG_TLS12_PRF(C.PSA_ALG_SHA_256)
_PSK_TO_MS = C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256)
_CATEGORY = const(0x7F000000)

_ops = {}  # handle -> [owner, kind, state]
_next_op = 1


def reset():
    global _next_op
    _ops.clear()
    _next_op = 1


def _err(status):
    raise PSAError(status)


def _in(msg, i):
    return psa_read(msg, i, msg.in_size[i])


def _reply(msg, i, data):
    if len(data) > msg.out_size[i]:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    psa_write(msg, i, data)


# The attributes of a key the caller imports or derives, as the key store reads them (.type, .bits,
# .usage, .alg, .lifetime, .id): a namedtuple made in C from struct.unpack's tuple costs less than half
# of a KeyAttributes instance (whose six attribute stores each grow its table on MicroPython); a TLS
# handshake makes four.
if namedtuple is not None:
    _KeyAttrs = namedtuple("KeyAttrs", ("type", "bits", "usage", "alg", "lifetime", "id"))
else:
    _KeyAttrs = C.KeyAttributes


def _attrs(msg, i):
    if msg.in_size[i] != C.ATTRIBUTES_SIZE:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    return _KeyAttrs(*struct.unpack(C.ATTRIBUTES_FORMAT, _in(msg, i)))


def _key_for(msg, kid, usage, alg):
    """The caller's key `kid`, checked for `usage` and for permitting `alg`."""
    k = keystore.get(kid, msg.client_id)
    if not k.usage & usage or k.alg != alg:
        _err(_psa.PSA_ERROR_NOT_PERMITTED)
    return k


def _id_out(msg, kid):
    _reply(msg, 0, struct.pack("<I", kid))


# --- key management ---------------------------------------------------------------------------------
def _import(msg, step, kid, alg, op):
    a = _attrs(msg, 1)
    if msg.out_size[0] < 4:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    _id_out(msg, keystore.create(a, _in(msg, 2), msg.client_id))


def _new_key_attrs(msg):
    """Attributes (in-vector 1) of a key the partition makes itself (generate, derive): whole bytes,
    a valid type and size, and room for the key id in out-vector 0."""
    a = _attrs(msg, 1)
    if a.bits <= 0 or a.bits % 8:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    keystore.check_type(a.type, a.bits // 8)
    if msg.out_size[0] < 4:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    return a


def _destroy(msg, step, kid, alg, op):
    keystore.destroy(kid, msg.client_id)


def _get_attributes(msg, step, kid, alg, op):
    _reply(msg, 0, keystore.get(kid, msg.client_id).attributes().pack())


def _random(msg, step, kid, alg, op):
    n = msg.out_size[0]
    if n > MAX_RANDOM:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    try:
        r = urandom(n)
    except OSError:
        _err(_psa.PSA_ERROR_INSUFFICIENT_ENTROPY)
    psa_write(msg, 0, r)


# --- hash --------------------------------------------------------------------------------------------
def _new_op(msg, kind, state):
    global _next_op
    if len(_ops) >= MAX_OPERATIONS:
        _err(_psa.PSA_ERROR_INSUFFICIENT_MEMORY)
    if msg.out_size[0] < 4:
        _err(_psa.PSA_ERROR_BUFFER_TOO_SMALL)
    h = _next_op
    while h in _ops or h == 0:
        h = (h + 1) & 0xFFFFFFFF
    _next_op = (h + 1) & 0xFFFFFFFF
    _ops[h] = [msg.client_id, kind, state]
    _id_out(msg, h)


def _op(msg, op, kind):
    e = _ops.get(op)
    if e is None or e[0] != msg.client_id or e[1] != kind:
        _err(_psa.PSA_ERROR_BAD_STATE)  # not an active operation of this caller
    return e[2]


def _abort(kind):
    def f(msg, step, kid, alg, op):
        _op(msg, op, kind)
        del _ops[op]

    return f


# --- AEAD --------------------------------------------------------------------------------------------
# The record path of TLS: one call per record. It is written for MicroPython running from .mpy, where
# every global or attribute lookup is a hash-table probe and every allocation a search of the heap: the
# checks use constants folded at compile time and locals, and the data reach ccm/gcm as memoryview slices
# of the SPM's copies (no bytes copies); the result goes to psa_write straight from the mode.
_TAG_MASK = const(0x003F0000)  # PSA_ALG_AEAD_TAG_LENGTH_MASK
_CCM = const(0x05500100 & ~0x003F0000)  # PSA_ALG_CCM / PSA_ALG_GCM without their tag length
_GCM = const(0x05500200 & ~0x003F0000)
_AES = const(0x2400)  # PSA_KEY_TYPE_AES
_USAGE_ENCRYPT = const(0x00000100)
_USAGE_DECRYPT = const(0x00000200)
_AEAD_ENCRYPT = const(0x0501)  # TFM_CRYPTO_AEAD_ENCRYPT / _DECRYPT
_AEAD_DECRYPT = const(0x0502)
_VOLATILE = const(0)  # PSA_KEY_LIFETIME_VOLATILE
_GCM_TAGS = (4, 8, 12, 13, 14, 15, 16)
_volatile_get = keystore._volatile.get  # (the store's dict of volatile keys lives as long as the module)


# The last AEAD header of each direction and its parse: [encrypt header, parse, decrypt header, parse]
# (a TLS connection seals with one key and opens with another, so both hit on every record)
_last = [b"", None, b"", None]


def _aead_parse(hdr):
    """An AEAD header's fields and what follows from them alone: (encrypt, step, kid, alg, base, tag,
    step in range), or the status refusing the algorithm. dispatch keeps the last valid one of each
    direction in _last: a record's header is the same bytes as the last record's, so its unpack (a
    tuple) and these checks run once per key."""
    func, step, kid, alg, op = _unpack(_HEADER_FORMAT, hdr)
    base = alg & ~_TAG_MASK
    tag = (alg & _TAG_MASK) >> 16
    if base == _CCM:
        if tag < 4 or tag > 16 or tag & 1:
            return _psa.PSA_ERROR_INVALID_ARGUMENT
    elif base == _GCM:
        if tag not in _GCM_TAGS:
            return _psa.PSA_ERROR_INVALID_ARGUMENT
    else:
        return _psa.PSA_ERROR_NOT_SUPPORTED if alg & _CATEGORY == 0x05000000 else _psa.PSA_ERROR_INVALID_ARGUMENT
    return (func == _AEAD_ENCRYPT, step, kid, alg, base, tag, 7 <= step <= 13 if base == _CCM else 1 <= step <= 128)


def _aead(msg, p):
    """AEAD encrypt/decrypt, the header parsed into `p` (_aead_parse): the PSA status.

    One function from the header to psa_write, returning statuses rather than raising them: on
    MicroPython a function this size gets its frame from the heap at every call, so the record path
    has one such frame here, not one per helper."""
    encrypt, step, kid, alg, base, tag, step_ok = p
    k = _volatile_get(kid)  # a session key: one dict probe
    if k is None or k.owner != msg.client_id:
        try:
            k = keystore.get(kid, msg.client_id)  # persistent keys, and every error
        except PSAError as e:
            return e.status
    if not k.usage & (_USAGE_ENCRYPT if encrypt else _USAGE_DECRYPT) or k.alg != alg:
        return _psa.PSA_ERROR_NOT_PERMITTED
    if k.type != _AES:
        return _psa.PSA_ERROR_INVALID_ARGUMENT
    sizes = msg.in_size
    if step > sizes[1]:
        return _psa.PSA_ERROR_INVALID_ARGUMENT
    n = sizes[2] + tag if encrypt else sizes[2] - tag
    if not step_ok:
        return _psa.PSA_ERROR_INVALID_ARGUMENT
    if n < 0:
        return _psa.PSA_ERROR_INVALID_SIGNATURE
    if n > msg.out_size[0]:
        return _psa.PSA_ERROR_BUFFER_TOO_SMALL
    c = k.ctx
    if c is None:
        c = k.ctx = aes.new(k.data)
    na = psa_read(msg, 1, sizes[1])  # nonce || additional data
    data = psa_read(msg, 2, sizes[2])
    try:
        if base == _CCM:
            out = (ccm.seal if encrypt else ccm.unseal)(c, na, step, data, tag)  # (na as it came: no slicing)
        else:
            g = k.gcm
            if g is None:
                from device.partitions.crypto import gcm

                g = gcm.GCM(c)
                if k.lifetime == _VOLATILE:
                    k.gcm = g
            na = memoryview(na)
            out = (g.encrypt if encrypt else g.decrypt)(na[:step], na[step:], data, tag)
    except aes.InvalidTag:
        return _psa.PSA_ERROR_INVALID_SIGNATURE
    psa_write(msg, 0, out)
    return 0  # PSA_SUCCESS


def _aead_handler(func):
    # HANDLERS' entries for the AEAD functions (dispatch calls _aead directly, with the header it parsed)
    def h(msg, step, kid, alg, op):
        p = _aead_parse(struct.pack(_HEADER_FORMAT, func, step, kid, alg, op))
        status = p if p.__class__ is int else _aead(msg, p)
        if status:
            _err(status)

    return h


# --- key derivation: TLS12_PRF / TLS12_PSK_TO_MS with SHA-256 --------------------------------------
# A TLS 1.2 PSK handshake makes 21 of its ~31 psa_calls here, so the handlers use folded constants
# (a `C.NAME` of another module is a lookup per use on MicroPython) and the PRF computes only the
# blocks asked for. The master secret's HMAC pads are made once and cached on its Key (Key.ctx,
# unused otherwise for a DERIVE key): the key block and both Finished PRFs are keyed by it.
_SECRET = const(0x0101)  # PSA_KEY_DERIVATION_INPUT_SECRET, _OTHER_SECRET, _LABEL, _SEED
_OTHER_SECRET = const(0x0103)
_LABEL = const(0x0201)
_SEED = const(0x0204)
_PRF_SHA256 = const(0x08000209)  # PSA_ALG_TLS12_PRF(PSA_ALG_SHA_256)
_PSK_TO_MS_SHA256 = const(0x08000309)  # PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_256)
_DERIVE = const(0x1200)  # PSA_KEY_TYPE_DERIVE
_USAGE_DERIVE = const(0x00004000)


class _Kdf:
    """One derivation: its inputs (step -> bytes; for a PRF's SECRET given as a key, that key's
    HMACKey) until the first output, then the P_SHA256 stream."""

    secret_is_key = False
    key = None  # HMACKey of the PRF secret once output started
    a = None  # A(i) of P_SHA256
    seed = None  # label || seed
    buf = b""  # output computed but not yet taken

    def __init__(self, alg):
        self.alg = alg
        self.inputs = {}
        self.left = KDF_CAPACITY

    def _start(self):
        i = self.inputs
        if _SEED not in i or _SECRET not in i or _LABEL not in i:
            _err(_psa.PSA_ERROR_BAD_STATE)
        secret = i[_SECRET]
        if self.alg == _PSK_TO_MS_SHA256:
            secret = HMACKey(psk_premaster(secret, i.get(_OTHER_SECRET)))
        elif not self.secret_is_key:
            secret = HMACKey(secret)
        self.key = secret
        self.seed = self.a = i[_LABEL] + i[_SEED]
        self.inputs = None  # the raw inputs are not kept once the stream exists
        return secret

    def take(self, n):
        key = self.key
        if key is None:
            key = self._start()
        if n > self.left:
            self.left = 0
            _err(_psa.PSA_ERROR_INSUFFICIENT_DATA)
        self.left -= n
        buf = self.buf
        if len(buf) < n:  # P_SHA256: A(i) = HMAC(secret, A(i-1)), output HMAC(secret, A(i) || seed)
            mac = key.mac
            a = self.a
            seed = self.seed
            while len(buf) < n:
                a = mac(a)
                buf += mac(a, seed)
            self.a = a
        if len(buf) == n:
            self.buf = b""
            return buf
        self.buf = buf[n:]
        return buf[:n]


_STEPS = {
    _PRF_SHA256: (_SEED, _SECRET, _LABEL),
    _PSK_TO_MS_SHA256: (_SEED, _OTHER_SECRET, _SECRET, _LABEL),
}


def _kdf_setup(msg, step, kid, alg, op):
    if alg != _PRF_SHA256 and alg != _PSK_TO_MS_SHA256:
        _err(_psa.PSA_ERROR_NOT_SUPPORTED if alg & _CATEGORY == 0x08000000 else _psa.PSA_ERROR_INVALID_ARGUMENT)
    _new_op(msg, "kdf", _Kdf(alg))


def _kdf_input(st, step, data):
    if step not in _STEPS[st.alg]:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    i = st.inputs
    if i is None or step in i:
        _err(_psa.PSA_ERROR_BAD_STATE)  # after output started, or the same step twice
    if len(data) > 0xFFFF:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    i[step] = data


def _kdf_input_bytes(msg, step, kid, alg, op):
    _kdf_input(_op(msg, op, "kdf"), step, _in(msg, 1))


def _kdf_input_key(msg, step, kid, alg, op):
    st = _op(msg, op, "kdf")
    if step != _SECRET and step != _OTHER_SECRET:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    k = _key_for(msg, kid, _USAGE_DERIVE, st.alg)
    if k.type != _DERIVE:
        _err(_psa.PSA_ERROR_INVALID_ARGUMENT)
    _kdf_input(st, step, k.data)
    if step == _SECRET:
        st.secret_is_key = True
        if st.alg == _PRF_SHA256:  # the PRF's secret as its HMAC pads, made once per key
            hk = k.ctx
            if hk is None:
                hk = k.ctx = HMACKey(k.data)
            st.inputs[_SECRET] = hk


def _kdf_output_bytes(msg, step, kid, alg, op):
    psa_write(msg, 0, _op(msg, op, "kdf").take(msg.out_size[0]))


def _kdf_output_key(msg, step, kid, alg, op):
    st = _op(msg, op, "kdf")
    a = _new_key_attrs(msg)
    if not st.secret_is_key:
        _err(_psa.PSA_ERROR_NOT_PERMITTED)  # PSA 1.1: output_key needs the secret input as a key
    _id_out(msg, keystore.create(a, st.take(a.bits // 8), msg.client_id))


def _more(func):
    """The handler of `func` in service_more (hash, MAC, CBC, export, generate: not on the TLS path of
    the AEAD suites), which is imported on the first such call."""

    def h(msg, step, kid, alg, op):
        from device.partitions.crypto import service_more

        service_more.HANDLERS[func](msg, step, kid, alg, op)

    return h


HANDLERS = {
    C.TFM_CRYPTO_IMPORT_KEY: _import,
    C.TFM_CRYPTO_DESTROY_KEY: _destroy,
    C.TFM_CRYPTO_GET_KEY_ATTRIBUTES: _get_attributes,
    C.TFM_CRYPTO_EXPORT_KEY: _more(C.TFM_CRYPTO_EXPORT_KEY),
    C.TFM_CRYPTO_GENERATE_KEY: _more(C.TFM_CRYPTO_GENERATE_KEY),
    C.TFM_CRYPTO_GENERATE_RANDOM: _random,
    C.TFM_CRYPTO_HASH_COMPUTE: _more(C.TFM_CRYPTO_HASH_COMPUTE),
    C.TFM_CRYPTO_HASH_SETUP: _more(C.TFM_CRYPTO_HASH_SETUP),
    C.TFM_CRYPTO_HASH_UPDATE: _more(C.TFM_CRYPTO_HASH_UPDATE),
    C.TFM_CRYPTO_HASH_FINISH: _more(C.TFM_CRYPTO_HASH_FINISH),
    C.TFM_CRYPTO_HASH_ABORT: _abort("hash"),
    C.TFM_CRYPTO_MAC_COMPUTE: _more(C.TFM_CRYPTO_MAC_COMPUTE),
    C.TFM_CRYPTO_MAC_VERIFY: _more(C.TFM_CRYPTO_MAC_VERIFY),
    C.TFM_CRYPTO_AEAD_ENCRYPT: _aead_handler(C.TFM_CRYPTO_AEAD_ENCRYPT),
    C.TFM_CRYPTO_AEAD_DECRYPT: _aead_handler(C.TFM_CRYPTO_AEAD_DECRYPT),
    C.TFM_CRYPTO_CIPHER_ENCRYPT: _more(C.TFM_CRYPTO_CIPHER_ENCRYPT),
    C.TFM_CRYPTO_CIPHER_DECRYPT: _more(C.TFM_CRYPTO_CIPHER_DECRYPT),
    C.TFM_CRYPTO_KEY_DERIVATION_SETUP: _kdf_setup,
    C.TFM_CRYPTO_KEY_DERIVATION_INPUT_BYTES: _kdf_input_bytes,
    C.TFM_CRYPTO_KEY_DERIVATION_INPUT_KEY: _kdf_input_key,
    C.TFM_CRYPTO_KEY_DERIVATION_OUTPUT_BYTES: _kdf_output_bytes,
    C.TFM_CRYPTO_KEY_DERIVATION_OUTPUT_KEY: _kdf_output_key,
    C.TFM_CRYPTO_KEY_DERIVATION_ABORT: _abort("kdf"),
}


_HEADER_SIZE = const(16)  # C.HEADER_SIZE, folded
_HEADER_FORMAT = C.HEADER_FORMAT
_unpack = struct.unpack
_int = int


def dispatch(msg):
    """The body of tfm_crypto_sfn: returns the PSA status."""
    if msg.type != 0 or msg.in_size[0] != _HEADER_SIZE:  # PSA_IPC_CALL, one 16-byte header
        return _psa.PSA_ERROR_PROGRAMMER_ERROR
    hdr = psa_read(msg, 0, _HEADER_SIZE)
    func = hdr[0] | (hdr[1] << 8)  # (the header's first field, little endian)
    if func != _AEAD_ENCRYPT and func != _AEAD_DECRYPT:
        return _handle(msg, func, hdr)
    i = (func - _AEAD_ENCRYPT) << 1  # this direction's slots in _last
    if hdr == _last[i]:  # the record path: the header of the last call (the same bytes), parsed then
        p = _last[i + 1]
    else:
        p = _aead_parse(hdr)
        if p.__class__ is _int:  # the algorithm refused
            return p
        _last[i] = hdr
        _last[i + 1] = p
    return _aead(msg, p)  # (no table lookup, no try here)


def _handle(msg, func, hdr):
    h = HANDLERS.get(func)
    if h is None:
        return _psa.PSA_ERROR_NOT_SUPPORTED
    func, step, kid, alg, op = _unpack(_HEADER_FORMAT, hdr)
    try:
        h(msg, step, kid, alg, op)
    except PSAError as e:
        return e.status
    except aes.InvalidTag:
        return _psa.PSA_ERROR_INVALID_SIGNATURE
    return 0  # PSA_SUCCESS
