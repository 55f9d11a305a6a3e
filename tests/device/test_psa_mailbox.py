"""The PSA client API over device.psa.mailbox (TF-M's dual-core mailbox): frames, checks, failures.

The two sides meet through an in-memory stream here; tests/interop/test_psa_mailbox_split.py runs
them in two processes (and a TLS handshake across).
"""

import struct

from device import psa
from device.psa import crypto as C
from device.psa import mailbox, spe_mailbox
from tests.device import crypto_fixtures as cf
from tests.device import psa_fixtures as fx


class Wire:
    """The NS end of an in-memory stream whose far end is spe_mailbox.answer() on the in-process SPM."""

    def __init__(self, backend):
        self.backend = backend
        self.request = bytearray()
        self.reply = bytearray()
        self.frames = 0
        self.tamper = None  # a function(reply frame) -> reply frame, to play a misbehaving secure side
        self.closed = False

    def write(self, data):
        if self.closed:
            raise OSError("closed")
        self.request += data
        while len(self.request) >= 2:
            n = self.request[0] | (self.request[1] << 8)
            if len(self.request) < 2 + n:
                break
            body = bytes(self.request[2:2 + n])
            self.request = self.request[2 + n:]
            self.frames += 1
            out = spe_mailbox.answer(body, self.backend)
            if self.tamper is not None:
                out = self.tamper(out)
            self.reply += out
        return len(data)

    def readinto(self, buf):
        n = min(len(buf), len(self.reply))
        buf[:n] = self.reply[:n]
        self.reply = self.reply[n:]
        return n


def _attach():
    """(wire, previous backend): device.psa routed through a mailbox to the current in-process SPM."""
    wire = Wire(psa.backend())
    prev = psa.set_backend(mailbox.MailboxClient(wire))
    return wire, prev


def test_calls_cross_the_mailbox_with_the_same_results():
    s, echo, conn = fx.start()
    wire, prev = _attach()
    try:
        assert psa.psa_version(fx.ECHO_SID) == 2
        assert psa.psa_version(fx.SECRET_SID) == psa.PSA_VERSION_NONE  # secure-only stays hidden
        out = psa.psa_outvec(8)
        assert psa.psa_call(fx.spm.stateless_handle(2, 1), fx.ECHO, (b"hello",), (out,)) == psa.PSA_SUCCESS
        assert out.len == 5 and out.value() == b"hello"
        out = psa.psa_outvec(4)
        psa.psa_call(fx.spm.stateless_handle(2, 1), fx.CLIENT_ID, (), (out,))
        assert fx.i32(out.value()) == -1  # the SPM sees the non-secure client
        h = psa.psa_connect(fx.CONN_SID, 3)
        assert h > 0
        assert psa.psa_call(h, 77) == 1 and psa.psa_call(h, 77) == 2  # rhandle kept per connection
        psa.psa_close(h)
        assert s.open_connections() == 0
        assert wire.frames == 8
    finally:
        psa.set_backend(prev)


def test_crypto_through_the_mailbox_keeps_keys_on_the_secure_side():
    root = cf.start()
    wire, prev = _attach()
    try:
        key = C.psa_import_key(cf.aes_attrs(C.PSA_ALG_CCM), bytes(range(16)))
        sealed = C.psa_aead_encrypt(key, C.PSA_ALG_CCM, bytes(12), b"aad", b"record")
        assert len(sealed) == 6 + 16
        assert C.psa_aead_decrypt(key, C.PSA_ALG_CCM, bytes(12), b"aad", sealed) == b"record"
        bad = sealed[:-1] + bytes((sealed[-1] ^ 1,))
        assert cf.status_of(C.psa_aead_decrypt, key, C.PSA_ALG_CCM, bytes(12), b"aad", bad) == (
            psa.PSA_ERROR_INVALID_SIGNATURE)
        assert cf.status_of(C.psa_export_key, key) == psa.PSA_ERROR_NOT_PERMITTED
        C.psa_destroy_key(key)
    finally:
        psa.set_backend(prev)
        cf.stop(root)


def test_client_checks_vectors_before_anything_crosses():
    fx.start()
    wire, prev = _attach()
    h = fx.spm.stateless_handle(2, 1)
    try:
        for bad in (
            lambda: psa.psa_call(h, fx.ECHO, (b"a", b"b", b"c"), (psa.psa_outvec(1), psa.psa_outvec(1))),
            lambda: psa.psa_call(h, fx.ECHO, ("text",), ()),
            lambda: psa.psa_call(h, -1, (), ()),
            lambda: psa.psa_call(h, fx.ECHO, (), (bytearray(4),)),
        ):
            try:
                bad()
                assert False, "accepted"
            except psa.PSAProgrammerError:
                pass
        assert wire.frames == 0
    finally:
        psa.set_backend(prev)


