"""Interop of the device.tls engine with real peers on 127.0.0.1: `openssl s_server -nocert -psk`
and a python-mbedtls PSK server, every suite, on CPython and on MicroPython (the engine running on
the `micropython` command over real loopback sockets, .py and .mpy)."""

import os
import socket

import pytest

from device.tls import TLSError, wrap_socket
from tests import micropython_lane as lane
from tests.interop import peers

SUITES = ["ccm", "ccm8", "gcm", "cbc"]
LINE = b"temperature 21.5 humidity 40.2\n"
REV = LINE[:-1][::-1] + b"\n"


def _connect(port, suite, identity=peers.IDENTITY, psk=peers.PSK, **kw):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return wrap_socket(s, identity, psk, suites=[suite] if isinstance(suite, str) else suite, **kw)
    except Exception:
        s.close()
        raise


def _read_exactly(t, n):
    got = b""
    while len(got) < n:
        chunk = t.read()
        assert chunk, "server closed early after %r" % got
        got += chunk
    return got


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_cpython(suite):
    with peers.openssl(suite) as p:
        t = _connect(p.port, suite)
        assert t.cipher_suite == peers.SUITE_NUMBER[suite]
        assert t.conn.extended_master_secret
        assert t.conn.encrypt_then_mac == (suite == "cbc")
        t.write(LINE)
        assert _read_exactly(t, len(REV)) == REV
        t.close()


@pytest.mark.parametrize("suite", SUITES)
def test_mbedtls_cpython(suite):
    with peers.mbedtls(suite) as p:
        t = _connect(p.port, suite)
        assert t.cipher_suite == peers.SUITE_NUMBER[suite]
        p.wait_for("HANDSHAKE OK")
        blob = bytes(range(256)) * 80  # 20 KB: several records each way
        t.write(blob)
        assert _read_exactly(t, len(blob)) == blob
        t.close()


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_cbc_mac_then_encrypt_when_server_refuses_etm(runtime):
    """openssl -no_etm: classic MAC-then-encrypt CBC (RFC 5246 §6.2.3.2), both directions, many sizes."""
    with peers.openssl("cbc", extra=["-no_etm"]) as p:
        if runtime == "micropython":
            _mp_ok(p.port, "cbc", REV)
            return
        t = _connect(p.port, "cbc")
        assert t.cipher_suite == 0x00AE and not t.conn.encrypt_then_mac
        for n in (0, 1, 14, 15, 16, 31, 47, 200):
            line = b"x" * n + b"y\n"
            t.write(line)
            assert _read_exactly(t, len(line)) == line[:-1][::-1] + b"\n"
        t.close()


def test_close_notify_reaches_the_server():
    with peers.mbedtls("ccm8") as p:
        t = _connect(p.port, "ccm8")
        t.write(b"bye")
        assert _read_exactly(t, 3) == b"bye"
        t.close()
        p.wait_for("CLOSED close_notify")


def test_default_offer_gets_ccm_and_server_preference_within_offer():
    with peers.openssl("ALL:PSK") as p:  # openssl picks from our offer; CCM is offered first
        t = _connect(p.port, None)
        assert t.cipher_suite in peers.SUITE_NUMBER.values()
        t.close()
    with peers.mbedtls(["gcm", "ccm"]) as p:
        t = _connect(p.port, ["ccm", "gcm"])
        assert t.cipher_suite in (0xC0A4, 0x00A8)
        t.close()


@pytest.mark.parametrize("server", ["openssl", "mbedtls"])
def test_max_fragment_length(server):
    """max_fragment_length=1024 agreed by the server; records bigger than that each way would fail."""
    peer = peers.openssl("ccm") if server == "openssl" else peers.mbedtls("ccm", mfl=1024)
    with peer as p:
        t = _connect(p.port, "ccm", max_fragment_length=1024)
        assert t.conn.send_limit == 1024 and t.conn.recv_limit == 1024
        line = os.urandom(2500).hex().encode()  # 5000 bytes -> 5 records each way
        t.write(line + b"\n")
        expect = line[::-1] + b"\n" if server == "openssl" else line + b"\n"
        assert _read_exactly(t, len(expect)) == expect
        t.close()


def test_wrong_key_openssl():
    with peers.openssl("ccm") as p:
        with pytest.raises(TLSError) as ei:
            _connect(p.port, "ccm", psk=bytes(16))
        assert ei.value.received and ei.value.alert == "bad_record_mac"


def test_wrong_key_mbedtls():
    with peers.mbedtls("ccm") as p:
        with pytest.raises(TLSError) as ei:
            _connect(p.port, "ccm", psk=b"\x01" * 16)
        assert ei.value.received and ei.value.alert == "bad_record_mac"
        p.wait_for("ERROR")


def test_unknown_identity_mbedtls():
    with peers.mbedtls("ccm") as p:
        with pytest.raises(TLSError) as ei:
            _connect(p.port, "ccm", identity="who-is-this")
        assert ei.value.received and ei.value.alert == "unknown_psk_identity"


def test_no_common_suite_openssl():
    with peers.openssl("gcm") as p:
        with pytest.raises(TLSError) as ei:
            _connect(p.port, "ccm")
        assert ei.value.received and ei.value.alert == "handshake_failure"


