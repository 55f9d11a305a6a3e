"""Initial Attestation partition (both lanes): token structure, every claim, every error."""

import hashlib

from device import cbor, psa
from device.psa import attest as A
from device.psa import spm
from device.partitions import attest as attest_partition
from device.partitions.attest import measure
from device.partitions.attest import token as T
from tests.device import attest_fixtures as af

IOT = dict((k, v[0]) for k, v in T.CLAIM_KEYS.items())
V2 = dict((k, v[1]) for k, v in T.CLAIM_KEYS.items())


def _parts(tok):
    obj = cbor.loads(tok)
    assert isinstance(obj, cbor.CBORTag) and obj.tag == 17
    assert isinstance(obj.value, list) and len(obj.value) == 4
    return obj.value


def _ordered_keys(payload):
    """Claim keys in wire order (cbor.loads gives a dict, whose order is not the wire's)."""
    assert payload[0] >> 5 == 5  # a map
    n = payload[0] & 0x1F
    off = 1
    keys = []
    for _ in range(n):
        k, off = cbor.decode_from(payload, off)
        _v, off = cbor.decode_from(payload, off)
        keys.append(k)
    assert off == len(payload)
    return keys


def test_token_is_tagged_cose_mac0_with_hmac_256_256_over_mac_structure():
    root = af.boot()
    try:
        tok = A.psa_initial_attest_get_token(af.CHALLENGE)
        prot, unprot, payload, tag = _parts(tok)
        assert prot == b"\xa1\x01\x05" and cbor.loads(prot) == {1: 5}
        assert unprot == {}
        assert isinstance(payload, bytes) and len(tag) == 32
        # MAC over the CBOR of ["MAC0", protected, h'', payload], recomputed independently
        mac_structure = cbor.dumps(["MAC0", prot, b"", payload])
        assert tag == af.hmac_sha256(af.IAK, mac_structure)
        assert tag != af.hmac_sha256(b"\x00" * 32, mac_structure)
    finally:
        af.done(root)


def test_every_claim_psa_iot_profile_1_in_tf_m_order():
    root = af.boot(lifecycle=0x3000)
    try:
        tok = A.psa_initial_attest_get_token(af.CHALLENGE)
        payload = _parts(tok)[2]
        c = cbor.loads(payload)
        assert _ordered_keys(payload) == [IOT["nonce"], IOT["boot_seed"], IOT["instance_id"],
                                          IOT["implementation_id"], IOT["client_id"], IOT["lifecycle"],
                                          IOT["sw_components"], IOT["profile"]]
        assert c[IOT["nonce"]] == af.CHALLENGE
        assert isinstance(c[IOT["boot_seed"]], bytes) and len(c[IOT["boot_seed"]]) == 32
        want_iid = b"\x01" + hashlib.sha256(hashlib.sha256(af.IAK).digest()).digest()
        assert c[IOT["instance_id"]] == want_iid and len(want_iid) == 33
        assert c[IOT["implementation_id"]] == attest_partition.DEFAULT_IMPLEMENTATION_ID
        assert len(attest_partition.DEFAULT_IMPLEMENTATION_ID) == 32
        assert c[IOT["client_id"]] == -1  # a non-secure caller
        assert c[IOT["lifecycle"]] == 0x3000
        assert c[IOT["profile"]] == "PSA_IOT_PROFILE_1"
        assert IOT["no_sw_components"] not in c
        comps = c[IOT["sw_components"]]
        assert len(comps) == 1
        lib = comps[0]
        assert lib[1] == "sensorkit" and lib[4] == attest_partition.LIBRARY_VERSION and lib[6] == "sha-256"
        assert lib[2] == measure.measure_tree(measure.library_root()) and len(lib[2]) == 32
    finally:
        af.done(root)


def test_boot_seed_fixed_for_a_boot_new_after_reboot():
    root = af.boot()
    try:
        seed = lambda: cbor.loads(_parts(A.psa_initial_attest_get_token(af.CHALLENGE))[2])[IOT["boot_seed"]]
        s1 = seed()
        assert seed() == s1
        spm.configure(storage_root=root)  # a reboot: same storage, new boot
        s2 = seed()
        assert s2 != s1 and len(s2) == 32
    finally:
        af.done(root)


