"""Attestation tokens checked by real peers: pycose (COSE_Mac0, HMAC 256/256) and cbor2.

The tokens come from the attestation partition of a simulated device provisioned with
tools/provision.py; tools/attestation.verify_token is the verifier the gateway reuses.
"""

import os

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycose.algorithms import HMAC256
from pycose.headers import Algorithm, KID
from pycose.keys import SymmetricKey
from pycose.messages import Mac0Message

from device.partitions.attest import measure
from device.partitions.attest import token as T
from tools import provision as prov
from tools import token as tokentool
from tools.attestation import AttestationError, check_registry_entry, format_claims, verify_token

IAK = bytes.fromhex("a1" * 16 + "5c" * 16)
PSK = bytes(range(32))
CHALLENGE = bytes(range(100, 132))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("device"))
    prov.provision(d, "sensor-0001", PSK, IAK)
    return d


@pytest.fixture(scope="module")
def token(store):
    return tokentool.make(store, CHALLENGE)


def _pycose(tok):
    """A pycose Mac0Message from our token (decoded with cbor2; see tools/attestation.py)."""
    obj = cbor2.loads(tok)
    assert isinstance(obj, cbor2.CBORTag) and obj.tag == 17
    p, u, payload, tag = obj.value
    return Mac0Message.from_cose_obj([p, dict(u), payload, tag], True)


def test_pycose_verifies_the_tag_with_the_iak_only(token):
    msg = _pycose(token)
    assert msg.phdr == {Algorithm: HMAC256}
    msg.key = SymmetricKey(k=IAK)
    assert msg.verify_tag()
    other = _pycose(token)
    other.key = SymmetricKey(k=bytes(32))
    assert not other.verify_tag()


def test_pycose_makes_the_same_bytes(token):
    # the same payload MACed by pycose gives our token byte for byte
    payload = cbor2.loads(token).value[2]
    msg = Mac0Message(phdr={Algorithm: HMAC256}, uhdr={}, payload=payload)
    msg.key = SymmetricKey(k=IAK)
    assert msg.encode(tag=True) == token


def test_cbor2_decodes_every_claim(token):
    claims = cbor2.loads(cbor2.loads(token).value[2])
    K = dict((k, v[0]) for k, v in T.CLAIM_KEYS.items())
    assert claims[K["nonce"]] == CHALLENGE
    assert len(claims[K["boot_seed"]]) == 32
    assert claims[K["instance_id"]] == T.instance_id_from_iak(IAK)
    assert claims[K["client_id"]] == -1
    assert claims[K["lifecycle"]] == 0x3000
    assert claims[K["profile"]] == "PSA_IOT_PROFILE_1"
    (comp,) = claims[K["sw_components"]]
    assert comp[1] == "sensorkit" and comp[6] == "sha-256"
    assert comp[2] == measure.measure_tree(prov.ROOT)  # what this checkout's device code measures


def test_verify_token_returns_the_claims(token):
    c = verify_token(token, IAK, challenge=CHALLENGE)
    assert c["profile"] == "psa-iot-1" and c["nonce"] == CHALLENGE
    assert c["instance_id"] == T.instance_id_from_iak(IAK)
    assert c["lifecycle_name"] == "secured"
    assert c["sw_components"][0]["measurement"].hex() == prov.code_measurements()["sensorkit"]
    text = format_claims(c)
    assert "secured" in text and CHALLENGE.hex() in text


def _fails(tok, reason_part, key=IAK, challenge=CHALLENGE, **kw):
    with pytest.raises(AttestationError) as e:
        verify_token(tok, key, challenge=challenge, **kw)
    assert reason_part in e.value.reason, e.value.reason


def test_tampered_payload_fails(token):
    payload = cbor2.loads(token).value[2]
    i = token.index(payload) + len(payload) // 2
    bad = token[:i] + bytes([token[i] ^ 0x01]) + token[i + 1:]
    _fails(bad, "MAC mismatch")


def test_bytes_after_the_token_fail(token):
    """cbor2.loads ignores trailing bytes; the verifier must not (found by the mutation test below)."""
    _fails(token + b"\x00", "not well-formed CBOR")
    with pytest.raises(AttestationError):
        verify_token(token + token, IAK, challenge=CHALLENGE)


def test_wrong_key_fails(token):
    _fails(token, "MAC mismatch", key=os.urandom(32))


def test_wrong_challenge_fails(token):
    _fails(token, "nonce does not match", challenge=bytes(32))


def test_challenge_must_be_bytes(token):
    with pytest.raises(TypeError):
        verify_token(token, IAK, challenge=32)  # not 32 zero bytes


def test_untagged_or_mistagged_token_fails(token):
    assert token[0] == 0xD1
    _fails(token[1:], "not tagged")
    _fails(b"\xd2" + token[1:], "tag 18")
    _fails(token[:-5], "not well-formed CBOR")
    _fails(b"", "not well-formed CBOR")


def _mac0(claims, key=IAK, phdr=None, uhdr=None):
    msg = Mac0Message(phdr=phdr or {Algorithm: HMAC256}, uhdr=uhdr or {}, payload=cbor2.dumps(claims))
    msg.key = SymmetricKey(k=key)
    return msg.encode(tag=True)