# -- the engine on MicroPython --------------------------------------------------------------------
def _mp_client(port, suite, send=LINE, identity=peers.IDENTITY, psk=peers.PSK_HEX, root=lane.ROOT, native=False,
               wait_ms=300):
    script = os.path.join(root, "tools", "tls_mp_client.py")
    if not os.path.exists(script):
        script = os.path.join(lane.ROOT, "tools", "tls_mp_client.py")
    args = [script, "127.0.0.1", str(port), identity, psk, suite, send.hex() or "-", str(wait_ms)]
    if native:
        args.append("native")
    # from source (this checkout), the compiler's work shares the heap: the .py lane's heap; compiled (.mpy
    # tree), the heap a board's .mpy lane gets
    heap = lane.HEAPSIZE_SOURCE if root == lane.ROOT else lane.HEAPSIZE
    r = lane.run(args, cwd=root, timeout=60, heapsize=heap)
    lines = r.stdout.splitlines()
    return r.returncode, lines, r.stderr


def _mp_ok(port, suite, expect, **kw):
    rc, lines, err = _mp_client(port, suite, **kw)
    assert rc == 0, (lines, err)
    assert lines[0] == "SUITE %d" % peers.SUITE_NUMBER[suite], lines
    got = b"".join(bytes.fromhex(l[5:]) for l in lines if l.startswith("RECV "))
    assert got == expect, lines
    return lines


@pytest.mark.parametrize("suite", SUITES)
def test_openssl_micropython(suite):
    with peers.openssl(suite) as p:
        _mp_ok(p.port, suite, REV)


@pytest.mark.parametrize("suite", SUITES)
def test_mbedtls_micropython(suite):
    with peers.mbedtls(suite) as p:
        _mp_ok(p.port, suite, LINE)
        p.wait_for("HANDSHAKE OK")


def test_openssl_micropython_from_mpy(tmp_path):
    lane.compile_tree(str(tmp_path), trees=("device",))
    os.makedirs(tmp_path / "tools")
    with open(os.path.join(lane.ROOT, "tools", "tls_mp_client.py")) as f:
        (tmp_path / "tools" / "tls_mp_client.py").write_text(f.read())
    assert not (tmp_path / "device" / "tls" / "connection.py").exists()
    with peers.openssl("ccm") as p:
        _mp_ok(p.port, "ccm", REV, root=str(tmp_path))


def test_wrong_key_micropython():
    with peers.openssl("ccm8") as p:
        rc, lines, err = _mp_client(p.port, "ccm8", psk="00" * 16)
        assert rc == 1
        assert lines[-1] == "ERROR handshake failed: peer sent alert bad_record_mac: from the server", lines


def test_unknown_identity_micropython():
    with peers.mbedtls("gcm") as p:
        rc, lines, err = _mp_client(p.port, "gcm", identity="nobody")
        assert rc == 1 and "unknown_psk_identity" in lines[-1], lines


def test_native_backend_micropython():
    """backend="native" (MicroPython's own mbedTLS PSK; raw key in NS memory) against openssl."""
    with peers.openssl("gcm") as p:
        _mp_ok(p.port, "gcm", REV, native=True)


def test_provisioned_psk_by_key_id(tmp_path):
    """The PSK provisioned into the crypto partition (ITS) and used by key id: never in NS memory."""
    from device import psa
    from device.psa import crypto, spm
    from device.partitions import crypto as crypto_partition

    spm.configure(storage_root=str(tmp_path))
    try:
        crypto_partition.provision_psk(peers.PSK)
        with pytest.raises(psa.PSAError) as ei:
            crypto.psa_export_key(crypto.KEY_ID_PSK)
        assert ei.value.status == psa.PSA_ERROR_NOT_PERMITTED
        with peers.openssl("ccm") as p:
            t = _connect(p.port, "ccm", psk=crypto.KEY_ID_PSK)
            t.write(LINE)
            assert _read_exactly(t, len(REV)) == REV
            t.close()
        # the key survives the connection (only volatile session keys are destroyed)
        assert crypto.psa_get_key_attributes(crypto.KEY_ID_PSK).usage & crypto.PSA_KEY_USAGE_DERIVE
    finally:
        spm.configure()  # back to the default secure world


def test_secure_world_in_another_process():
    """Under psa_shim the secure world is a child process: the PSK is provisioned there (factory
    step), the engine in this process handshakes with openssl by key id, and every key operation
    crosses the NS/S boundary (the shim's log shows the calls; it never holds contents)."""
    from device import psa
    from device.psa import crypto
    from psa_shim import SecureWorld

    with SecureWorld() as sw:
        sw.secure_exec("device.partitions.crypto:provision_psk", peers.PSK)
        with pytest.raises(psa.PSAError) as ei:
            crypto.psa_export_key(crypto.KEY_ID_PSK)
        assert ei.value.status == psa.PSA_ERROR_NOT_PERMITTED
        before = len(sw.log)
        with peers.openssl("ccm8") as p:
            t = _connect(p.port, "ccm8", psk=crypto.KEY_ID_PSK)
            t.write(LINE)
            assert _read_exactly(t, len(REV)) == REV
            t.close()
        calls = [e for e in sw.log[before:] if e.get("op") == "call"]
        assert len(calls) >= 20 and all(e.get("status") == 0 for e in calls), calls[-3:]
        assert not sw.violations