def test_nonce_follows_each_challenge_size():
    root = af.boot()
    try:
        for n in (32, 48, 64):
            ch = bytes((n + i) & 0xFF for i in range(n))
            tok = A.psa_initial_attest_get_token(ch)
            assert cbor.loads(_parts(tok)[2])[IOT["nonce"]] == ch
            assert len(tok) == A.psa_initial_attest_get_token_size(n)
    finally:
        af.done(root)


def test_client_id_of_a_secure_caller_is_its_pid():
    root = af.boot()
    try:
        tok = spm.get().run_as(444, A.psa_initial_attest_get_token, af.CHALLENGE)
        assert cbor.loads(_parts(tok)[2])[IOT["client_id"]] == 444
        # the size query is per caller too: a 3-byte client id instead of a 1-byte one
        size = spm.get().run_as(444, A.psa_initial_attest_get_token_size, 32)
        assert size == len(tok) == A.psa_initial_attest_get_token_size(32) + 2
    finally:
        af.done(root)


def test_lifecycle_and_kid_come_from_provisioning():
    root = af.boot(lifecycle=0x5000, kid=b"dev-7")
    try:
        prot, unprot, payload, tag = _parts(A.psa_initial_attest_get_token(af.CHALLENGE))
        assert unprot == {4: b"dev-7"}
        assert cbor.loads(payload)[IOT["lifecycle"]] == 0x5000
        assert tag == af.hmac_sha256(af.IAK, cbor.dumps(["MAC0", prot, b"", payload]))
    finally:
        af.done(root)


def test_psa_2_0_profile_keys():
    root = af.boot(attest_profile="psa-2.0")
    try:
        payload = _parts(A.psa_initial_attest_get_token(af.CHALLENGE))[2]
        c = cbor.loads(payload)
        assert _ordered_keys(payload) == [10, 268, 256, 2396, 2394, 2395, 2399, 265]
        assert c[V2["nonce"]] == af.CHALLENGE
        assert c[V2["profile"]] == "tag:psacertified.org,2023:psa#tfm"
        assert not any(k < 0 for k in c)
    finally:
        af.done(root)


def test_no_software_components_size_matches_tf_m():
    root = af.boot(attest_sw_components=[])
    try:
        tok = A.psa_initial_attest_get_token(af.CHALLENGE)
        c = cbor.loads(_parts(tok)[2])
        assert c[IOT["no_sw_components"]] == 1 and IOT["sw_components"] not in c
        # TF-M's symmetric token of this shape (32-byte challenge, NS caller, no sw
        # components, no kid) is 244 bytes; ours has exactly the same claims
        assert len(tok) == 244
    finally:
        af.done(root)


def test_app_main_is_a_second_component():
    root = af.boot()
    path = root + "/main.py"
    try:
        with open(path, "w") as f:
            f.write("print('hello')\n")
        spm.configure(storage_root=root, app_main=path)
        comps = cbor.loads(_parts(A.psa_initial_attest_get_token(af.CHALLENGE))[2])[IOT["sw_components"]]
        assert [c[1] for c in comps] == ["sensorkit", "app"]
        assert comps[1][2] == measure.measure_file(path, "main.py")
        with open(path, "w") as f:
            f.write("print('changed')\n")
        spm.configure(storage_root=root, app_main=path)  # the code changed: a new boot measures it
        comps2 = cbor.loads(_parts(A.psa_initial_attest_get_token(af.CHALLENGE))[2])[IOT["sw_components"]]
        assert comps2[1][2] != comps[1][2] and comps2[0][2] == comps[0][2]
    finally:
        af.done(root)


