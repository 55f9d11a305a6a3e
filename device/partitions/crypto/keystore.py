"""The crypto partition's key store: volatile keys in RAM, persistent keys in ITS (S side only).

A key has PSA attributes (type, bits, usage, permitted alg, lifetime, id) and an *owner*: the
client id that created or was provisioned the key. Only the owner may use, export or destroy it
(the CVE-2021-40327 class of bug is a key used across that line); anyone else gets
PSA_ERROR_NOT_PERMITTED. Keys in the vendor id range (0x40000000..) other than volatile ones are
factory-provisioned: no client may create or destroy them through the service.

Persistent keys are ITS assets of the crypto partition itself (pid 259, its own ITS namespace)
under uid KEY_UID_BASE + key id; record = b"PSAK" | type u16 | bits u16 | usage u32 | alg u32 |
owner i32 (little endian) | key bytes. ITS checksums every asset; a record that does not parse
reads as PSA_ERROR_DATA_CORRUPT. That code lives in keystore_its and is imported on the first use
of a persistent key id, so a device that only runs volatile keys (TLS with a PSK given as bytes)
never loads it nor the ITS client wrappers.
"""

from device import psa as _psa
from device.psa import PSAError
from device.psa import crypto as C

from device.compat import const

KEY_UID_BASE = 0x6B65790000000000  # b"key\0" then the 32-bit key id
MAX_VOLATILE = 32

# C.PSA_KEY_* folded (a `C.NAME` is a lookup per use on MicroPython; a handshake creates and destroys
# four volatile keys)
_VOLATILE = const(0)  # PSA_KEY_LIFETIME_VOLATILE
_ID_NULL = const(0)
_ID_VOLATILE_MIN = const(0x7FFFC000)
_ID_VENDOR_MAX = const(0x7FFFFFFF)

_volatile = {}
_next_volatile = C.PSA_KEY_ID_VOLATILE_MIN


class Key:
    """One key in S memory. .ctx caches a cipher context (AES schedule), .gcm the GHASH tables."""

    ctx = None  # (class defaults: set on the instance only when a context is made)
    gcm = None
    lifetime = _VOLATILE  # (set on the instance for persistent keys only: an eighth instance attribute
    #                       would grow a volatile key's attribute table once more)

    def __init__(self, kid, type, bits, usage, alg, lifetime, owner, data):
        self.id = kid
        self.type = type
        self.bits = bits
        self.usage = usage
        self.alg = alg
        if lifetime != _VOLATILE:
            self.lifetime = lifetime
        self.owner = owner
        self.data = data

    def attributes(self):
        return C.KeyAttributes(self.type, self.bits, self.usage, self.alg, self.lifetime, self.id)


def reset():
    """Forget every volatile key (a reboot of the secure world)."""
    global _next_volatile
    _volatile.clear()
    _next_volatile = C.PSA_KEY_ID_VOLATILE_MIN


def check_type(key_type, nbytes):
    """Raise PSAError unless `nbytes` of key material suit `key_type`."""
    if key_type == 0x2400:  # PSA_KEY_TYPE_AES
        if nbytes != 16 and nbytes != 32:  # AES-192 is not offered: MicroPython's cryptolib has none
            raise PSAError(_psa.PSA_ERROR_NOT_SUPPORTED if nbytes == 24 else _psa.PSA_ERROR_INVALID_ARGUMENT)
    elif key_type in (0x1100, 0x1200, 0x1001):  # PSA_KEY_TYPE_HMAC, _DERIVE, _RAW_DATA
        if nbytes < 1:
            raise PSAError(_psa.PSA_ERROR_INVALID_ARGUMENT)
    else:
        raise PSAError(_psa.PSA_ERROR_NOT_SUPPORTED)
    if nbytes > 128:  # MAX_KEY_BYTES
        raise PSAError(_psa.PSA_ERROR_NOT_SUPPORTED)


def _is_persistent_id(kid):
    return C.PSA_KEY_ID_USER_MIN <= kid < C.PSA_KEY_ID_VOLATILE_MIN


def create(attrs, data, owner, factory=False):
    """Store a new key; returns its id. `factory` allows (and overwrites) vendor-range persistent ids."""
    global _next_volatile
    data = bytes(data)
    n = len(data)
    check_type(attrs.type, n)
    if attrs.bits not in (0, 8 * n):
        raise PSAError(_psa.PSA_ERROR_INVALID_ARGUMENT)
    if attrs.lifetime == _VOLATILE:
        if attrs.id != _ID_NULL:
            raise PSAError(_psa.PSA_ERROR_INVALID_ARGUMENT)
        if len(_volatile) >= MAX_VOLATILE:
            raise PSAError(_psa.PSA_ERROR_INSUFFICIENT_MEMORY)
        kid = _next_volatile
        while kid in _volatile:
            kid = kid + 1 if kid < _ID_VENDOR_MAX else _ID_VOLATILE_MIN
        _next_volatile = kid + 1 if kid < _ID_VENDOR_MAX else _ID_VOLATILE_MIN
        _volatile[kid] = Key(kid, attrs.type, 8 * n, attrs.usage, attrs.alg, _VOLATILE, owner, data)
        return kid
    if attrs.lifetime != C.PSA_KEY_LIFETIME_PERSISTENT:
        raise PSAError(_psa.PSA_ERROR_NOT_SUPPORTED)
    from device.partitions.crypto import keystore_its

    return keystore_its.create(attrs, data, owner, factory)


def load(kid):
    """The Key with id `kid` (any owner), or PSAError INVALID_HANDLE / DATA_CORRUPT / STORAGE_FAILURE."""
    k = _volatile.get(kid)
    if k is not None:
        return k
    if not _is_persistent_id(kid):
        raise PSAError(_psa.PSA_ERROR_INVALID_HANDLE)
    from device.partitions.crypto import keystore_its

    return keystore_its.load(kid)


def get(kid, client_id):
    """The Key `kid` if `client_id` owns it; PSA_ERROR_NOT_PERMITTED for anyone else."""
    k = load(kid)
    if k.owner != client_id:
        raise PSAError(_psa.PSA_ERROR_NOT_PERMITTED)
    return k


def destroy(kid, client_id):
    if kid == _ID_NULL:
        return  # PSA: destroying the null key is a no-op success
    k = _volatile.get(kid)
    if k is not None and k.owner == client_id:  # a volatile key of the caller: one probe
        k.data = b""
        k.ctx = k.gcm = None
        del _volatile[kid]
        return
    k = get(kid, client_id)  # someone else's key, a persistent one, and every error
    if kid in _volatile:
        k.data = b""
        k.ctx = k.gcm = None
        del _volatile[kid]
        return
    if C.PSA_KEY_ID_VENDOR_MIN <= kid:
        raise PSAError(_psa.PSA_ERROR_NOT_PERMITTED)  # factory-provisioned: read-only to clients
    from device.partitions.crypto import keystore_its

    keystore_its.remove(kid)
