"""The native-emitter build (`sensorkit deploy --native`) of the TLS engine against real peers: device/
compiled by `mpy-cross -X emit=native -march=<this micropython's arch>`, the engine running from that tree on
the `micropython` command against `openssl s_server -nocert -psk` and the python-mbedtls server, every suite,
plus the failure paths (wrong key, unknown identity) and MicroPython's own native `tls` backend."""

import os

import pytest

from tests import micropython_lane as lane
from tests.interop import peers
from tests.interop.test_tls_interop import LINE, REV, SUITES, _mp_client, _mp_ok
from tools import deploy


@pytest.fixture(scope="module")
def native_tree(tmp_path_factory):
    """device/ compiled to machine code (every module native: no bytecode fallback), plus the client driver."""
    tree = tmp_path_factory.mktemp("native-tree")
    fallbacks = {}
    lane.compile_tree(str(tree), trees=("device",), flags=lane.native_flags(), fallbacks=fallbacks)
    assert not fallbacks, fallbacks
    (tree / "tools").mkdir()
    with open(os.path.join(lane.ROOT, "tools", "tls_mp_client.py")) as f:
        (tree / "tools" / "tls_mp_client.py").write_text(f.read())
    arch = lane.native_arch()
    for rel in ("device/tls/connection.mpy", "device/tls/keys.mpy", "device/partitions/crypto/ccm.mpy",
                "device/psa/spm.mpy"):
        assert deploy.mpy_arch(str(tree / rel)) == arch, rel
    assert not (tree / "device" / "tls" / "connection.py").exists()
    return str(tree)


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_micropython_native_build(native_tree, suite):
    with peers.openssl(suite) as p:
        _mp_ok(p.port, suite, REV, root=native_tree)


@pytest.mark.parametrize("suite", SUITES)
def test_mbedtls_micropython_native_build(native_tree, suite):
    with peers.mbedtls(suite) as p:
        _mp_ok(p.port, suite, LINE, root=native_tree)
        p.wait_for("HANDSHAKE OK")


def test_wrong_key_micropython_native_build(native_tree):
    with peers.openssl("ccm8") as p:
        rc, lines, err = _mp_client(p.port, "ccm8", psk="00" * 16, root=native_tree)
        assert rc == 1
        assert lines[-1] == "ERROR handshake failed: peer sent alert bad_record_mac: from the server", lines


def test_unknown_identity_micropython_native_build(native_tree):
    with peers.mbedtls("gcm") as p:
        rc, lines, err = _mp_client(p.port, "gcm", identity="nobody", root=native_tree)
        assert rc == 1 and "unknown_psk_identity" in lines[-1], lines


def test_native_tls_backend_from_the_native_build(native_tree):
    with peers.openssl("gcm") as p:
        _mp_ok(p.port, "gcm", REV, root=native_tree, native=True)
