"""ITS against a model (hypothesis state machine, with reboots), and power loss at every byte of a write."""

import os
import shutil
import tempfile

from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, invariant

from device import psa
from device.psa import PSAError, spm
from device.psa import its
from device.partitions import its as its_partition

UIDS = st.sampled_from([1, 2, 3, 0x2A, (1 << 64) - 1])
DATA = st.binary(max_size=40)
FLAGS = st.sampled_from([0, its.PSA_STORAGE_FLAG_WRITE_ONCE, its.PSA_STORAGE_FLAG_NO_CONFIDENTIALITY])


def _status(fn, *args):
    try:
        return psa.PSA_SUCCESS, fn(*args)
    except PSAError as e:
        return e.status, None


class ITSModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.root = tempfile.mkdtemp(prefix="psa-its-model-")
        self.model = {}  # uid -> (data, flags)
        spm.configure(storage_root=self.root, partitions=["its"], its_max_assets=4)

    def teardown(self):
        shutil.rmtree(self.root, ignore_errors=True)

    @rule(uid=UIDS, data=DATA, flags=FLAGS)
    def set(self, uid, data, flags):
        status, _ = _status(its.psa_its_set, uid, data, flags)
        old = self.model.get(uid)
        if old is not None and old[1] & its.PSA_STORAGE_FLAG_WRITE_ONCE:
            assert status == psa.PSA_ERROR_NOT_PERMITTED
        elif old is None and len(self.model) >= 4:
            assert status == psa.PSA_ERROR_INSUFFICIENT_STORAGE
        else:
            assert status == psa.PSA_SUCCESS
            self.model[uid] = (bytes(data), flags)

    @rule(uid=UIDS, offset=st.integers(0, 45), length=st.integers(0, 45))
    def get(self, uid, offset, length):
        status, got = _status(its.psa_its_get, uid, offset, length)
        if uid not in self.model:
            assert status == psa.PSA_ERROR_DOES_NOT_EXIST
        elif offset > len(self.model[uid][0]):
            assert status == psa.PSA_ERROR_INVALID_ARGUMENT
        else:
            assert status == psa.PSA_SUCCESS and got == self.model[uid][0][offset : offset + length]

    @rule(uid=UIDS)
    def remove(self, uid):
        status, _ = _status(its.psa_its_remove, uid)
        if uid not in self.model:
            assert status == psa.PSA_ERROR_DOES_NOT_EXIST
        elif self.model[uid][1] & its.PSA_STORAGE_FLAG_WRITE_ONCE:
            assert status == psa.PSA_ERROR_NOT_PERMITTED
        else:
            assert status == psa.PSA_SUCCESS
            del self.model[uid]

    @rule()
    def reboot(self):
        spm.configure(storage_root=self.root, partitions=["its"], its_max_assets=4)

    @invariant()
    def info_matches(self):
        for uid, (data, flags) in self.model.items():
            assert its.psa_its_get_info(uid) == (len(data), flags)
            assert its.psa_its_get(uid) == data


TestITSModel = ITSModel.TestCase
TestITSModel.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)


def test_power_loss_at_every_byte_of_a_write():
    """Cut the new copy of an asset at every length (as a power loss mid-write would), reboot: the old
    value is intact; with the complete copy written but the rename lost: the new value."""
    root = tempfile.mkdtemp(prefix="psa-its-cut-")
    try:
        spm.configure(storage_root=root, partitions=["its"])
        its.psa_its_set(7, b"old value")
        its.psa_its_set(8, b"template of the new value, same shape")
        path7 = its_partition.asset_path(-1, 7)
        with open(its_partition.asset_path(-1, 8), "rb") as f:
            full_8 = f.read()
        # the complete new blob for uid 7: write it through ITS on a scratch root to get exact bytes
        scratch = tempfile.mkdtemp(prefix="psa-its-cut2-")
        spm.configure(storage_root=scratch, partitions=["its"])
        its.psa_its_set(7, b"brand new value")
        with open(its_partition.asset_path(-1, 7), "rb") as f:
            new_blob = f.read()
        shutil.rmtree(scratch)
        for cut in range(len(new_blob)):
            with open(path7 + ".tmp", "wb") as f:
                f.write(new_blob[:cut])
            spm.configure(storage_root=root, partitions=["its"])
            assert its.psa_its_get(7) == b"old value", cut
            assert not os.path.exists(path7 + ".tmp")
        assert full_8  # the neighbour was never touched
        assert its.psa_its_get(8) == b"template of the new value, same shape"
        # complete copy, old file already removed, rename lost: recovered as the new value
        os.remove(path7)
        with open(path7 + ".tmp", "wb") as f:
            f.write(new_blob)
        spm.configure(storage_root=root, partitions=["its"])
        assert its.psa_its_get(7) == b"brand new value"
        # complete copy but the old file still there (rename never started): the old value stands
        with open(path7 + ".tmp", "wb") as f:
            f.write(new_blob)
        its.psa_its_remove(7)
        its.psa_its_set(7, b"old value")
        with open(path7 + ".tmp", "wb") as f:
            f.write(new_blob)
        spm.configure(storage_root=root, partitions=["its"])
        assert its.psa_its_get(7) == b"old value"
    finally:
        shutil.rmtree(root, ignore_errors=True)
