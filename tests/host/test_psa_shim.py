"""The host NS/S shim: the same device.psa API against a secure world in a child process."""

import os
import time

import pytest

from device import psa
from device.psa import PSAError, PSAProgrammerError, psa_outvec
from device.psa import its
from psa_shim import SecureWorld, SecureWorldError
from tests.device import psa_fixtures as fx

ECHO_H = (1 << 30) | (2 << 8) | 0
PARTS = ["its", "tests.device.psa_fixtures:EchoPartition", "tests.device.psa_fixtures:ConnPartition"]


@pytest.fixture
def sw():
    with SecureWorld(partitions=PARTS) as world:
        yield world


def _status(fn, *args):
    try:
        fn(*args)
    except PSAError as e:
        return e.status
    return psa.PSA_SUCCESS


def test_secure_world_is_another_process_and_switch_is_scoped():
    before = psa.backend()
    with SecureWorld(partitions=PARTS) as world:
        assert psa.backend() is world
        assert world.pid != os.getpid() and world.alive()
        assert psa.psa_version(0x70) == 1 and psa.psa_version(fx.SECRET_SID) == psa.PSA_VERSION_NONE
        out = psa_outvec(4)
        assert psa.psa_call(ECHO_H, fx.CLIENT_ID, (), (out,)) == 0 and fx.i32(out.value()) == -1
        root = world.storage_root
        assert os.path.isdir(root)
    assert psa.backend() is before and not os.path.exists(root)


def test_its_through_the_shim_lands_in_the_childs_storage(sw):
    from device.partitions import its as its_partition

    its.psa_its_set(0x11, b"across the boundary", its.PSA_STORAGE_FLAG_WRITE_ONCE)
    assert its.psa_its_get(0x11) == b"across the boundary"
    assert its.psa_its_get(0x11, 7, 3) == b"the"
    assert its.psa_its_get_info(0x11) == (19, 1)
    assert _status(its.psa_its_remove, 0x11) == psa.PSA_ERROR_NOT_PERMITTED
    assert os.listdir(sw.storage_root) == [its_partition.asset_name(-1, 0x11)]
    # the NS process itself holds no SPM state for it
    assert its_partition._root != sw.storage_root


def test_call_log_records_sizes_and_client_ids_not_contents(sw):
    its.psa_its_set(5, b"secret-ish")
    e = [x for x in sw.log if x["op"] == "call"][-1]
    assert e["handle"] == its.TFM_INTERNAL_TRUSTED_STORAGE_SERVICE_HANDLE and e["type"] == its.TFM_ITS_SET
    assert e["in_sizes"] == [8, 10, 4] and e["out_sizes"] == [] and e["client_id"] == -1 and e["status"] == 0
    its.psa_its_get(5, 0, 6)
    e = sw.log[-1]
    assert e["out_sizes"] == [6] and e["written"] == [6]
    assert b"secret" not in repr(sw.log).encode()


def test_out_vectors_are_filled_by_copy(sw):
    buf = bytearray(b"-" * 10)
    out = psa_outvec(buf, 5)
    data = bytearray(b"abc")
    assert psa.psa_call(ECHO_H, fx.ECHO, (data,), (out,)) == 0
    assert out.len == 3 and bytes(buf) == b"abc-------"


def test_boundary_violations_are_stopped_before_crossing(sw):
    n = len([x for x in sw.log if x["op"] == "call"])
    o = psa_outvec(1)
    cases = [
        (ECHO_H, fx.ECHO, (b"a",) * 4, (o,)),  # five vectors
        (ECHO_H, -1, (), ()),  # type out of range
        (ECHO_H, 0x8000, (), ()),
        (12345, fx.ECHO, (), ()),  # a handle never issued to this client
        (ECHO_H, fx.ECHO, ("str",), ()),
        (ECHO_H, fx.ECHO, (), (bytearray(1),)),
        (ECHO_H, fx.ECHO, (bytes(0x10001),), ()),  # beyond max_vector_size
    ]
    for args in cases:
        with pytest.raises(PSAProgrammerError):
            psa.psa_call(*args)
    assert len(sw.violations) == len(cases)
    assert len([x for x in sw.log if x["op"] == "call"]) == n  # none of them crossed


def test_handles_are_owned_and_die_with_close(sw):
    h = psa.psa_connect(fx.CONN_SID, 2)
    assert h > 0 and psa.psa_call(h, 50) == 1 and psa.psa_call(h, 50) == 2
    psa.psa_close(h)
    with pytest.raises(PSAProgrammerError):
        psa.psa_call(h, 50)
    with pytest.raises(PSAProgrammerError):
        psa.psa_close(ECHO_H)
    assert psa.psa_connect(fx.CONN_SID, 9) == psa.PSA_ERROR_CONNECTION_REFUSED
    with pytest.raises(PSAProgrammerError):
        psa.psa_connect(fx.ECHO_SID, 2)  # stateless: raised by the SPM in the child, relayed


