"""Helpers for the crypto partition tests (not a test module itself)."""

from device import psa
from device.psa import spm
from device.psa import crypto as C
from device.psa.service import psa_read, psa_write
from tests.device import psa_fixtures as fx

STANDIN_SID = 0x1261
STANDIN_HANDLE = spm.stateless_handle(1, 9)
# call types of the stand-in: in0 = key id (4 bytes LE) [+ data]; out0 = result
MAC = 1  # psa_mac_compute(key, HMAC-SHA256, in1)
EXPORT = 2  # psa_export_key(key)
HASH_UPDATE_FOREIGN = 3  # psa_hash_update on the operation handle in in0


class AttestStandIn:
    """A partition with the attestation partition's pid (261): the owner of the IAK."""

    MANIFEST = {
        "name": "TEST_SP_ATTEST_STANDIN",
        "pid": 261,
        "type": "PSA-ROT",
        "model": "SFN",
        "services": [{"name": "TEST_STANDIN", "sid": STANDIN_SID, "non_secure_clients": True, "version": 1,
                      "connection_based": False, "stateless_handle": 9}],
    }

    def test_standin_sfn(self, msg):
        kid = int.from_bytes(psa_read(msg, 0, 4), "little")
        try:
            if msg.type == MAC:
                psa_write(msg, 0, C.psa_mac_compute(kid, C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256), psa_read(msg, 1, 256)))
            elif msg.type == EXPORT:
                psa_write(msg, 0, C.psa_export_key(kid))
            elif msg.type == HASH_UPDATE_FOREIGN:
                C.psa_hash_update(C.HashOperation(kid, C.PSA_ALG_SHA_256), b"x")
            else:
                return psa.PSA_ERROR_NOT_SUPPORTED
        except psa.PSAError as e:
            return e.status
        return psa.PSA_SUCCESS


def standin_call(kind, kid, data=b"", n=64):
    out = psa.psa_outvec(n)
    st = psa.psa_call(STANDIN_HANDLE, kind, (kid.to_bytes(4, "little"), data), (out,))
    return st, out.value()


def start(root=None):
    """A fresh SPM with ITS, crypto and the stand-in on `root` (a new temp folder by default)."""
    root = root or fx.temp_root()
    spm.configure(storage_root=root, partitions=["its", "crypto", AttestStandIn()])
    return root


def stop(root):
    fx.remove_tree(root)


def status_of(fn, *args):
    """The PSA status fn(*args) raises as PSAError (PSA_SUCCESS when it returns)."""
    try:
        fn(*args)
    except psa.PSAError as e:
        return e.status
    return psa.PSA_SUCCESS


def aes_attrs(alg, usage=C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT, bits=128, **kw):
    return C.KeyAttributes(C.PSA_KEY_TYPE_AES, bits, usage, alg, **kw)
