"""NS wrappers for Internal Trusted Storage (TF-M interface/src/tfm_its_api.c), one psa_call each.

    from device.psa import its
    its.psa_its_set(0x2A, b"value", its.PSA_STORAGE_FLAG_WRITE_ONCE)
    its.psa_its_get(0x2A)                 # b"value"
    its.psa_its_get(0x2A, 1, 3)           # b"alu"
    its.psa_its_get_info(0x2A)            # (5, PSA_STORAGE_FLAG_WRITE_ONCE)
    its.psa_its_remove(0x2A)              # PSAError(PSA_ERROR_NOT_PERMITTED): write-once

Failures raise PSAError with .status. Assets are private to the calling client: NS code and
each secure partition (which calls these same functions) see separate namespaces.
"""

from device import psa
from device.psa import PSAError, psa_outvec

TFM_INTERNAL_TRUSTED_STORAGE_SERVICE_SID = 0x70
TFM_INTERNAL_TRUSTED_STORAGE_SERVICE_VERSION = 1
TFM_INTERNAL_TRUSTED_STORAGE_SERVICE_HANDLE = 0x40000102  # (1 << 30) | (1 << 8) | (3 - 1)
TFM_ITS_SET = 1001
TFM_ITS_GET = 1002
TFM_ITS_GET_INFO = 1003
TFM_ITS_REMOVE = 1004

PSA_STORAGE_FLAG_NONE = 0
PSA_STORAGE_FLAG_WRITE_ONCE = 1 << 0
PSA_STORAGE_FLAG_NO_CONFIDENTIALITY = 1 << 1
PSA_STORAGE_FLAG_NO_REPLAY_PROTECTION = 1 << 2

_H = TFM_INTERNAL_TRUSTED_STORAGE_SERVICE_HANDLE


def _u64(uid):
    if not isinstance(uid, int) or uid < 0 or uid >= 1 << 64:
        raise PSAError(psa.PSA_ERROR_INVALID_ARGUMENT, "uid must be an int in 0..2**64-1")
    return uid.to_bytes(8, "little")


def _u32(n, what):
    if not isinstance(n, int) or n < 0 or n >= 1 << 32:
        raise PSAError(psa.PSA_ERROR_INVALID_ARGUMENT, what + " must be an int in 0..2**32-1")
    return n.to_bytes(4, "little")


def _check(status):
    if status != psa.PSA_SUCCESS:
        raise PSAError(status)


def psa_its_set(uid, data, flags=PSA_STORAGE_FLAG_NONE):
    """Create or replace asset `uid` with `data` (bytes-like)."""
    _check(psa.psa_call(_H, TFM_ITS_SET, (_u64(uid), data, _u32(flags, "flags"))))


def psa_its_get(uid, offset=0, length=None):
    """Bytes of asset `uid` from `offset`: `length` of them (fewer at the end), all by default."""
    if length is None:
        length = max(psa_its_get_info(uid)[0] - offset, 0)
    elif not isinstance(length, int) or length < 0:
        raise PSAError(psa.PSA_ERROR_INVALID_ARGUMENT, "length must be a non-negative int")
    out = psa_outvec(length)
    _check(psa.psa_call(_H, TFM_ITS_GET, (_u64(uid), _u32(offset, "offset")), (out,)))
    return out.value()


def psa_its_get_info(uid):
    """(size, flags) of asset `uid`."""
    out = psa_outvec(12)
    _check(psa.psa_call(_H, TFM_ITS_GET_INFO, (_u64(uid),), (out,)))
    if out.len != 12:
        raise PSAError(psa.PSA_ERROR_COMMUNICATION_FAILURE, "short psa_storage_info_t")
    b = out.base
    return int.from_bytes(b[4:8], "little"), int.from_bytes(b[8:12], "little")


def psa_its_remove(uid):
    """Remove asset `uid` (write-once assets: PSA_ERROR_NOT_PERMITTED)."""
    _check(psa.psa_call(_H, TFM_ITS_REMOVE, (_u64(uid),)))
