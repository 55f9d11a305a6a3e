"""Internal Trusted Storage: PSA Storage semantics, limits, namespaces, corruption and power loss.

Every test starts an SPM on a fresh temporary storage root and removes it afterwards.
"""

import os

from device import psa
from device.psa import PSAError, psa_outvec
from device.psa import its
from device.partitions import its as its_partition
from tests.device import psa_fixtures as fx

H = its.TFM_INTERNAL_TRUSTED_STORAGE_SERVICE_HANDLE


class Storer:
    """A secure partition that keeps its own ITS assets (to check client-id namespaces)."""

    MANIFEST = {
        "name": "TEST_SP_STORER",
        "pid": 310,
        "type": "APPLICATION-ROT",
        "model": "SFN",
        "services": [{"name": "TEST_STORER", "sid": 0x1100, "non_secure_clients": True, "version": 1,
                      "connection_based": False, "stateless_handle": 5}],
    }

    def test_storer_sfn(self, msg):
        from device.psa.service import psa_read, psa_write

        uid = int.from_bytes(psa_read(msg, 0, 8), "little")
        try:
            if msg.type == 1:
                its.psa_its_set(uid, psa_read(msg, 1, msg.in_size[1]))
            else:
                psa_write(msg, 0, its.psa_its_get(uid))
        except PSAError as e:
            return e.status
        return psa.PSA_SUCCESS


STORER_H = (1 << 30) | (1 << 8) | 4


def _start(root=None, **config):
    root = root or fx.temp_root()
    s, _, _ = fx.start(extra=[its_partition, Storer()], storage_root=root, **config)
    return s, root


def _status(fn, *args):
    try:
        fn(*args)
    except PSAError as e:
        return e.status
    return psa.PSA_SUCCESS


def _flip_byte(path, at):
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    raw[at] ^= 0x01
    with open(path, "wb") as f:
        f.write(raw)


def test_set_get_info_remove_round_trip():
    s, root = _start()
    assert psa.psa_version(0x70) == 1
    its.psa_its_set(0x2A, b"hello world")
    assert its.psa_its_get(0x2A) == b"hello world"
    assert its.psa_its_get(0x2A, 6) == b"world"
    assert its.psa_its_get(0x2A, 1, 4) == b"ello"
    assert its.psa_its_get(0x2A, 6, 100) == b"world"  # fewer bytes at the end
    assert its.psa_its_get(0x2A, 11) == b""
    assert _status(its.psa_its_get, 0x2A, 12) == psa.PSA_ERROR_INVALID_ARGUMENT
    assert its.psa_its_get_info(0x2A) == (11, 0)
    its.psa_its_set(0x2A, bytearray(b"v2"), its.PSA_STORAGE_FLAG_NO_CONFIDENTIALITY)
    assert its.psa_its_get(0x2A) == b"v2" and its.psa_its_get_info(0x2A) == (2, 2)
    its.psa_its_set((1 << 64) - 1, b"")  # largest uid, empty asset
    assert its.psa_its_get((1 << 64) - 1) == b"" and its.psa_its_get_info((1 << 64) - 1) == (0, 0)
    its.psa_its_remove(0x2A)
    for fn in (its.psa_its_get, its.psa_its_get_info, its.psa_its_remove):
        assert _status(fn, 0x2A) == psa.PSA_ERROR_DOES_NOT_EXIST
    fx.remove_tree(root)


def test_uid_zero_and_bad_arguments():
    s, root = _start()
    assert _status(its.psa_its_set, 0, b"x") == psa.PSA_ERROR_INVALID_ARGUMENT
    for fn in (its.psa_its_get, its.psa_its_get_info, its.psa_its_remove):
        assert _status(fn, 0) == psa.PSA_ERROR_INVALID_ARGUMENT
    for uid in (-1, 1 << 64, "1"):
        assert _status(its.psa_its_set, uid, b"x") == psa.PSA_ERROR_INVALID_ARGUMENT
    assert _status(its.psa_its_set, 5, b"x", 1 << 3) == psa.PSA_ERROR_NOT_SUPPORTED
    assert _status(its.psa_its_set, 5, b"x", -1) == psa.PSA_ERROR_INVALID_ARGUMENT
    assert _status(its.psa_its_get, 5, 0, -1) == psa.PSA_ERROR_INVALID_ARGUMENT
    # malformed vectors straight through psa_call: the service answers PROGRAMMER_ERROR
    assert psa.psa_call(H, its.TFM_ITS_SET, (b"\x05\x00\x00\x00", b"x", bytes(4))) == psa.PSA_ERROR_PROGRAMMER_ERROR
    assert psa.psa_call(H, its.TFM_ITS_GET_INFO, (bytes(8),), (psa_outvec(4),)) == psa.PSA_ERROR_PROGRAMMER_ERROR
    assert psa.psa_call(H, 999, (bytes(8),)) == psa.PSA_ERROR_NOT_SUPPORTED
    assert os.listdir(root) == []
    fx.remove_tree(root)