def test_challenge_not_32_48_64_is_invalid_argument():
    root = af.boot()
    try:
        for n in (0, 1, 16, 31, 33, 47, 49, 63, 65, 128):
            assert af.raises_status(A.psa_initial_attest_get_token, bytes(n)) == psa.PSA_ERROR_INVALID_ARGUMENT
            assert af.raises_status(A.psa_initial_attest_get_token_size, n) == psa.PSA_ERROR_INVALID_ARGUMENT
        # and through a raw psa_call with a generous buffer, too
        out = psa.psa_outvec(600)
        st = psa.psa_call(A.TFM_ATTESTATION_SERVICE_HANDLE, A.TFM_ATTEST_GET_TOKEN, (bytes(40),), (out,))
        assert st == psa.PSA_ERROR_INVALID_ARGUMENT
    finally:
        af.done(root)


def test_short_buffer_is_buffer_too_small():
    root = af.boot()
    try:
        size = A.psa_initial_attest_get_token_size(32)
        buf = bytearray(size - 1)
        assert af.raises_status(A.psa_initial_attest_get_token_into, af.CHALLENGE, buf) == psa.PSA_ERROR_BUFFER_TOO_SMALL
        assert buf == bytearray(size - 1)  # nothing written
        assert af.raises_status(A.psa_initial_attest_get_token, af.CHALLENGE, 10) == psa.PSA_ERROR_BUFFER_TOO_SMALL
        big = bytearray(size + 50)
        n = A.psa_initial_attest_get_token_into(af.CHALLENGE, big)
        assert n == size
        # the size query itself needs 4 bytes out
        out = psa.psa_outvec(3)
        st = psa.psa_call(A.TFM_ATTESTATION_SERVICE_HANDLE, A.TFM_ATTEST_GET_TOKEN_SIZE, ((32).to_bytes(4, "little"),),
                          (out,))
        assert st == psa.PSA_ERROR_BUFFER_TOO_SMALL
    finally:
        af.done(root)


def test_not_provisioned_is_service_failure_with_a_clear_message():
    root = af.boot(provisioned=False)
    try:
        try:
            A.psa_initial_attest_get_token(af.CHALLENGE)
            raise AssertionError("a token without an IAK")
        except psa.PSAError as e:
            assert e.status == psa.PSA_ERROR_SERVICE_FAILURE
            assert "Initial Attestation Key" in str(e) and "provision" in str(e)
        assert "not provisioned" in attest_partition.last_failure
        # a record without the key: the partition says the IAK is what is missing
        attest_partition.provision(T.instance_id_from_iak(af.IAK))
        assert af.raises_status(A.psa_initial_attest_get_token, af.CHALLENGE) == psa.PSA_ERROR_SERVICE_FAILURE
        assert "Initial Attestation Key" in attest_partition.last_failure
    finally:
        af.done(root)


def test_malformed_record_in_its_is_service_failure_not_a_fault():
    from device.psa import its

    root = af.boot()
    try:
        for bad in (b"\xff", cbor.dumps([]), cbor.dumps([1, 2, 3]), cbor.dumps("ab"), cbor.dumps(b"xyz"),
                    cbor.dumps({1: 1}), cbor.dumps({1: True, 2: T.instance_id_from_iak(af.IAK)}),
                    cbor.dumps({1: 0x3000, 2: b""})):
            spm.get().run_as(attest_partition.MANIFEST["pid"], its.psa_its_set, attest_partition.ATTEST_RECORD_UID, bad)
            af.boot(provisioned=False, storage_root=root)  # a reboot reads the record again
            assert af.raises_status(A.psa_initial_attest_get_token, af.CHALLENGE) == psa.PSA_ERROR_SERVICE_FAILURE
            assert "malformed" in attest_partition.last_failure, bad
            assert spm.get().faults == [], bad
    finally:
        af.done(root)


def test_bad_messages():
    root = af.boot()
    try:
        h = A.TFM_ATTESTATION_SERVICE_HANDLE
        out = psa.psa_outvec(8)
        assert psa.psa_call(h, 1003, (af.CHALLENGE,), (out,)) == psa.PSA_ERROR_NOT_SUPPORTED
        assert psa.psa_call(h, A.TFM_ATTEST_GET_TOKEN_SIZE, (b"\x20",), (out,)) == psa.PSA_ERROR_INVALID_ARGUMENT
        assert psa.psa_call(h, A.TFM_ATTEST_GET_TOKEN, (), (out,)) == psa.PSA_ERROR_INVALID_ARGUMENT
        assert af.raises_status(A.psa_initial_attest_get_token_size, -1) == psa.PSA_ERROR_INVALID_ARGUMENT
        assert af.raises_status(A.psa_initial_attest_get_token, 32) == psa.PSA_ERROR_INVALID_ARGUMENT
    finally:
        af.done(root)


