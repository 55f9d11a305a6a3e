"""`sensorkit tls-client` against a real openssl s_server, on CPython and on MicroPython."""

import subprocess
import sys

import pytest

from tests.interop import peers


def _cli(port, *extra, psk=peers.PSK_HEX, stdin=None):
    argv = [sys.executable, "-m", "tools.cli", "tls-client", "--host", "127.0.0.1", "--port", str(port),
            "--identity", peers.IDENTITY, "--psk", psk, "--wait", "0.5"] + list(extra)
    return subprocess.run(argv, capture_output=True, timeout=120, cwd=peers.ROOT, input=stdin)


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
@pytest.mark.parametrize("suite", ["ccm", "cbc"])
def test_tls_client_send(runtime, suite):
    with peers.openssl(suite) as p:
        r = _cli(p.port, "--suite", suite, "--runtime", runtime, "--send", "abc def\n")
    out = r.stdout.decode()
    assert r.returncode == 0, (out, r.stderr)
    name = {"ccm": "TLS_PSK_WITH_AES_128_CCM (0xC0A4)", "cbc": "TLS_PSK_WITH_AES_128_CBC_SHA256 (0x00AE)"}[suite]
    assert out.splitlines()[0].startswith("suite: " + name)
    assert "fed cba\n" in out


def test_tls_client_stdin():
    with peers.openssl("ccm8") as p:
        r = _cli(p.port, "--suite", "ccm8", stdin=b"from stdin\n")
    assert r.returncode == 0, r.stderr
    assert b"nidts morf\n" in r.stdout


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_tls_client_wrong_key_one_line(runtime):
    with peers.openssl("gcm") as p:
        r = _cli(p.port, "--suite", "gcm", "--runtime", runtime, "--send", "x\n", psk="11" * 16)
    assert r.returncode == 1
    err = r.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "bad_record_mac" in err[0] and err[0].startswith("tls-client: "), err


def test_tls_client_bad_arguments():
    r = _cli(1, psk="zz")
    assert r.returncode == 1 and b"not hex" in r.stderr
    r = subprocess.run([sys.executable, "-m", "tools.cli", "tls-client", "--help"], capture_output=True,
                       cwd=peers.ROOT, timeout=60)
    assert r.returncode == 0 and b"--runtime" in r.stdout