def test_claim_checks_on_correctly_maced_tokens(token):
    claims = dict(cbor2.loads(cbor2.loads(token).value[2]))
    K = dict((k, v[0]) for k, v in T.CLAIM_KEYS.items())
    assert verify_token(_mac0(claims), IAK)["client_id"] == -1  # re-MACed as is: fine
    c = dict(claims)
    c[K["instance_id"]] = b"\x01" + bytes(32)
    _fails(_mac0(c), "instance id is not", challenge=None)
    c = dict(claims)
    c[K["nonce"]] = bytes(31)
    _fails(_mac0(c), "nonce has 31 bytes", challenge=None)
    c = dict(claims)
    c[K["boot_seed"]] = bytes(16)
    _fails(_mac0(c), "boot seed", challenge=None)
    c = dict(claims)
    del c[K["sw_components"]]
    _fails(_mac0(c), "neither software components", challenge=None)
    c[K["no_sw_components"]] = 1
    assert verify_token(_mac0(c), IAK)["sw_components"] == []
    c = dict(claims)
    del c[K["client_id"]]
    _fails(_mac0(c), "missing claim: client id", challenge=None)
    # HMAC 384/384 (alg 6) in the protected header is not what we accept
    msg = Mac0Message(phdr={Algorithm: 6}, uhdr={}, payload=cbor2.dumps(claims))
    enc = cbor2.dumps(cbor2.CBORTag(17, [cbor2.dumps({1: 6}), {}, msg.payload, bytes(32)]))
    _fails(enc, "protected header", challenge=None)


def test_kid_is_reported(token):
    claims = dict(cbor2.loads(cbor2.loads(token).value[2]))
    assert verify_token(_mac0(claims, uhdr={KID: b"k1"}), IAK)["kid"] == b"k1"


def test_profile_psa_2_0(store):
    tok = tokentool.make(store, CHALLENGE, "psa-2.0")
    claims = cbor2.loads(cbor2.loads(tok).value[2])
    assert claims[10] == CHALLENGE and claims[265] == "tag:psacertified.org,2023:psa#tfm"
    assert verify_token(tok, IAK, challenge=CHALLENGE, profile="psa-2.0")["profile"] == "psa-2.0"
    _fails(tok, "psa-2.0 profile, psa-iot-1 was required", profile="psa-iot-1")


def test_registry_checks(token):
    c = verify_token(token, IAK)
    entry = prov.registry_entry("sensor-0001", PSK, IAK, c["instance_id"], prov.code_measurements())
    check_registry_entry(c, entry)
    with pytest.raises(AttestationError, match="lifecycle secured"):
        check_registry_entry(c, dict(entry, lifecycles=[0x4000]))
    with pytest.raises(AttestationError, match="not an allowed measurement"):
        check_registry_entry(c, dict(entry, measurements={"sensorkit": ["00" * 32]}))
    with pytest.raises(AttestationError, match="not reported"):
        check_registry_entry(c, dict(entry, measurements=dict(entry["measurements"], app=["11" * 32])))
    with pytest.raises(AttestationError, match="instance id"):
        check_registry_entry(c, dict(entry, instance_id="01" + "00" * 32))
    # a malformed registry entry is reported as such, never as a KeyError/TypeError/ValueError of its own
    for bad in (dict(entry, instance_id="zz"), dict(entry, instance_id=5), dict(entry, lifecycles=0x3000),
                dict(entry, lifecycles=["0x3000"]), dict(entry, measurements=["00" * 32]),
                dict(entry, measurements={"sensorkit": "00" * 32}), dict(entry, measurements={"sensorkit": [7]}),
                ["not", "a", "map"]):
        with pytest.raises(AttestationError, match="registry entry"):
            check_registry_entry(c, bad)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_mutation_fails_with_attestation_error(token, data):
    """Flip, drop or insert bytes anywhere: only AttestationError, never acceptance."""
    tok = bytearray(token)
    kind = data.draw(st.sampled_from(["flip", "drop", "insert"]))
    i = data.draw(st.integers(0, len(tok) - 1))
    if kind == "flip":
        tok[i] ^= data.draw(st.integers(1, 255))
    elif kind == "drop":
        del tok[i]
    else:
        tok.insert(i, data.draw(st.integers(0, 255)))
    with pytest.raises(AttestationError):
        verify_token(bytes(tok), IAK, challenge=CHALLENGE)


@pytest.mark.parametrize("uhdr", [{1: "x"}, {1: -999}, {4: [1]}, {2: 1}, {-1: {}}])
def test_malformed_unprotected_header_fails_with_attestation_error(token, uhdr):
    """pycose's own exceptions for a bad unprotected header surface as AttestationError."""
    phdr, _u, payload, tag = cbor2.loads(token).value
    bad = cbor2.dumps(cbor2.CBORTag(17, [phdr, uhdr, payload, tag]))
    with pytest.raises(AttestationError, match="not valid COSE"):
        verify_token(bad, IAK, challenge=CHALLENGE)


def test_token_size_without_software_components_is_tf_m_s(store):
    from device.psa import attest, spm

    spm.configure(storage_root=store, attest_sw_components=[])
    tok = attest.psa_initial_attest_get_token(CHALLENGE)
    assert len(tok) == 244  # TF-M: about 244 bytes for this shape
    assert verify_token(tok, IAK, challenge=CHALLENGE)["sw_components"] == []
