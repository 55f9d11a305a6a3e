"""Real TLS-PSK peers for the tests: `openssl s_server` and the python-mbedtls server.

Each is started on 127.0.0.1 with an ephemeral port, waited for (its ACCEPT line, bounded),
and stopped by pid. Output lines are collected in a queue for the tests to wait on.
"""

import os
import queue
import re
import shutil
import subprocess
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PSK_HEX = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PSK = bytes.fromhex(PSK_HEX)
IDENTITY = "sensorkit-dev-1"

OPENSSL_CIPHER = {"ccm": "PSK-AES128-CCM", "ccm8": "PSK-AES128-CCM8", "gcm": "PSK-AES128-GCM-SHA256",
                  "cbc": "PSK-AES128-CBC-SHA256"}
MBEDTLS_CIPHER = {"ccm": "TLS-PSK-WITH-AES-128-CCM", "ccm8": "TLS-PSK-WITH-AES-128-CCM-8",
                  "gcm": "TLS-PSK-WITH-AES-128-GCM-SHA256", "cbc": "TLS-PSK-WITH-AES-128-CBC-SHA256"}
SUITE_NUMBER = {"ccm": 0xC0A4, "ccm8": 0xC0A8, "gcm": 0x00A8, "cbc": 0x00AE}
WAIT = 20.0  # seconds: upper bound for a peer to start or to print an expected line


class Peer:
    def __init__(self, argv, name):
        self.name = name
        self.lines = queue.Queue()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self._t = threading.Thread(target=self._reader, daemon=True)
        self._t.start()
        self.port = None
        m = self.wait_for(r"ACCEPT\s.*?(\d+)\s*$")
        self.port = int(m.group(1))

    def _reader(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern, timeout=WAIT):
        """Wait (bounded) for an output line matching `pattern`; returns the match."""
        rx = re.compile(pattern)
        seen = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("%s: no line matching %r within %ss; saw %r" % (self.name, pattern, timeout, seen))
            if line is None:
                raise AssertionError("%s exited (rc=%s) before %r; saw %r" % (self.name, self.proc.poll(), pattern, seen))
            seen.append(line)
            m = rx.search(line)
            if m:
                return m

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=WAIT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def openssl(suite="ccm", psk_hex=PSK_HEX, identity=IDENTITY, extra=(), rev=True):
    exe = shutil.which("openssl")
    assert exe, "openssl not installed (apt-get install openssl)"
    argv = [exe, "s_server", "-nocert", "-psk", psk_hex, "-psk_identity", identity, "-tls1_2",
            "-cipher", OPENSSL_CIPHER.get(suite, suite), "-accept", "127.0.0.1:0", "-naccept", "1"]
    if rev:
        argv.append("-rev")
    return Peer(argv + list(extra), "openssl s_server")


def mbedtls(suite="ccm", store=None, mfl=None):
    store = store or {IDENTITY: PSK_HEX}
    argv = [sys.executable, "-m", "tests.interop.mbedtls_psk_server"]
    for s in (suite if isinstance(suite, (list, tuple)) else [suite]):
        argv += ["--suite", MBEDTLS_CIPHER.get(s, s)]
    for ident, key in store.items():
        argv += ["--psk", "%s=%s" % (ident, key)]
    if mfl:
        argv += ["--mfl", str(mfl)]
    return Peer(argv, "python-mbedtls server")
