"""Recorded real server flights, decrypted and re-sealed with an independent reference
(tests/interop/tls_reference.py): a server Finished that is wrong, HelloRequests, and a check
of the engine's key schedule and verify_data against the reference."""

import hashlib
from binascii import unhexlify

import pytest

from device.tls import TLSError
from device.tls.connection import TLSClientConnection, HandshakeComplete, ApplicationData
from tests.device.tls_flights import FLIGHTS, IDENTITY, PSK, RANDOM
from tests.interop import tls_reference as ref

NUM = {"ccm": 0xC0A4, "ccm8": 0xC0A8, "gcm": 0x00A8, "cbc": 0x00AE}


class Recorded:
    """The engine brought up to just before the server's ChangeCipherSpec, and the reference keys."""

    def __init__(self, name):
        self.suite, self.reply = FLIGHTS[name][0], FLIGHTS[name][1]
        self.server = ref.records(unhexlify("".join(FLIGHTS[name][2:])))
        self.c = TLSClientConnection(IDENTITY, unhexlify(PSK), suites=[self.suite],
                                     random=lambda n: unhexlify(RANDOM)[:n])
        self.c.start()
        ch = ref.records(self.c.data_to_send())[0][1]
        n_plain = next(i for i, (t, _) in enumerate(self.server) if t == 20)
        self.plain, self.protected = self.server[:n_plain], self.server[n_plain + 1:]
        assert self.c.receive_data(b"".join(ref.frame(t, f) for t, f in self.plain)) == []
        self.flight = ref.records(self.c.data_to_send())
        cke = self.flight[0][1]
        self.s = ref.Session(NUM[self.suite], unhexlify(PSK), ch, ref.handshake_messages(self.plain), cke)
        self.client_finished = self.s.client_open(0, 22, self.flight[2][1])

    def feed(self, *records):
        return self.c.receive_data(b"".join(ref.frame(t, f) for t, f in records))


@pytest.mark.parametrize("name", sorted(FLIGHTS))
def test_engine_key_schedule_matches_reference(name):
    r = Recorded(name)
    # our Finished decrypts under the reference client keys and carries the reference verify_data
    th = hashlib.sha256(r.s.transcript).digest()
    assert r.client_finished == b"\x14\x00\x00\x0c" + ref.prf(r.s.ms, b"client finished", th, 12)
    # and the real server's Finished is the reference's too
    fin = r.s.server_open(0, 22, r.protected[0][1])
    th2 = hashlib.sha256(r.s.transcript + r.client_finished).digest()
    assert fin == b"\x14\x00\x00\x0c" + ref.prf(r.s.ms, b"server finished", th2, 12)
    ev = r.feed((20, b"\x01"), *r.protected)
    assert isinstance(ev[0], HandshakeComplete)
    assert b"".join(e.data for e in ev[1:]) == r.reply


@pytest.mark.parametrize("name", ["openssl_ccm", "openssl_cbc", "openssl_cbc_mte", "mbedtls_ccm"])
def test_server_finished_wrong(name):
    r = Recorded(name)
    fin = bytearray(r.s.server_open(0, 22, r.protected[0][1]))
    fin[-1] ^= 0x01
    with pytest.raises(TLSError) as ei:
        r.feed((20, b"\x01"), (22, r.s.server_seal(0, 22, bytes(fin))))
    assert ei.value.alert == "decrypt_error" and not ei.value.received
    alert = ref.records(r.c.data_to_send())[-1]
    assert alert[0] == 21 and r.s.client_open(1, 21, alert[1]) == b"\x02\x33"  # fatal decrypt_error, sealed


@pytest.mark.parametrize("name", ["openssl_ccm", "openssl_gcm", "openssl_cbc", "openssl_cbc_mte"])
def test_hello_request_after_handshake_is_refused(name):
    r = Recorded(name)
    ev = r.feed((20, b"\x01"), r.protected[0])
    assert isinstance(ev[0], HandshakeComplete)
    ev = r.feed((22, r.s.server_seal(1, 22, b"\x00\x00\x00\x00")))
    assert ev == []
    out = ref.records(r.c.data_to_send())
    assert len(out) == 1 and out[0][0] == 21
    assert r.s.client_open(1, 21, out[0][1]) == b"\x01\x64"  # warning no_renegotiation
    # the connection goes on: the server's data (sealed at the next sequence number) arrives
    ev = r.feed((23, r.s.server_seal(2, 23, r.reply)))
    assert [e.data for e in ev if isinstance(e, ApplicationData)] == [r.reply]
    # a ClientHello-type or Finished message after the handshake is not renegotiation: fatal
    with pytest.raises(TLSError) as ei:
        r.feed((22, r.s.server_seal(3, 22, b"\x14\x00\x00\x0c" + bytes(12))))
    assert ei.value.alert == "unexpected_message"


def test_hello_request_during_handshake_is_ignored():
    name = "openssl_ccm"
    c = TLSClientConnection(IDENTITY, unhexlify(PSK), suites=["ccm"], random=lambda n: unhexlify(RANDOM)[:n])
    c.start()
    c.data_to_send()
    data = ref.frame(22, b"\x00\x00\x00\x00") + unhexlify("".join(FLIGHTS[name][2:]))
    ev = c.receive_data(data)
    assert isinstance(ev[0], HandshakeComplete)


def test_plaintext_overflow_after_decryption():
    r = Recorded("openssl_gcm")
    r.feed((20, b"\x01"), r.protected[0])
    with pytest.raises(TLSError) as ei:
        r.feed((23, r.s.server_seal(1, 23, bytes(16385))))
    assert ei.value.alert == "record_overflow"


def test_replayed_record_is_bad_record_mac():
    r = Recorded("openssl_ccm8")
    r.feed((20, b"\x01"), r.protected[0])
    rec = (23, r.s.server_seal(1, 23, b"once"))
    assert r.feed(rec)[0].data == b"once"
    with pytest.raises(TLSError) as ei:
        r.feed(rec)  # same sequence number again
    assert ei.value.alert == "bad_record_mac"