def test_write_once():
    s, root = _start()
    its.psa_its_set(7, b"serial", its.PSA_STORAGE_FLAG_WRITE_ONCE)
    assert _status(its.psa_its_set, 7, b"other") == psa.PSA_ERROR_NOT_PERMITTED
    assert _status(its.psa_its_remove, 7) == psa.PSA_ERROR_NOT_PERMITTED
    assert its.psa_its_get(7) == b"serial" and its.psa_its_get_info(7) == (6, 1)
    fx.remove_tree(root)


def test_asset_size_limit_default_and_configured():
    s, root = _start()
    its.psa_its_set(1, bytes(512))
    assert _status(its.psa_its_set, 2, bytes(513)) == psa.PSA_ERROR_INVALID_ARGUMENT
    assert _status(its.psa_its_get, 2) == psa.PSA_ERROR_DOES_NOT_EXIST
    fx.remove_tree(root)
    s, root = _start(its_max_asset_size=16)
    its.psa_its_set(1, bytes(16))
    assert _status(its.psa_its_set, 1, bytes(17)) == psa.PSA_ERROR_INVALID_ARGUMENT
    assert its.psa_its_get(1) == bytes(16)
    fx.remove_tree(root)


def test_asset_count_limit():
    s, root = _start()
    for uid in range(1, 11):
        its.psa_its_set(uid, b"%d" % uid)
    assert _status(its.psa_its_set, 11, b"x") == psa.PSA_ERROR_INSUFFICIENT_STORAGE
    its.psa_its_set(10, b"replace is fine at the limit")
    its.psa_its_remove(1)
    its.psa_its_set(11, b"room again")
    fx.remove_tree(root)
    s, root = _start(its_max_assets=2)
    its.psa_its_set(1, b"a")
    its.psa_its_set(2, b"b")
    assert _status(its.psa_its_set, 3, b"c") == psa.PSA_ERROR_INSUFFICIENT_STORAGE
    fx.remove_tree(root)


def test_assets_persist_across_restarts():
    s, root = _start()
    its.psa_its_set(9, b"kept", its.PSA_STORAGE_FLAG_WRITE_ONCE)
    its.psa_its_set(10, b"also")
    _start(root)  # a reboot: a new SPM on the same root
    assert its.psa_its_get(9) == b"kept" and its.psa_its_get_info(9) == (4, 1)
    assert its.psa_its_get(10) == b"also"
    fx.remove_tree(root)


def test_assets_are_namespaced_by_client_id():
    s, root = _start()
    uid = (3).to_bytes(8, "little")
    assert psa.psa_call(STORER_H, 1, (uid, b"secure value")) == psa.PSA_SUCCESS
    assert _status(its.psa_its_get, 3) == psa.PSA_ERROR_DOES_NOT_EXIST  # NS cannot see it
    its.psa_its_set(3, b"ns value")
    out = psa_outvec(32)
    assert psa.psa_call(STORER_H, 2, (uid,), (out,)) == psa.PSA_SUCCESS
    assert out.value() == b"secure value"
    assert its.psa_its_get(3) == b"ns value"
    names = sorted(os.listdir(root))
    assert names == [its_partition.asset_name(-1, 3), its_partition.asset_name(310, 3)]
    fx.remove_tree(root)