def test_secure_side_refuses_what_the_spm_refuses_and_lives_on():
    fx.start()
    wire, prev = _attach()
    try:
        try:  # a handle this NS client never got: the SPM's programmer error comes back as one
            psa.psa_call(12345, fx.ECHO, (b"x",), (psa.psa_outvec(1),))
            assert False, "accepted"
        except psa.PSAProgrammerError:
            pass
        out = psa.psa_outvec(2)
        assert psa.psa_call(fx.spm.stateless_handle(2, 1), fx.ECHO, (b"ok",), (out,)) == psa.PSA_SUCCESS
        assert out.value() == b"ok"
    finally:
        psa.set_backend(prev)


def _status(frame):
    assert frame[0] | (frame[1] << 8) == len(frame) - 2
    return struct.unpack_from("<i", frame, 2)[0]


def test_malformed_frames_get_programmer_error():
    s, echo, conn = fx.start()
    good = struct.pack("<BiiBB", mailbox.MAILBOX_PSA_CALL, fx.spm.stateless_handle(2, 1), fx.ECHO, 1, 1)
    good += struct.pack("<HH", 3, 3) + b"abc"
    assert _status(spe_mailbox.answer(good, s)) == psa.PSA_SUCCESS
    for body in (b"", b"\x09", good[:5], good[:-1], good + b"x", b"\x02\x00", b"\x03" + bytes(4),
                 bytes((mailbox.MAILBOX_PSA_CALL,)) + good[1:9] + b"\x04\x01" + bytes(10)):
        assert _status(spe_mailbox.answer(body, s)) == psa.PSA_ERROR_PROGRAMMER_ERROR, body
    assert _status(spe_mailbox.answer(good, s)) == psa.PSA_SUCCESS  # and it still answers


def _tampered_reply_breaks_the_mailbox(tamper):
    """An echo call whose reply `tamper` rewrote fails with COMMUNICATION_FAILURE, copies nothing into the
    out-vector, and leaves the mailbox broken for the next call."""
    fx.start()
    wire, prev = _attach()
    h = fx.spm.stateless_handle(2, 1)
    try:
        wire.tamper = tamper
        out = psa.psa_outvec(2)
        assert psa.psa_call(h, fx.ECHO, (b"ab",), (out,)) == psa.PSA_ERROR_COMMUNICATION_FAILURE
        assert bytes(out.base) == bytes(2)  # nothing was copied in
        wire.tamper = None
        assert psa.psa_call(h, fx.ECHO, (b"ab",), (psa.psa_outvec(2),)) == psa.PSA_ERROR_COMMUNICATION_FAILURE
    finally:
        psa.set_backend(prev)


def test_secure_side_writing_beyond_a_vector_breaks_the_mailbox():
    def grow(frame):  # claim 3 bytes written into an out-vector of 2
        body = bytearray(frame[2:])
        body[5:7] = struct.pack("<H", 3)
        body += b"!"
        return struct.pack("<H", len(body)) + bytes(body)

    _tampered_reply_breaks_the_mailbox(grow)


def test_broken_stream_is_a_communication_failure():
    fx.start()
    wire, prev = _attach()
    try:
        wire.closed = True
        assert psa.psa_call(fx.spm.stateless_handle(2, 1), fx.ECHO, (b"x",), (psa.psa_outvec(1),)) == (
            psa.PSA_ERROR_COMMUNICATION_FAILURE)
        assert psa.psa_connect(fx.CONN_SID, 3) == psa.PSA_ERROR_COMMUNICATION_FAILURE
        assert psa.psa_version(fx.ECHO_SID) == psa.PSA_VERSION_NONE
    finally:
        psa.set_backend(prev)


def test_frames_larger_than_the_client_buffers_cross_and_later_calls_still_work():
    fx.start()
    wire, prev = _attach()
    h = fx.spm.stateless_handle(2, 1)
    try:
        big = bytes(range(256)) * 3  # a request and a reply of ~800 bytes: beyond the first 256-byte buffers
        out = psa.psa_outvec(len(big))
        assert psa.psa_call(h, fx.ECHO, (big,), (out,)) == psa.PSA_SUCCESS and out.value() == big
        for data in (b"a", b"bc", big[:300], b""):  # the grown buffers serve smaller frames after it
            out = psa.psa_outvec(300)
            assert psa.psa_call(h, fx.ECHO, (data, b"ignored"), (out,)) == psa.PSA_SUCCESS
            assert out.value() == data
        # the reply buffer is reused: an earlier result is not overwritten by a later call
        first = psa.psa_outvec(4)
        psa.psa_call(h, fx.ECHO, (b"1111",), (first,))
        psa.psa_call(h, fx.ECHO, (b"2222",), (psa.psa_outvec(4),))
        assert first.value() == b"1111"
    finally:
        psa.set_backend(prev)


def test_reply_longer_than_the_request_can_get_breaks_the_mailbox():
    def pad(frame):  # a well-formed frame with 40 extra bytes at its end
        body = bytes(frame[2:]) + bytes(40)
        return struct.pack("<H", len(body)) + body

    _tampered_reply_breaks_the_mailbox(pad)
