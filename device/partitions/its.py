"""Internal Trusted Storage partition (TFM_SP_ITS, SID 0x70), PSA Storage API 1.0 semantics.

One file per asset under the storage root (a flash folder on a board, e.g. "/its"; a
temporary folder on a host), named by the *calling client id* and the uid, so each client
(an NS caller, or a secure partition by its pid) has its own namespace, as in TF-M.

Asset file: b"ITS1" | flags u32 LE | size u32 LE | data | SHA-256(client id | uid | header | data).
Writes go to NAME.tmp first and are renamed over NAME, so a power loss leaves either the old
or the new asset, never a half-written one (init() finishes or discards a leftover .tmp).
An asset whose checksum fails reads as PSA_ERROR_DATA_CORRUPT and harms no other asset.

Config keys (device.psa.spm.configure): storage_root, its_max_asset_size (default 512 bytes,
as TF-M Profile Small), its_max_assets (default 10 assets in all, as TF-M Profile Small).
"""

import hashlib
import os

from device.compat import const
from device import psa
from device.psa.service import psa_read, psa_write

MANIFEST = {
    "name": "TFM_SP_ITS",
    "pid": 257,
    "type": "PSA-ROT",
    "priority": "NORMAL",
    "model": "SFN",
    "services": [
        {
            "name": "TFM_INTERNAL_TRUSTED_STORAGE_SERVICE",
            "sid": 0x70,
            "non_secure_clients": True,
            "version": 1,
            "version_policy": "STRICT",
            "connection_based": False,
            "stateless_handle": 3,
        }
    ],
}

_SET = const(1001)
_GET = const(1002)
_GET_INFO = const(1003)
_REMOVE = const(1004)
_WRITE_ONCE = const(1)
_SUPPORTED_FLAGS = const(7)  # WRITE_ONCE | NO_CONFIDENTIALITY | NO_REPLAY_PROTECTION
_HEADER = const(12)
_DIGEST = const(32)
_MAGIC = b"ITS1"

DEFAULT_MAX_ASSET_SIZE = 512
DEFAULT_MAX_ASSETS = 10

_root = None
_max_size = DEFAULT_MAX_ASSET_SIZE
_max_assets = DEFAULT_MAX_ASSETS
_count = 0  # asset files present (no per-asset object in RAM: on MicroPython a set of name strings
# scattered small long-lived objects over the heap and fragmented it until large allocations failed)
_faults = {"fail_next_write": False}


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def init(config):
    """Open (or create) the storage root; finish or discard writes a power loss interrupted."""
    global _root, _max_size, _max_assets, _count
    _root = config.get("storage_root") or "/its"
    _max_size = config.get("its_max_asset_size", DEFAULT_MAX_ASSET_SIZE)
    _max_assets = config.get("its_max_assets", DEFAULT_MAX_ASSETS)
    _faults["fail_next_write"] = False
    if not _is_dir(_root):
        os.mkdir(_root)
    _count = 0
    entries = os.listdir(_root)
    for fn in entries:
        if fn.endswith(".tmp"):
            final = fn[:-4]
            if final not in entries and _parse(_read_file(_root + "/" + fn), fn[:-4]) is not None:
                os.rename(_root + "/" + fn, _root + "/" + final)  # the rename itself was interrupted
                _count += 1
            else:
                try:
                    os.remove(_root + "/" + fn)
                except OSError:  # not a file (a folder someone made): not ours, left alone
                    pass
        elif _is_asset_name(fn):
            _count += 1


def _is_asset_name(fn):
    return len(fn) > 18 and fn[-17] == "-" and fn[0] in "ns"


def asset_name(client_id, uid):
    """File name of an asset: n1-<uid hex> for client -1, s257-<uid hex> for partition 257."""
    if client_id < 0:
        return "n%d-%016x" % (-client_id, uid)
    return "s%d-%016x" % (client_id, uid)


def asset_path(client_id, uid):
    """Where an asset lives (for fault injection and tests)."""
    return _root + "/" + asset_name(client_id, uid)


def inject_fault(kind):
    """S-side test hook. "fail_next_write": the next asset write stops half-way (as a power loss
    would) and the call answers PSA_ERROR_STORAGE_FAILURE."""
    if kind not in _faults:
        raise ValueError("unknown fault %r" % (kind,))
    _faults[kind] = True


def _checksum(name, header, data):
    h = hashlib.sha256(name.encode())
    h.update(header)
    h.update(data)
    return h.digest()


def _read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read(_HEADER + _max_size + _DIGEST + 1)
    except OSError:
        return None


def _parse(raw, name):
    """(flags, data) of a stored asset, or None when it is corrupt."""
    if raw is None or len(raw) < _HEADER + _DIGEST or raw[:4] != _MAGIC:
        return None
    size = int.from_bytes(raw[8:12], "little")
    if size != len(raw) - _HEADER - _DIGEST:
        return None
    header = raw[:_HEADER]
    data = raw[_HEADER : _HEADER + size]
    if _checksum(name, header, data) != raw[_HEADER + size :]:
        return None
    return int.from_bytes(raw[4:8], "little"), data