def test_ns_code_cannot_use_or_export_the_iak():
    from device.psa import crypto as C

    root = af.boot()
    try:
        alg = C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)
        assert af.raises_status(C.psa_mac_compute, C.KEY_ID_IAK, alg, b"forge me") == psa.PSA_ERROR_NOT_PERMITTED
        assert af.raises_status(C.psa_export_key, C.KEY_ID_IAK) == psa.PSA_ERROR_NOT_PERMITTED
        # nor can another secure partition (the telemetry partition's pid)
        st = af.raises_status(spm.get().run_as, 444, C.psa_mac_compute, C.KEY_ID_IAK, alg, b"x")
        assert st == psa.PSA_ERROR_NOT_PERMITTED
    finally:
        af.done(root)


def test_provision_rejects_bad_records():
    root = af.boot(provisioned=False)
    try:
        for bad in (bytes(33), b"\x01" + bytes(31), b"\x02" + bytes(32)):
            try:
                attest_partition.provision(bad)
                raise AssertionError("accepted %r" % bad)
            except ValueError:
                pass
        try:
            attest_partition.provision(T.instance_id_from_iak(af.IAK), lifecycle=0x10000)
            raise AssertionError("accepted lifecycle 0x10000")
        except ValueError:
            pass
    finally:
        af.done(root)


def test_measurement_is_deterministic_and_sees_every_change():
    root = af.temp_root()
    try:
        os = __import__("os")
        os.mkdir(root + "/device")
        os.mkdir(root + "/device/sub")
        os.mkdir(root + "/device/__pycache__")
        files = {"device/a.py": b"A = 1\n", "device/sub/b.mpy": b"M\x06\x00", "device/notes.txt": b"ignored"}
        for name in files:
            with open(root + "/" + name, "wb") as f:
                f.write(files[name])
        with open(root + "/device/__pycache__/a.cpython-311.pyc", "wb") as f:
            f.write(b"ignored")
        assert measure.tree_files(root, ("device",)) == ["device/a.py", "device/sub/b.mpy"]
        m1 = measure.measure_tree(root, ("device",))
        # the documented construction, by hand
        h = hashlib.sha256()
        for name in ("device/a.py", "device/sub/b.mpy"):
            h.update(name.encode() + b"\x00" + len(files[name]).to_bytes(4, "big") + files[name])
        assert m1 == h.digest()
        with open(root + "/device/notes.txt", "wb") as f:
            f.write(b"still ignored")
        assert measure.measure_tree(root, ("device",)) == m1
        with open(root + "/device/sub/b.mpy", "wb") as f:
            f.write(b"M\x06\x01")
        assert measure.measure_tree(root, ("device",)) != m1
        try:
            measure.measure_tree(root, ("nothing",))
            raise AssertionError("measured an empty tree")
        except OSError:
            pass
    finally:
        for p in ("device/a.py", "device/sub/b.mpy", "device/notes.txt", "device/__pycache__/a.cpython-311.pyc"):
            try:
                __import__("os").remove(root + "/" + p)
            except OSError:
                pass
        for d in ("device/sub", "device/__pycache__", "device", ""):
            try:
                __import__("os").rmdir(root + "/" + d if d else root)
            except OSError:
                pass


def test_unreadable_code_is_left_out_not_faked():
    root = af.boot(app_main="/nonexistent/main.py")
    try:
        comps = cbor.loads(_parts(A.psa_initial_attest_get_token(af.CHALLENGE))[2])[IOT["sw_components"]]
        assert [c[1] for c in comps] == ["sensorkit"]
        assert "/nonexistent/main.py" in attest_partition.last_failure
    finally:
        af.done(root)
