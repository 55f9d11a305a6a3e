"""GCM's GHASH paths (big ints; small-int limbs with nibble tables; limbs with byte tables) against
pyca/cryptography's AESGCM on random inputs, lengths biased to block edges, and on one key hashing
through the nibble -> byte table upgrade."""

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from device.partitions.crypto import aes, gcm

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
keys = st.sampled_from((16, 32)).flatmap(lambda n: st.binary(min_size=n, max_size=n))
# lengths at and around block edges, plus anything up to 100
edge = st.one_of(st.sampled_from((0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64)), st.integers(0, 100))
nonces = st.one_of(st.just(12), st.integers(8, 64)).flatmap(lambda n: st.binary(min_size=n, max_size=n))
tags = st.sampled_from((4, 8, 12, 13, 14, 15, 16))


def _upgraded(cipher):
    g = gcm.GCM(cipher, True)
    while g._t8 is None:
        g.encrypt(bytes(12), b"", bytes(64))
    return g


@pytest.mark.parametrize("path", ["big", "nibble", "byte"])
@SETTINGS
@given(key=keys, nonce=nonces, al=edge, ml=edge, tag=tags, seed=st.integers(0, 255))
def test_each_path_matches_cryptography(path, key, nonce, al, ml, tag, seed):
    c = aes.new(key, "pure")
    g = {"big": lambda: gcm.GCM(c, False), "nibble": lambda: gcm.GCM(c, True), "byte": lambda: _upgraded(c)}[path]()
    aad = bytes((seed + i) & 0xFF for i in range(al))
    pt = bytes((seed * 7 + i) & 0xFF for i in range(ml))
    want = AESGCM(key).encrypt(nonce, pt, aad)[: ml + tag]  # a shortened tag is the full tag's prefix
    assert g.encrypt(nonce, aad, pt, tag) == want
    assert g.decrypt(nonce, memoryview(aad), memoryview(want), tag) == pt  # memoryviews, as the partition passes
    bad = bytearray(want)
    bad[seed % len(bad)] ^= 1 << (seed % 8)
    with pytest.raises(aes.InvalidTag):
        g.decrypt(nonce, aad, bytes(bad), tag)


@SETTINGS
@given(key=keys, seq=st.lists(st.tuples(edge, edge, st.integers(0, 255)), min_size=10, max_size=30))
def test_one_key_through_the_upgrade_matches_cryptography(key, seq):
    g = gcm.GCM(aes.new(key, "pure"), True)
    ref = AESGCM(key)
    for i, (al, ml, seed) in enumerate(seq):
        nonce = bytes((seed + i + j) & 0xFF for j in range(12))
        aad = bytes((seed + j) & 0xFF for j in range(al))
        pt = bytes((seed ^ j) & 0xFF for j in range(ml))
        want = ref.encrypt(nonce, pt, aad)
        assert g.encrypt(nonce, aad, pt) == want, (i, g._t8 is not None)
        assert g.decrypt(nonce, aad, want) == pt