def _load(name):
    """(status, flags, data)."""
    if not _exists(_root + "/" + name):
        return psa.PSA_ERROR_DOES_NOT_EXIST, 0, b""
    got = _parse(_read_file(_root + "/" + name), name)
    if got is None:
        return psa.PSA_ERROR_DATA_CORRUPT, 0, b""
    return psa.PSA_SUCCESS, got[0], got[1]


def _store(name, flags, data, new):
    global _count
    header = _MAGIC + flags.to_bytes(4, "little") + len(data).to_bytes(4, "little")
    blob = header + data + _checksum(name, header, data)
    path = _root + "/" + name
    tmp = path + ".tmp"
    try:
        with open(tmp, "wb") as f:
            if _faults["fail_next_write"]:
                _faults["fail_next_write"] = False
                f.write(blob[: len(blob) // 2])
                raise OSError(5, "injected write failure")
            f.write(blob)
        try:
            os.rename(tmp, path)
        except OSError:  # a file system whose rename does not replace (FAT): init() recovers a loss here
            os.remove(path)
            os.rename(tmp, path)
    except OSError:
        return psa.PSA_ERROR_STORAGE_FAILURE
    if new:
        _count += 1
    return psa.PSA_SUCCESS


def _uid(msg):
    """The uid from in-vector 0, or None when malformed. uid 0 is rejected by the callers."""
    if msg.in_size[0] != 8:
        return None
    return int.from_bytes(psa_read(msg, 0, 8), "little")


def _set(msg):
    uid = _uid(msg)
    if uid is None or msg.in_size[2] != 4:
        return psa.PSA_ERROR_PROGRAMMER_ERROR
    flags = int.from_bytes(psa_read(msg, 2, 4), "little")
    if uid == 0:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    if flags & ~_SUPPORTED_FLAGS:
        return psa.PSA_ERROR_NOT_SUPPORTED
    size = msg.in_size[1]
    if size > _max_size:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    name = asset_name(msg.client_id, uid)
    exists = _exists(_root + "/" + name)
    if exists:
        status, old_flags, _ = _load(name)
        if status != psa.PSA_SUCCESS:
            return status
        if old_flags & _WRITE_ONCE:
            return psa.PSA_ERROR_NOT_PERMITTED
    elif _count >= _max_assets:
        return psa.PSA_ERROR_INSUFFICIENT_STORAGE
    return _store(name, flags, psa_read(msg, 1, size), not exists)


def _get(msg):
    uid = _uid(msg)
    if uid is None or msg.in_size[1] != 4:
        return psa.PSA_ERROR_PROGRAMMER_ERROR
    offset = int.from_bytes(psa_read(msg, 1, 4), "little")
    if uid == 0:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    status, _, data = _load(asset_name(msg.client_id, uid))
    if status != psa.PSA_SUCCESS:
        return status
    if offset > len(data):
        return psa.PSA_ERROR_INVALID_ARGUMENT
    n = min(msg.out_size[0], len(data) - offset)
    psa_write(msg, 0, data[offset : offset + n])
    return psa.PSA_SUCCESS


def _get_info(msg):
    uid = _uid(msg)
    if uid is None or msg.out_size[0] < 12:
        return psa.PSA_ERROR_PROGRAMMER_ERROR
    if uid == 0:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    status, flags, data = _load(asset_name(msg.client_id, uid))
    if status != psa.PSA_SUCCESS:
        return status
    # psa_storage_info_t {capacity, size, flags}, u32 each
    n = len(data).to_bytes(4, "little")
    psa_write(msg, 0, n + n + flags.to_bytes(4, "little"))
    return psa.PSA_SUCCESS


def _remove(msg):
    global _count
    uid = _uid(msg)
    if uid is None:
        return psa.PSA_ERROR_PROGRAMMER_ERROR
    if uid == 0:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    name = asset_name(msg.client_id, uid)
    status, flags, _ = _load(name)
    if status == psa.PSA_ERROR_DOES_NOT_EXIST:
        return status
    if status == psa.PSA_SUCCESS and flags & _WRITE_ONCE:
        return psa.PSA_ERROR_NOT_PERMITTED
    try:  # a corrupt asset may be removed, so that its uid can be used again
        os.remove(_root + "/" + name)
    except OSError:
        return psa.PSA_ERROR_STORAGE_FAILURE
    _count -= 1
    return psa.PSA_SUCCESS


def tfm_internal_trusted_storage_service_sfn(msg):
    t = msg.type
    if t == _SET:
        return _set(msg)
    if t == _GET:
        return _get(msg)
    if t == _GET_INFO:
        return _get_info(msg)
    if t == _REMOVE:
        return _remove(msg)
    return psa.PSA_ERROR_NOT_SUPPORTED
