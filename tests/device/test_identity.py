"""device.identity (both lanes): the TLS-PSK identity kept in ITS, checked on the way in and out."""

from device import identity, psa
from device.psa import its, spm
from tests.device.tmpdir import remove_tree, temp_root


def _status(fn, *args):
    try:
        fn(*args)
    except psa.PSAError as e:
        return e.status
    return psa.PSA_SUCCESS


def test_identity_round_trip_and_checks():
    root = temp_root()
    try:
        spm.configure(storage_root=root, partitions=["its"])
        assert _status(identity.get_identity) == psa.PSA_ERROR_DOES_NOT_EXIST
        identity.set_identity("sensor-0001")
        assert identity.get_identity() == "sensor-0001"
        for bad in ("", "a b", "x" * (identity.MAX_IDENTITY + 1), "caf\u00e9", b"sensor"):
            try:
                identity.set_identity(bad)
                raise AssertionError("accepted %r" % (bad,))
            except ValueError:
                pass
        assert identity.get_identity() == "sensor-0001"
        # whatever else sits under the identity's uid reads as corrupt, never as an identity
        for raw in (b"\xff\xfe", b"two words", b"tab\there", b"caf\xc3\xa9"):
            its.psa_its_set(identity.IDENTITY_UID, raw)
            assert _status(identity.get_identity) == psa.PSA_ERROR_DATA_CORRUPT, raw
    finally:
        remove_tree(root)
