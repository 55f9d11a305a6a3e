"""Persistent keys of the crypto partition's key store, as ITS assets (imported by keystore on the
first use of a persistent key id). Record layout and error mapping: keystore's docstring.
"""

import struct

from device import psa as _psa
from device.psa import PSAError
from device.psa import crypto as C
from device.psa import its as _its
from device.partitions.crypto.keystore import KEY_UID_BASE, Key

_REC = "<4sHHIIi"
_REC_SIZE = 20
_MAGIC = b"PSAK"


def _uid(kid):
    return KEY_UID_BASE + kid


def create(attrs, data, owner, factory):
    """Write the persistent key `attrs.id` (checked by keystore.create up to its lifetime)."""
    kid = attrs.id
    user = C.PSA_KEY_ID_USER_MIN <= kid <= C.PSA_KEY_ID_USER_MAX
    vendor = C.PSA_KEY_ID_VENDOR_MIN <= kid < C.PSA_KEY_ID_VOLATILE_MIN
    if not (user or (factory and vendor)):
        raise PSAError(_psa.PSA_ERROR_INVALID_ARGUMENT)
    if not factory and _exists(kid):
        raise PSAError(_psa.PSA_ERROR_ALREADY_EXISTS)
    rec = struct.pack(_REC, _MAGIC, attrs.type, 8 * len(data), attrs.usage, attrs.alg, owner) + data
    try:
        _its.psa_its_set(_uid(kid), rec)
    except PSAError as e:
        raise PSAError(_psa.PSA_ERROR_INSUFFICIENT_STORAGE if e.status == _psa.PSA_ERROR_INSUFFICIENT_STORAGE
                       else _psa.PSA_ERROR_STORAGE_FAILURE)
    return kid


def _exists(kid):
    try:
        _its.psa_its_get_info(_uid(kid))
        return True
    except PSAError as e:
        if e.status == _psa.PSA_ERROR_DOES_NOT_EXIST:
            return False
        return True  # present but unreadable (corrupt): taken


def load(kid):
    """The persistent Key `kid`, or PSAError INVALID_HANDLE / DATA_CORRUPT / STORAGE_FAILURE."""
    try:
        rec = _its.psa_its_get(_uid(kid))
    except PSAError as e:
        if e.status == _psa.PSA_ERROR_DOES_NOT_EXIST:
            raise PSAError(_psa.PSA_ERROR_INVALID_HANDLE)
        if e.status == _psa.PSA_ERROR_DATA_CORRUPT:
            raise e
        raise PSAError(_psa.PSA_ERROR_STORAGE_FAILURE)
    if len(rec) <= _REC_SIZE:
        raise PSAError(_psa.PSA_ERROR_DATA_CORRUPT)
    magic, t, bits, usage, alg, owner = struct.unpack(_REC, rec[:_REC_SIZE])
    data = rec[_REC_SIZE:]
    if magic != _MAGIC or bits != 8 * len(data):
        raise PSAError(_psa.PSA_ERROR_DATA_CORRUPT)
    return Key(kid, t, bits, usage, alg, C.PSA_KEY_LIFETIME_PERSISTENT, owner, data)


def remove(kid):
    try:
        _its.psa_its_remove(_uid(kid))
    except PSAError:
        raise PSAError(_psa.PSA_ERROR_STORAGE_FAILURE)