def test_secure_side_checks_still_apply_to_stateless_handles(sw):
    # a well-formed stateless handle with the wrong version passes the NS boundary but the SPM panics it
    with pytest.raises(PSAProgrammerError) as ei:
        psa.psa_call((1 << 30) | (1 << 8), fx.ECHO, (), ())
    assert ei.value.partition is None


def test_partition_programmer_error_is_relayed_with_its_pid(sw):
    with pytest.raises(PSAProgrammerError) as ei:
        psa.psa_call(ECHO_H, fx.OVERFLOW, (), (psa_outvec(2),))
    assert ei.value.partition == fx.ECHO_PID
    assert sw.log[-1]["partition"] == fx.ECHO_PID
    assert psa.psa_version(fx.ECHO_SID) == 2  # the secure world keeps serving


def test_fault_fail_next_its_write(sw):
    its.psa_its_set(1, b"before")
    sw.fail_next_its_write()
    assert _status(its.psa_its_set, 1, b"after") == psa.PSA_ERROR_STORAGE_FAILURE
    assert its.psa_its_get(1) == b"before"
    its.psa_its_set(1, b"after")
    assert its.psa_its_get(1) == b"after"


def test_fault_corrupt_asset(sw):
    its.psa_its_set(1, b"one")
    its.psa_its_set(2, b"two")
    sw.corrupt_asset(2)
    assert _status(its.psa_its_get, 2) == psa.PSA_ERROR_DATA_CORRUPT
    assert its.psa_its_get(1) == b"one"
    with pytest.raises(SecureWorldError):
        sw.corrupt_asset(99)  # no such asset


def test_kill_and_restart(sw):
    its.psa_its_set(3, b"persisted")
    h = psa.psa_connect(fx.CONN_SID, 3)
    old_pid = sw.pid
    sw.kill()
    assert not sw.alive()
    assert psa.psa_version(0x70) == psa.PSA_VERSION_NONE
    assert psa.psa_call(ECHO_H, fx.ECHO, (b"x",), (psa_outvec(1),)) == psa.PSA_ERROR_COMMUNICATION_FAILURE
    assert _status(its.psa_its_get, 3) == psa.PSA_ERROR_COMMUNICATION_FAILURE
    sw.restart()
    assert sw.pid != old_pid and sw.alive()
    assert its.psa_its_get(3) == b"persisted"  # storage survives the restart
    with pytest.raises(PSAProgrammerError):
        psa.psa_call(h, 50)  # connections do not


def test_delay_and_timeout(sw):
    sw.delay_calls(0.3)
    t0 = time.monotonic()
    assert psa.psa_version(0x70) == 1
    assert time.monotonic() - t0 >= 0.3
    sw.timeout = 0.05  # a call that outlives the timeout: the secure world is declared dead
    assert psa.psa_call(ECHO_H, fx.ECHO, (b"x",), (psa_outvec(1),)) == psa.PSA_ERROR_COMMUNICATION_FAILURE
    assert not sw.alive() and any(x["op"] == "timeout" for x in sw.log)
    sw.timeout = 30
    sw.restart()
    assert psa.psa_version(0x70) == 1  # a fresh world has no delay


def test_secure_exec_runs_as_a_partition(sw):
    # store an asset as the echo partition (pid 300) from inside the secure world: NS cannot see it
    sw.secure_exec("device.psa.its:psa_its_set", 8, b"partition-owned", run_as=fx.ECHO_PID)
    assert _status(its.psa_its_get, 8) == psa.PSA_ERROR_DOES_NOT_EXIST
    assert sw.secure_exec("device.psa.its:psa_its_get", 8, run_as=fx.ECHO_PID) == b"partition-owned"
    with pytest.raises(SecureWorldError):
        sw.secure_exec("device.psa.its:psa_its_get", 8)  # as nobody (NS id): DOES_NOT_EXIST


def test_client_ids_must_be_negative():
    with pytest.raises(ValueError):
        SecureWorld(ns_client_id=3)


def test_other_ns_client_id_is_used():
    with SecureWorld(partitions=PARTS, ns_client_id=-7) as world:
        out = psa_outvec(4)
        assert psa.psa_call(ECHO_H, fx.CLIENT_ID, (), (out,)) == 0 and fx.i32(out.value()) == -7
        assert world.log[-1]["client_id"] == -7
