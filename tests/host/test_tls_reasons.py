"""Each `_R_NAME = const(n)  # text` of the TLS engine's modules names the text device.tls.reasons holds for n,
and every raise site gives a %-text as many arguments as it has fields."""

import os
import re

from device.tls import reasons

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONST = re.compile(r"^(_R_\w+) = const\((\d+)\)  # (?:TLSError reason \(device.tls.reasons\): )?\"?(.*?)\"?$", re.M)


def _modules():
    for name in ("messages", "connection", "keys", "messages_more", "suites"):
        with open(os.path.join(ROOT, "device", "tls", name + ".py")) as f:
            yield name, f.read()


def test_every_reason_constant_matches_the_table():
    seen = {}
    for name, src in _modules():
        consts = CONST.findall(src)
        assert consts, name
        for cname, n, text in consts:
            n = int(n)
            assert reasons.TEXTS.get(n) == text, (name, cname, n, text)
            assert seen.setdefault(n, cname) == cname, (n, cname, seen[n])
            # each use: a bare number for a text without fields, (n, args...) with as many args as fields
            fields = len(re.findall(r"%[^%]", text))
            for use in re.finditer(r"\b%s\b(, ([^)]*))?\)" % cname, src):
                args = use.group(2)
                got = 0 if args is None else len([a for a in re.split(r",\s*(?![^()]*\))", args)
                                                  if a.strip() and "=" not in a])  # (not keyword arguments)
                assert got == fields, (name, cname, use.group(0), fields)
    assert sorted(seen) == sorted(reasons.TEXTS), sorted(set(reasons.TEXTS) - set(seen))


def test_texts_fill_in():
    assert reasons.text(1) == "message truncated"
    assert reasons.text((33, 2, 5)) == "handshake message 2 in state 5"
    assert reasons.text(999) == "reason 999"


def test_the_tls_client_path_leaves_the_tables_unloaded():
    # On MicroPython: loading the engine (as wrap_socket does) and building a ClientHello must not pull in
    # the modules kept for first use (texts, status names, the rest of the crypto API, events, CBC): each
    # would sit in a non-secure image's heap for nothing.
    from tests import micropython_lane as lane

    out = lane.run_code(
        "from device import psa\n"
        "from device.psa import mailbox\n"
        "for name in ('keys', 'messages', 'connection', 'stream'):\n"
        "    __import__('device.tls.' + name)\n"
        "from device.tls.connection import TLSClientConnection\n"
        "c = TLSClientConnection(b'id', 0x40000001, suites=['ccm'])\n"
        "c.start()\n"
        "assert c.data_to_send()[:1] == b'\\x16'\n"
        "print(' '.join(sorted(k for k in sys.modules if k.startswith('device'))))\n")
    loaded = set(out.split())
    assert "device.tls.connection" in loaded and "device.psa.crypto" in loaded, loaded
    for lazy in ("device.tls.reasons", "device.tls.events", "device.tls.cbc", "device.psa.error",
                 "device.psa.crypto_more", "device.psa.spm", "device.psa.spe_mailbox"):
        assert lazy not in loaded, (lazy, loaded)
