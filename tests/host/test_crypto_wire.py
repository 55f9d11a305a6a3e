"""The crypto partition's wire format under random and malformed calls (hypothesis).

Any header (function id, step, key id, alg, operation handle), any in-vectors and out-vector
sizes must come back as a PSA status: never a partition fault (an exception inside the
partition, which the SPM records in spm.faults and answers PSA_ERROR_SERVICE_FAILURE), never
a panic of the partition (PSAProgrammerError raised on its behalf).
"""

import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from device import psa
from device.psa import crypto as C
from device.psa import spm
from device.partitions.crypto import service as S

ALGS = [C.PSA_ALG_CCM, C.PSA_ALG_GCM, C.PSA_ALG_SHA_256, C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256),
        C.PSA_ALG_CBC_NO_PADDING, C.PSA_ALG_TLS12_PRF(C.PSA_ALG_SHA_256),
        C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256), C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_CCM, 8),
        C.PSA_ALG_AEAD_WITH_SHORTENED_TAG(C.PSA_ALG_GCM, 4)]
STEPS = [0, 1, 7, 12, 13, 16, 128, 129, C.PSA_KEY_DERIVATION_INPUT_SECRET, C.PSA_KEY_DERIVATION_INPUT_LABEL,
         C.PSA_KEY_DERIVATION_INPUT_SEED, C.PSA_KEY_DERIVATION_INPUT_OTHER_SECRET, 0xFFFF]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    s = spm.configure(storage_root=str(tmp_path_factory.mktemp("crypto-wire")), partitions=["its", "crypto"])
    keys = [
        C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT,
                                         C.PSA_ALG_CCM), bytes(16)),
        C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128, C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT,
                                         C.PSA_ALG_GCM), bytes(16)),
        C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_HMAC, 256, C.PSA_KEY_USAGE_SIGN_MESSAGE
                                         | C.PSA_KEY_USAGE_VERIFY_MESSAGE, C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256)),
                         bytes(32)),
        C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_DERIVE, 128, C.PSA_KEY_USAGE_DERIVE,
                                         C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256)), bytes(16)),
    ]
    yield s, keys
    spm.configure()


def _attrs_bytes():
    return st.builds(lambda *f: struct.pack(C.ATTRIBUTES_FORMAT, *f),
                     st.sampled_from([0, C.PSA_KEY_TYPE_AES, C.PSA_KEY_TYPE_HMAC, C.PSA_KEY_TYPE_DERIVE,
                                      C.PSA_KEY_TYPE_RAW_DATA, 0xFFFF]),
                     st.sampled_from([0, 1, 8, 128, 192, 256, 0xFFFF]), st.integers(0, 2**32 - 1),
                     st.sampled_from(ALGS + [0]), st.sampled_from([0, 1, 0xFFFFFFFF]), st.integers(0, 2**32 - 1))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_call_gets_a_status_never_a_fault(world, data):
    s, keys = world
    func = data.draw(st.sampled_from(sorted(S.HANDLERS)), "function")
    hdr = struct.pack(C.HEADER_FORMAT, func, data.draw(st.sampled_from(STEPS) | st.integers(0, 0xFFFF), "step"),
                      data.draw(st.sampled_from(keys + [0, 0xFFFFFFFF, C.KEY_ID_PSK, C.KEY_ID_IAK]), "key"),
                      data.draw(st.sampled_from(ALGS) | st.integers(0, 2**32 - 1), "alg"),
                      data.draw(st.integers(0, 12) | st.integers(0, 2**32 - 1), "op"))
    n_in = data.draw(st.integers(0, 3), "extra in-vectors")
    ins = [hdr] + [data.draw(_attrs_bytes() | st.binary(max_size=80), "in") for _ in range(n_in)]
    outs = [psa.psa_outvec(bytearray(data.draw(st.sampled_from([0, 4, 8, 16, 32, 64, 100]), "out")))
            for _ in range(data.draw(st.integers(0, 4 - len(ins)), "out-vectors"))]
    del s.faults[:]
    status = psa.psa_call(C.TFM_CRYPTO_HANDLE, psa.PSA_IPC_CALL, ins, outs)
    assert s.faults == []
    assert status == psa.PSA_SUCCESS or status < 0
    assert status != psa.PSA_ERROR_SERVICE_FAILURE
    for o in outs:
        assert 0 <= o.len <= len(o.base)