def test_corrupt_asset_reads_as_data_corrupt_without_harming_others():
    s, root = _start()
    its.psa_its_set(1, b"first asset")
    its.psa_its_set(2, b"second asset")
    its.psa_its_set(3, b"third asset")
    _flip_byte(its_partition.asset_path(-1, 2), 14)  # a data byte
    assert _status(its.psa_its_get, 2) == psa.PSA_ERROR_DATA_CORRUPT
    assert _status(its.psa_its_get_info, 2) == psa.PSA_ERROR_DATA_CORRUPT
    assert _status(its.psa_its_set, 2, b"new") == psa.PSA_ERROR_DATA_CORRUPT
    assert its.psa_its_get(1) == b"first asset" and its.psa_its_get(3) == b"third asset"
    _flip_byte(its_partition.asset_path(-1, 3), 5)  # the flags in the header
    assert _status(its.psa_its_get, 3) == psa.PSA_ERROR_DATA_CORRUPT
    its.psa_its_remove(2)  # a corrupt asset can be removed and its uid used again
    its.psa_its_set(2, b"fresh")
    assert its.psa_its_get(2) == b"fresh"
    fx.remove_tree(root)


def test_truncated_or_moved_asset_is_corrupt():
    s, root = _start()
    its.psa_its_set(1, b"one")
    its.psa_its_set(2, b"two")
    p1, p2 = its_partition.asset_path(-1, 1), its_partition.asset_path(-1, 2)
    with open(p1, "rb") as f:
        raw = f.read()
    with open(p2, "wb") as f:  # asset 1's file under asset 2's name: the checksum binds the name
        f.write(raw)
    assert _status(its.psa_its_get, 2) == psa.PSA_ERROR_DATA_CORRUPT
    with open(p1, "wb") as f:
        f.write(raw[:-1])
    assert _status(its.psa_its_get, 1) == psa.PSA_ERROR_DATA_CORRUPT
    with open(p1, "wb") as f:
        f.write(b"")
    assert _status(its.psa_its_get_info, 1) == psa.PSA_ERROR_DATA_CORRUPT
    fx.remove_tree(root)


def test_failed_write_keeps_the_old_value():
    s, root = _start()
    its.psa_its_set(4, b"old value")
    its_partition.inject_fault("fail_next_write")
    assert _status(its.psa_its_set, 4, b"new value that is lost") == psa.PSA_ERROR_STORAGE_FAILURE
    assert its.psa_its_get(4) == b"old value"
    assert its_partition.asset_name(-1, 4) + ".tmp" in os.listdir(root)  # the half-written copy
    its_partition.inject_fault("fail_next_write")
    assert _status(its.psa_its_set, 5, b"never stored") == psa.PSA_ERROR_STORAGE_FAILURE
    assert _status(its.psa_its_get, 5) == psa.PSA_ERROR_DOES_NOT_EXIST
    _start(root)  # reboot: leftovers are discarded, the old value stands
    assert sorted(os.listdir(root)) == [its_partition.asset_name(-1, 4)]
    assert its.psa_its_get(4) == b"old value"
    its.psa_its_set(4, b"new value")
    assert its.psa_its_get(4) == b"new value"
    fx.remove_tree(root)


def test_power_loss_between_remove_and_rename_is_recovered():
    s, root = _start()
    its.psa_its_set(6, b"complete new copy")
    path = its_partition.asset_path(-1, 6)
    os.rename(path, path + ".tmp")  # as if the old file was removed and the rename never happened
    _start(root)
    assert its.psa_its_get(6) == b"complete new copy"
    assert os.listdir(root) == [its_partition.asset_name(-1, 6)]
    fx.remove_tree(root)


def test_restart_survives_leftovers_it_cannot_remove():
    s, root = _start()
    its.psa_its_set(7, b"kept")
    junk = root + "/" + its_partition.asset_name(-1, 8) + ".tmp"
    os.mkdir(junk)  # not a file: init() can neither parse nor remove it
    with open(root + "/" + its_partition.asset_name(-1, 9) + ".tmp", "wb") as f:
        f.write(b"ITS1 garbage")  # an interrupted write of a new asset: discarded
    _start(root)
    assert its.psa_its_get(7) == b"kept"
    assert _status(its.psa_its_get, 8) == psa.PSA_ERROR_DOES_NOT_EXIST
    assert _status(its.psa_its_get, 9) == psa.PSA_ERROR_DOES_NOT_EXIST
    assert sorted(os.listdir(root)) == sorted([its_partition.asset_name(-1, 7), junk.split("/")[-1]])
    os.rmdir(junk)
    fx.remove_tree(root)


def test_unsupported_fault_kind():
    try:
        its_partition.inject_fault("melt")
    except ValueError:
        return
    raise AssertionError("unknown fault accepted")
