"""The secrets stay secure: after provisioning a PSK and an IAK into the secure world (child process) and
using both, no object in this NS process holds the key bytes.

The test never keeps a key as bytes: each key lives here only as two ints (key ^ mask, mask), and the
provisioning crosses the pipe in that form too, so any byte string equal to (or containing) a key that the
scan finds in this process is a leak through the NS/S boundary. The scanner is itself tested on planted
leaks first.
"""

import gc
import hashlib
import hmac
import os
import sys

from device import psa
from device.psa import crypto as C
from psa_shim import SecureWorld
from tests.device import crypto_fixtures as cf
from tests.host.prf_oracle import p_sha256

PARTS = ["its", "crypto", "tests.device.crypto_fixtures:AttestStandIn"]
PSK_TO_MS = C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256)


def _unmask(masked, mask, n):
    return (masked ^ mask).to_bytes(n, "big")


def provision_masked(psk_masked, psk_mask, psk_len, iak_masked, iak_mask, iak_len):
    """Runs inside the secure world: rebuild both keys from their masked halves and provision them."""
    from device.partitions import crypto

    crypto.provision_psk(_unmask(psk_masked, psk_mask, psk_len))
    crypto.provision_iak(_unmask(iak_masked, iak_mask, iak_len))


class Secret:
    """A key known to the test only as masked ints; .bytes() builds it transiently."""

    def __init__(self, n):
        self.n = n
        self.mask = int.from_bytes(os.urandom(n), "big")
        self.masked = int.from_bytes(os.urandom(n), "big") ^ self.mask  # = key ^ mask for a random key

    def bytes(self):
        return _unmask(self.masked, self.mask, self.n)


def _expected(psk_secret, iak_secret, seed, label, data):
    """RFC 4279 / RFC 5246 master secret and the HMAC over data, computed from transient key copies."""
    psk = psk_secret.bytes()
    n = len(psk).to_bytes(2, "big")
    ms = p_sha256(n + bytes(len(psk)) + n + psk, label + seed, 48)
    mac = hmac.new(iak_secret.bytes(), data, hashlib.sha256).digest()
    return ms, mac


def _contents(obj):
    if isinstance(obj, dict):
        for k, v in list(obj.items()):
            yield k
            yield v
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from list(obj)
    else:
        try:
            d = object.__getattribute__(obj, "__dict__")
        except (AttributeError, TypeError):
            return
        if isinstance(d, dict):
            yield from list(d.values())


def holders(secret):
    """Every object of this process (gc-tracked objects, their contents, live frames' locals) that holds
    the key bytes: as bytes/bytearray/memoryview content, as hex text, or as the key's integer value."""
    needle = secret.bytes()
    ints = {int.from_bytes(needle, "big"), int.from_bytes(needle, "little")}
    hexes = (needle.hex(), needle.hex().upper())
    mine = {id(needle), id(hexes), id(ints)} | {id(h) for h in hexes} | {id(i) for i in ints}
    found = []

    def check(o):
        if id(o) in mine:
            return
        t = type(o)
        if t is bytes or t is bytearray:
            if needle in o:
                found.append(repr(o[:16]))
        elif t is memoryview:
            try:
                if needle in o.tobytes():
                    found.append("memoryview")
            except (TypeError, ValueError):
                pass
        elif t is str:
            if len(o) >= len(hexes[0]) and (hexes[0] in o or hexes[1] in o):
                found.append("str " + o[:16])
        elif t is int:
            if o in ints:
                found.append("int")

    # live frames first: reading f_locals also refreshes each frame's cached locals snapshot, which
    # would otherwise keep objects a test has already deleted alive through the collection below
    for frame in sys._current_frames().values():
        f = frame
        while f is not None:
            for v in list(f.f_locals.values()):
                check(v)
            f = f.f_back
    gc.collect()
    objs = gc.get_objects()
    mine.add(id(objs))
    mine.add(id(found))
    for obj in objs:
        check(obj)
        for x in _contents(obj):
            check(x)
    del objs
    return found


def test_the_scanner_finds_planted_leaks():
    s = Secret(32)
    planted = [b"pre" + s.bytes() + b"post"]
    assert holders(s)

    class Holder:
        pass

    h = Holder()
    planted.clear()
    h.k = bytearray(s.bytes())
    assert holders(s)
    h.k = s.bytes().hex()
    assert holders(s)
    del h
    gc.collect()
    assert holders(s) == []


def test_psk_and_iak_never_reach_the_ns_process():
    psk, iak = Secret(32), Secret(32)
    seed, label, data = os.urandom(64), b"master secret", b"attest me"
    with SecureWorld(partitions=PARTS) as sw:
        sw.secure_exec("tests.host.test_secret_scan:provision_masked",
                       psk.masked, psk.mask, psk.n, iak.masked, iak.mask, iak.n)
        # use the PSK from NS: TLS 1.2 PSK-to-master-secret inside the crypto partition
        op = C.psa_key_derivation_setup(PSK_TO_MS)
        C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SEED, seed)
        C.psa_key_derivation_input_key(op, C.PSA_KEY_DERIVATION_INPUT_SECRET, C.KEY_ID_PSK)
        C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_LABEL, label)
        ms = C.psa_key_derivation_output_bytes(op, 48)
        C.psa_key_derivation_abort(op)
        # use the IAK: only its owner (the attestation partition, pid 261) may; NS may not
        st, mac = cf.standin_call(cf.MAC, C.KEY_ID_IAK, data, 32)
        assert st == psa.PSA_SUCCESS
        assert cf.status_of(C.psa_mac_compute, C.KEY_ID_IAK, C.PSA_ALG_HMAC(C.PSA_ALG_SHA_256), data) == (
            psa.PSA_ERROR_NOT_PERMITTED)
        for kid in (C.KEY_ID_PSK, C.KEY_ID_IAK):
            assert cf.status_of(C.psa_export_key, kid) == psa.PSA_ERROR_NOT_PERMITTED
        assert cf.standin_call(cf.EXPORT, C.KEY_ID_IAK)[0] == psa.PSA_ERROR_NOT_PERMITTED
        # the keys did their work (checked against transient copies, dropped before the scan)
        want_ms, want_mac = _expected(psk, iak, seed, label, data)
        assert ms == want_ms and mac == want_mac
        del want_ms, want_mac
        gc.collect()
        assert any(e["op"] == "call" for e in sw.log)
        assert holders(psk) == [] and holders(iak) == []
    gc.collect()
    assert holders(psk) == [] and holders(iak) == []
