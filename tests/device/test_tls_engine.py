"""The sans-IO engine replaying real server flights (openssl s_server, python-mbedtls) recorded
by tests/interop/record_flights.py, keyed through the crypto partition; plus malformed input."""

from binascii import unhexlify

from device.tls.alerts import TLSError
from device.tls.connection import TLSClientConnection, HandshakeComplete, ApplicationData, ConnectionClosed
from tests.device.tls_flights import FLIGHTS, IDENTITY, PSK, RANDOM
from tests.device import tls_world

_PSK = unhexlify(PSK)
_RANDOM = unhexlify(RANDOM)


def _server(name):
    return unhexlify("".join(FLIGHTS[name][2:]))


_LIVE = []  # connections of the running test; closed when the next one starts (no key leaks on failure)


def _client(suite):
    tls_world.ensure()
    while _LIVE:
        _LIVE.pop().close()
    c = TLSClientConnection(IDENTITY, _PSK, suites=[suite], random=lambda n: _RANDOM[:n])
    _LIVE.append(c)
    c.start()
    hello = c.data_to_send()
    assert hello[:3] == b"\x16\x03\x03" and hello[5] == 1
    return c


def _records(data):
    out, i = [], 0
    while i < len(data):
        n = (data[i + 3] << 8) | data[i + 4]
        out.append((data[i], data[i + 5:i + 5 + n]))
        i += 5 + n
    return out


def _frame(ctype, frag):
    return bytes((ctype, 3, 3)) + len(frag).to_bytes(2, "big") + frag


def _feed(c, data, step=None):
    events = []
    if step is None:
        return c.receive_data(data)
    for i in range(0, len(data), step):
        events += c.receive_data(data[i:i + step])
    return events


def _expect(alert, c, data):
    try:
        c.receive_data(data)
    except TLSError as e:
        assert e.alert == alert, (e.alert, alert, e)
        assert not e.received
        out = c.data_to_send()
        assert _records(out)[-1][0] == 21, out  # the alert went out (encrypted once keys are on)
        # dead: every later call raises the same error
        try:
            c.receive_data(b"\x17\x03\x03\x00\x00")
        except TLSError as e2:
            assert e2 is e
        else:
            raise AssertionError("dead connection accepted data")
        return e
    raise AssertionError("no TLSError(%s)" % alert)


def _check_session(name, events, c):
    suite, reply = FLIGHTS[name][0], FLIGHTS[name][1]
    hc = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(hc) == 1 and c.handshake_complete
    assert c.cipher_suite == {"ccm": 0xC0A4, "ccm8": 0xC0A8, "gcm": 0x00A8, "cbc": 0x00AE}[suite]
    data = b"".join(e.data for e in events if isinstance(e, ApplicationData))
    assert data == reply, data
    flight = c.data_to_send()
    recs = _records(flight)
    # ClientKeyExchange, ChangeCipherSpec, Finished: one flight, one buffer
    assert [t for t, _ in recs] == [22, 20, 22], recs
    assert recs[0][1][0] == 16 and bytes(recs[0][1][6:]) == IDENTITY.encode()


def test_replay_every_recorded_flight():
    for name in FLIGHTS:
        c = _client(FLIGHTS[name][0])
        _check_session(name, _feed(c, _server(name)), c)
        assert c.extended_master_secret  # both servers agree to RFC 7627
        assert c.encrypt_then_mac == (name == "openssl_cbc")  # openssl_cbc_mte ran with -no_etm
        c.send(b"more")
        c.close()
        out = _records(c.data_to_send())
        assert [t for t, _ in out] == [23, 21]  # data, then close_notify
        assert c.closed


def test_records_split_over_reads():
    for step in (1, 3, 7):
        c = _client("ccm")
        _check_session("openssl_ccm", _feed(c, _server("openssl_ccm"), step), c)


def test_handshake_messages_split_over_records():
    data = _server("mbedtls_ccm")
    recs = _records(data)
    plain = b"".join(f for t, f in recs[:3] if t == 22)
    n_plain = 0
    for t, f in recs:
        if t != 22:
            break
        n_plain += 1
    plain = b"".join(f for _, f in recs[:n_plain])
    rest = b"".join(_frame(t, f) for t, f in recs[n_plain:])
    reframed = b"".join(_frame(22, plain[i:i + 5]) for i in range(0, len(plain), 5))
    c = _client("ccm")
    _check_session("mbedtls_ccm", _feed(c, reframed + rest), c)


def test_handshake_messages_coalesced_and_straddling_records():
    """Whole messages are handled straight from their record: several in one record, and a record ending
    inside a message (the rest of which arrives in the next record) give the same session."""
    for name in ("openssl_ccm", "openssl_gcm"):
        recs = _records(_server(name))
        n_plain = 0
        while recs[n_plain][0] == 22:
            n_plain += 1
        assert n_plain >= 2  # ServerHello and ServerHelloDone
        plain = b"".join(f for _, f in recs[:n_plain])
        rest = b"".join(_frame(t, f) for t, f in recs[n_plain:])
        first_len = 4 + ((plain[1] << 16) | (plain[2] << 8) | plain[3])
        for pieces in ([plain], [plain[:first_len + 2], plain[first_len + 2:]],
                       [plain[:first_len - 1], plain[first_len - 1:]]):
            c = _client(FLIGHTS[name][0])
            _check_session(name, _feed(c, b"".join(_frame(22, p) for p in pieces) + rest), c)
            assert not len(c._hs)


def test_corrupted_finished_is_bad_record_mac():
    data = bytearray(_server("openssl_gcm"))
    recs = _records(bytes(data))
    off = sum(5 + len(f) for _, f in recs[:-2])  # the encrypted Finished record
    data[off + 5 + 10] ^= 0x01
    c = _client("gcm")
    e = _expect("bad_record_mac", c, bytes(data))
    assert "authentication" in str(e)


def test_corrupted_application_data_cbc():
    data = bytearray(_server("openssl_cbc"))
    data[-3] ^= 0x80  # inside the MAC of the last (application data) record
    c = _client("cbc")
    _expect("bad_record_mac", c, bytes(data))


def test_oversized_record():
    c = _client("ccm")
    _expect("record_overflow", c, b"\x16\x03\x03\x40\x01" + bytes(10))
    c = _client("ccm")
    _expect("record_overflow", c, b"\x17\x03\x03\xff\xff")


def test_messages_out_of_order():
    recs = _records(_server("mbedtls_ccm"))
    plain = b"".join(f for t, f in recs if t == 22)[:0]
    sh_rec, rest = recs[0], recs[1:]
    # ServerHelloDone (last plaintext handshake message) before the ServerHello
    c = _client("ccm")
    _expect("unexpected_message", c, _frame(22, b"\x0e\x00\x00\x00"))
    # application data before the handshake
    c = _client("ccm")
    _expect("unexpected_message", c, _frame(23, b"hello"))
    # ChangeCipherSpec right after the ServerHello
    c = _client("ccm")
    _expect("unexpected_message", c, _frame(sh_rec[0], sh_rec[1]) + _frame(20, b"\x01"))
    # a second ServerHello
    c = _client("ccm")
    _expect("unexpected_message", c, _frame(sh_rec[0], sh_rec[1]) * 2)
    # a Certificate message (no certificates in PSK)
    c = _client("ccm")
    _expect("unexpected_message", c, _frame(sh_rec[0], sh_rec[1]) + _frame(22, b"\x0b\x00\x00\x03\x00\x00\x00"))
    assert plain == b"" and rest


def test_server_chooses_suite_not_offered():
    data = bytearray(_server("openssl_ccm"))
    # the cipher suite sits after 5 (record) + 4 (msg) + 2 + 32 + 1 + sid bytes
    sid_len = data[5 + 4 + 34]
    at = 5 + 4 + 35 + sid_len
    assert data[at:at + 2] == b"\xc0\xa4"
    data[at:at + 2] = b"\x00\xa8"
    c = _client("ccm")
    _expect("illegal_parameter", c, bytes(data))


def test_bad_record_header_and_alert_from_peer():
    c = _client("ccm")
    _expect("unexpected_message", c, b"\x63\x03\x03\x00\x01\x00")
    c = _client("ccm")
    _expect("protocol_version", c, b"\x16\x02\x00\x00\x01\x00")
    c = _client("ccm")
    _expect("unexpected_message", c, _frame(22, b""))
    c = _client("ccm")
    _expect("decode_error", c, _frame(21, b"\x02"))
    c = _client("ccm")
    try:
        c.receive_data(_frame(21, b"\x02\x73"))
    except TLSError as e:
        assert e.received and e.alert == "unknown_psk_identity"
        assert c.data_to_send() == b""  # no alert answers a fatal alert
    else:
        raise AssertionError("fatal alert ignored")


def test_eof_during_handshake_and_after():
    c = _client("ccm")
    _feed(c, _server("openssl_ccm")[:40])
    try:
        c.receive_data(b"")
    except TLSError as e:
        assert e.alert == "handshake_failure"
    else:
        raise AssertionError("EOF in handshake accepted")
    c = _client("ccm")
    _feed(c, _server("openssl_ccm"))
    ev = c.receive_data(b"")
    assert len(ev) == 1 and isinstance(ev[0], ConnectionClosed) and not ev[0].clean


def test_api_misuse():
    tls_world.ensure()
    c = _client("ccm")
    try:
        c.send(b"x")
    except ValueError:
        pass
    else:
        raise AssertionError("send before the handshake")
    try:
        c.start()
    except ValueError:
        pass
    else:
        raise AssertionError("second start")
    c.close()
    for bad in ({"max_fragment_length": 100}, {"record_size_limit": 10}, {"suites": ["des"]}):
        try:
            TLSClientConnection("x", b"k" * 16, **bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)


def _with_extension(name, ext):
    """The recorded flight's first record (ServerHello) with one more extension appended."""
    data = _server(name)
    rtype, frag = _records(data)[0]
    assert rtype == 22 and frag[0] == 2
    body = bytearray(frag[4:])
    # the extensions block is last: bump its length and append
    sid_len = body[34]
    at = 35 + sid_len + 3
    n = (body[at] << 8) | body[at + 1]
    assert at + 2 + n == len(body)
    body[at:at + 2] = (n + len(ext)).to_bytes(2, "big")
    body += ext
    msg = bytes((2,)) + len(body).to_bytes(3, "big") + bytes(body)
    return _frame(22, msg)


def test_record_size_limit_negotiated():
    tls_world.ensure()
    c = TLSClientConnection(IDENTITY, _PSK, suites=["ccm"], record_size_limit=256, random=lambda n: _RANDOM[:n])
    c.start()
    hello = c.data_to_send()
    assert b"\x00\x1c\x00\x02\x01\x00" in hello  # record_size_limit = 256 offered
    assert c.recv_limit == 256
    c.receive_data(_with_extension("openssl_ccm", b"\x00\x1c\x00\x02\x00\x80"))  # server: 128
    assert c.send_limit == 128 and c.recv_limit == 256
    c.close()
    # not offered -> unsupported_extension
    c = _client("ccm")
    _expect("unsupported_extension", c, _with_extension("openssl_ccm", b"\x00\x1c\x00\x02\x00\x80"))
    # below the RFC 8449 minimum -> illegal_parameter
    c = TLSClientConnection(IDENTITY, _PSK, suites=["ccm"], record_size_limit=256, random=lambda n: _RANDOM[:n])
    c.start()
    c.data_to_send()
    _expect("illegal_parameter", c, _with_extension("openssl_ccm", b"\x00\x1c\x00\x02\x00\x3f"))


def test_records_respect_the_send_limit():
    tls_world.ensure()
    c = _client("ccm")
    _check_session("openssl_ccm", c.receive_data(_server("openssl_ccm")), c)
    assert c.send_limit == 16384
    c.send_limit = 100  # as if negotiated
    c.send(bytes(250))
    recs = _records(c.data_to_send())
    assert [len(f) - 24 for t, f in recs] == [100, 100, 50]  # 8-byte nonce + 16-byte tag each
    c.close()


def _session_keys(c):
    return [k for k in (c._prot.write_key, c._prot.read_key) if k is not None]


def _assert_destroyed(keys):
    from device.psa import PSAError, PSA_ERROR_INVALID_HANDLE
    from device.psa.crypto import psa_get_key_attributes

    for k in keys:
        try:
            psa_get_key_attributes(k)
        except PSAError as e:
            assert e.status == PSA_ERROR_INVALID_HANDLE, e
        else:
            raise AssertionError("session key %d outlived its connection" % k)


def _no_memory(*args):
    raise MemoryError("injected")


def _server_flights(name):
    """(ServerHello .. ServerHelloDone, ChangeCipherSpec + Finished + the rest) of a recorded session."""
    data, i = _server(name), 0
    while data[i] != 20:  # up to the server's ChangeCipherSpec record
        i += 5 + ((data[i + 3] << 8) | data[i + 4])
    return data[:i], data[i:]


def _volatile_key_ids():
    from device.partitions.crypto import keystore

    return set(keystore._volatile)


def test_master_secret_and_psk_live_only_until_the_server_finished_is_expected():
    """pending_work() (run by wrap_socket right after our flight) computes the server Finished we expect
    and destroys the master secret and the imported PSK; without it, the server's Finished does it."""
    for explicit in (True, False):
        before = _volatile_key_ids()
        c = _client("ccm")
        first, rest = _server_flights("openssl_ccm")
        _feed(c, first)
        assert c._ms is not None and len(_volatile_key_ids() - before) == 4  # PSK, master secret, 2 session keys
        if explicit:
            c.pending_work()
            assert c._ms is None and c._expected_finished is not None
            c.pending_work()  # idempotent
        events = _feed(c, rest)
        assert c.handshake_complete and any(isinstance(e, HandshakeComplete) for e in events)
        assert _volatile_key_ids() - before == set(_session_keys(c))
        c.close()
        assert _volatile_key_ids() == before


def test_a_failure_before_the_server_finished_destroys_the_master_secret_too():
    before = _volatile_key_ids()
    c = _client("ccm")
    _feed(c, _server_flights("openssl_ccm")[0])
    assert len(_volatile_key_ids() - before) == 4
    _expect("unexpected_message", c, _frame(22, b"\x02\x00\x00\x00"))  # a second ServerHello
    assert _volatile_key_ids() == before


def test_keys_destroyed_when_sealing_fails():
    """A MemoryError (fragmented MicroPython heap) or crypto error while sealing close_notify,
    the fatal alert, or opening a record must not leave the session keys in the partition."""
    # 1. close(): close_notify cannot be sealed; the keys go anyway and the error is reported
    c = _client("ccm")
    _feed(c, _server("openssl_ccm"))
    keys = _session_keys(c)
    assert len(keys) == 2
    c._prot.seal_record = _no_memory  # what the engine seals with
    try:
        c.close()
    except MemoryError:
        pass
    else:
        raise AssertionError("close() hid the failure")
    assert c.closed
    _assert_destroyed(keys)
    c.close()  # idempotent
    # 2. a protocol error whose fatal alert cannot be sealed: the TLSError, and no keys left
    c = _client("ccm")
    _feed(c, _server("openssl_ccm"))
    keys = _session_keys(c)
    c._prot.seal_record = _no_memory  # what the engine seals with
    try:
        c.receive_data(_frame(23, b"\x00" * 40))
    except TLSError as e:
        assert e.alert == "bad_record_mac", e
    else:
        raise AssertionError("forged record accepted")
    _assert_destroyed(keys)
    # 3. a non-TLS error inside the engine (opening a record): the connection dies with its keys
    c = _client("gcm")
    _feed(c, _server("openssl_gcm"))
    keys = _session_keys(c)
    c._prot.open = _no_memory
    try:
        c.receive_data(_frame(23, b"\x00" * 40))
    except MemoryError:
        pass
    else:
        raise AssertionError("MemoryError swallowed")
    _assert_destroyed(keys)
    try:
        c.receive_data(b"")
    except TLSError as e:
        assert e.alert == "internal_error", e
    else:
        raise AssertionError("dead connection accepted data")


# -- the record fast path (next_data, receive_buffer/received) and the stream adapter -------------

def _open_session(name="openssl_ccm"):
    """A client past the recorded handshake (its reply consumed) and a sealer for more server records:
    an AEADRecords with the client's keys swapped, i.e. the server's side of the session."""
    from device.tls.keys import AEADRecords

    c = _client(FLIGHTS[name][0])
    _check_session(name, c.receive_data(_server(name)), c)
    p = c._prot
    srv = AEADRecords(p.read_key, p.write_key, p.alg, p.read_iv, p.write_iv, p.overhead - 8)
    srv.write_seq = p.read_seq
    return c, srv


def _feed_fast(c, data):
    """Feed through receive_buffer/received and collect next_data() results."""
    n = len(data)
    if n:
        c.receive_buffer(n)[:] = data
    c.received(n)
    out = []
    while True:
        d = c.next_data()
        if not d:  # None: more input needed; b"": closed
            assert d is None or c.closed
            return out
        out.append(d)


def test_fast_path_several_records_in_one_read_and_split_records():
    c, srv = _open_session()
    msgs = [bytes((65 + i,)) * (i * 7 + 1) for i in range(6)]
    wire = b"".join(srv.seal_record(23, m) for m in msgs)
    assert _feed_fast(c, wire) == msgs  # six records in one read
    msgs = [b"split-%d" % i for i in range(4)]
    wire = b"".join(srv.seal_record(23, m) for m in msgs)
    got = []
    for i in range(0, len(wire), 11):  # records straddle every read
        got += _feed_fast(c, wire[i:i + 11])
    assert got == msgs
    # a HelloRequest between data records: no_renegotiation warning queued, data still flows in order
    wire = srv.seal_record(23, b"one") + srv.seal_record(22, b"\x00\x00\x00\x00") + srv.seal_record(23, b"two")
    assert _feed_fast(c, wire) == [b"one", b"two"]
    assert [t for t, _ in _records(c.data_to_send())] == [21]
    # close_notify: no more data, the connection is closed cleanly
    assert _feed_fast(c, srv.seal_record(21, b"\x01\x00")) == [] and c.closed
    c.close()


def test_record_straddling_the_buffer_compaction():
    c, srv = _open_session()
    size = len(c._in)
    n = 5 + srv.overhead + 64  # one record of 64 bytes on the wire
    k = size // n  # records that fit whole; the next one is cut so that it ends the buffer
    head = b"".join(srv.seal_record(23, b"%03d" % i + bytes(61)) for i in range(k - 1))
    cut = size - len(head) - n  # bytes of the last full record's successor already in the buffer
    last = srv.seal_record(23, b"last" + bytes(60))
    nxt = srv.seal_record(23, b"next" + bytes(60))
    first = head + last + nxt[:cut] if cut > 0 else head + last
    got = _feed_fast(c, first)
    assert len(got) == k and got[-1][:4] == b"last"
    rest = nxt[cut:] if cut > 0 else nxt
    got = _feed_fast(c, rest + srv.seal_record(23, b"after"))
    assert [g[:4] for g in got] == [b"next", b"afte"]
    assert len(c._in) == size  # the partial record moved to the front instead of the buffer growing
    # a record bigger than the buffer makes it grow, and still opens
    big = bytes(range(256)) * 2 + bytes(size - 400)  # just over the buffer (kept small for a 256 KB heap)
    assert len(big) > size
    assert _feed_fast(c, srv.seal_record(23, big)) == [big]
    c.close()


def test_fast_path_errors_are_tls_errors_and_final():
    c, srv = _open_session()
    rec = bytearray(srv.seal_record(23, b"payload"))
    rec[-1] ^= 1
    try:
        _feed_fast(c, bytes(rec))
    except TLSError as e:
        assert e.alert == "bad_record_mac"
        assert _records(c.data_to_send())[-1][0] == 21
        try:
            c.next_data()
        except TLSError as e2:
            assert e2 is e
        else:
            raise AssertionError("dead connection went on")
    else:
        raise AssertionError("corrupted record accepted")
    # EOF during the handshake through received(0)
    c = _client("ccm")
    _feed_fast(c, _server("openssl_ccm")[:30])
    try:
        c.received(0)
    except TLSError as e:
        assert e.alert == "handshake_failure"
    else:
        raise AssertionError("EOF in handshake accepted")


class _FakeSock:
    """A socket serving scripted bytes: `chunks` caps each read (cycled); mode "readinto" reads
    exactly what is asked (MicroPython streams), "recv_into" returns at most one chunk."""

    def __init__(self, data, chunks, mode):
        self.data = bytearray(data)
        self.chunks = chunks
        self.i = 0
        self.sent = []
        if mode == "readinto":
            self.readinto = self._readinto
        else:
            self.recv_into = self._recv_into

    def _take(self, buf, n):
        n = min(n, len(self.data))
        buf[:n] = self.data[:n]
        self.data[:n] = b""
        return n

    def _readinto(self, buf):
        return self._take(buf, len(buf))

    def _recv_into(self, buf):
        n = self.chunks[self.i % len(self.chunks)]
        self.i += 1
        return self._take(buf, min(n, len(buf)))

    def sendall(self, data):
        # a record goes out as a memoryview of the engine's record buffer: copied here, as a socket would
        assert isinstance(data, (bytes, bytearray, memoryview))
        self.sent.append(bytes(data))

    def close(self):
        pass


def _stream(mode, chunks, name="openssl_ccm", bufsize=1024):
    from device.tls.stream import TLSStream

    tls_world.ensure()
    while _LIVE:
        _LIVE.pop().close()
    conn = TLSClientConnection(IDENTITY, _PSK, suites=[FLIGHTS[name][0]], random=lambda n: _RANDOM[:n])
    _LIVE.append(conn)
    sock = _FakeSock(_server(name), chunks, mode)
    t = TLSStream(sock, conn, bufsize=bufsize)
    t.do_handshake()
    # ClientHello, then ClientKeyExchange + ChangeCipherSpec + Finished in one write
    assert [len(_records(s)) for s in sock.sent] == [1, 3], sock.sent
    p = conn._prot
    from device.tls.keys import AEADRecords

    srv = AEADRecords(p.read_key, p.write_key, p.alg, p.read_iv, p.write_iv, p.overhead - 8)
    # the recorded reply is the server's record 1: opened already when it came with the Finished
    srv.write_seq = p.read_seq + (0 if len(t._pending) else 1)
    return t, sock, srv


def test_stream_read_over_both_socket_kinds():
    reply = FLIGHTS["openssl_ccm"][1]
    for mode, chunks, bufsize in (("readinto", [1], 1024), ("recv_into", [1, 3, 7], 1024),
                                  ("recv_into", [4096], 1024), ("recv_into", [50], 40)):
        t, sock, srv = _stream(mode, chunks, bufsize=bufsize)
        msgs = [b"m%d-" % i + bytes(i * 30) for i in range(5)]
        sock.data += b"".join(srv.seal_record(23, m) for m in msgs) + srv.seal_record(21, b"\x01\x00")
        got = []
        while True:
            d = t.read()
            if not d:
                break
            got.append(d)
        assert got == [reply] + msgs, (mode, chunks)
        assert t.read() == b"" and t.readinto(bytearray(4)) == 0
        t.close()


def test_stream_readinto_small_buffers_and_partial_reads():
    reply = FLIGHTS["openssl_ccm"][1]
    t, sock, srv = _stream("recv_into", [33])
    big = bytes(range(200))
    sock.data += srv.seal_record(23, big) + srv.seal_record(23, b"tail") + srv.seal_record(21, b"\x01\x00")
    out = bytearray()
    buf = bytearray(7)
    mv = memoryview(buf)
    while True:
        n = t.readinto(mv, 5) if len(out) % 2 else t.readinto(buf)
        if not n:
            break
        out += buf[:n]
    assert bytes(out) == reply + big + b"tail"
    t.close()
    t, sock, srv = _stream("readinto", [1])
    sock.data += srv.seal_record(23, b"0123456789")
    assert t.read(3) == reply[:3]
    assert t.read(100) == reply[3:]
    assert t.read(4) == b"0123" and t.read(0) == b"" and t.read() == b"456789"
    t.close()


def test_stream_write_is_one_record_one_send():
    t, sock, srv = _stream("recv_into", [4096])
    n0 = len(sock.sent)
    assert t.write(b"a" * 64) == 64
    assert t.write(bytearray(b"b" * 10)) == 10
    assert t.write(memoryview(b"c" * 20)[5:]) == 15
    assert len(sock.sent) == n0 + 3
    recs = [_records(s) for s in sock.sent[n0:]]
    assert [[(ty, len(f)) for ty, f in r] for r in recs] == [[(23, 64 + 24)], [(23, 10 + 24)], [(23, 15 + 24)]]
    # the records open with the server's view of the keys, in order
    from device.tls.keys import AEADRecords

    p = t.conn._prot
    peer = AEADRecords(p.read_key, p.write_key, p.alg, p.read_iv, p.write_iv, 16)  # opens with write_key
    peer.read_seq = p.write_seq - 3
    assert [peer.open(23, r[0][1]) for r in recs] == [b"a" * 64, b"b" * 10, b"c" * 15]
    t.close()


def _record_pair(t):
    # the client's record object and a peer with the server's view of the same keys
    from device.tls.keys import AEADRecords

    p = t.conn._prot
    return p, AEADRecords(p.read_key, p.write_key, p.alg, p.read_iv, p.write_iv, 16)


def test_record_buffer_reuse_leaks_nothing_between_records():
    # seal_view reuses one record buffer: a short record after a long one is exactly the record a
    # fresh object seals (every byte of it written by its own seal), and opens to its own plaintext
    from device.tls.keys import AEADRecords

    t, sock, srv = _stream("recv_into", [4096])
    p, peer = _record_pair(t)
    seq = p.write_seq
    long_rec = bytes(p.seal_view(23, b"\xaa" * 300))
    short = p.seal_view(23, b"xyz")
    assert len(short) == 5 + 8 + 3 + 16 and bytes(short[:5]) == b"\x17\x03\x03\x00\x1b"
    fresh = AEADRecords(p.write_key, p.read_key, p.alg, p.write_iv, p.read_iv, 16)
    fresh.write_seq = seq + 1
    assert bytes(short) == fresh.seal_record(23, b"xyz")
    assert b"\xaa" * 8 not in bytes(short)
    peer.read_seq = seq
    assert peer.open(23, long_rec[5:]) == b"\xaa" * 300
    assert peer.open(23, bytes(short[5:])) == b"xyz"
    # a record above the kept buffer's limit is sealed in a temporary one, and still right
    big = bytes(range(250)) * 4  # (1000 bytes: the record is beyond the kept buffer)
    rec = bytes(p.seal_view(23, big))
    assert len(rec) == 5 + 8 + len(big) + 16 and peer.open(23, rec[5:]) == big
    t.close()


def test_open_into_writes_only_a_verified_plaintext_that_fits():
    t, sock, srv = _stream("recv_into", [4096])
    p, peer = _record_pair(t)
    peer.read_seq = p.write_seq
    frag = bytes(p.seal_view(23, b"0123456789")[5:])
    out = bytearray(b"-" * 12)
    try:
        peer.open_into(23, frag, bytearray(9))  # one byte short: refused before any work
    except ValueError:
        pass
    else:
        raise AssertionError("a too-small buffer was accepted")
    bad = bytearray(frag)
    bad[-1] ^= 1
    try:
        peer.open_into(23, bad, out)
    except TLSError as e:
        assert e.code == 20  # bad_record_mac
    else:
        raise AssertionError("a forged tag was accepted")
    assert out == bytearray(b"-" * 12)  # nothing written on a bad tag
    assert peer.open_into(23, memoryview(frag), out) == 10 and out == bytearray(b"0123456789--")
    t.close()


def test_stream_readinto_opens_into_the_callers_buffer_and_keeps_the_rest():
    reply = FLIGHTS["openssl_ccm"][1]
    t, sock, srv = _stream("readinto", [1])
    assert t.read(len(reply)) == reply
    sock.data += srv.seal_record(23, b"A" * 40) + srv.seal_record(23, b"B" * 10) + srv.seal_record(23, b"C" * 5)
    buf = bytearray(b"#" * 64)
    assert t.readinto(buf) == 40 and buf == bytearray(b"A" * 40 + b"#" * 24)  # straight in, nothing beyond
    assert t.readinto(buf, 4) == 4 and buf[:4] == bytearray(b"BBBB")  # does not fit: kept for the next read
    assert t.readinto(buf) == 6 and buf[:6] == bytearray(b"B" * 6)
    assert t.readinto(buf, 5) == 5 and buf[:6] == bytearray(b"CCCCCB")
    t.close()


def test_stream_write_of_the_cbc_suite_and_of_big_buffers_takes_the_general_path():
    # send_now serves AEAD records up to send_limit; anything else goes through send()/data_to_send()
    from device.tls.stream import TLSStream

    tls_world.ensure()
    while _LIVE:
        _LIVE.pop().close()
    conn = TLSClientConnection(IDENTITY, _PSK, suites=["cbc"], random=lambda n: _RANDOM[:n])
    _LIVE.append(conn)
    sock = _FakeSock(_server("openssl_cbc"), [4096], "recv_into")
    t = TLSStream(sock, conn)
    t.do_handshake()
    assert t.conn.send_now(b"x") is None
    n0 = len(sock.sent)
    assert t.write(b"cbc!") == 4 and len(sock.sent) == n0 + 1
    t.close()
    t, sock, srv = _stream("recv_into", [4096])
    t.conn.send_limit = 100
    n0 = len(sock.sent)
    assert t.conn.send_now(b"y" * 101) is None
    assert t.write(b"y" * 250) == 250
    assert len(sock.sent) == n0 + 1 and [len(f) for _, f in _records(sock.sent[-1])] == [124, 124, 74]
    t.close()


def test_stream_refuses_an_oversized_record_header_before_reading_its_body():
    # over a read-exactly stream the body is asked for only after the header passed its checks:
    # a hostile length is refused without reading (or making room for) 64 KB
    for mode in ("readinto", "recv_into"):
        t, sock, srv = _stream(mode, [5])
        reply = FLIGHTS["openssl_ccm"][1]
        assert t.read(len(reply)) == reply
        sock.data += b"\x17\x03\x03\xff\xff"
        size = len(t.conn._in)
        try:
            t.readinto(bytearray(64))
        except TLSError as e:
            assert e.code == 22, e  # record_overflow
        else:
            raise AssertionError("oversized record accepted")
        assert len(t.conn._in) == size
        t.close()


def test_stream_readinto_views_follow_the_input_buffer_when_it_grows():
    # over a read-exactly stream receive_from reads headers and bodies through views it keeps (one for
    # the header, one per body length): same-sized records share them, a record bigger than the input
    # buffer grows it, and the records after that must land in the new buffer, not the old one
    reply = FLIGHTS["openssl_ccm"][1]
    t, sock, srv = _stream("readinto", [1])
    assert t.read(len(reply)) == reply
    msgs = [b"a" * 64, b"b" * 64, b"c" * 600, b"d" * 64, b"e" * 64, b"f" * 3, b"g" * 64]
    sock.data += b"".join(srv.seal_record(23, m) for m in msgs)
    size = len(t.conn._in)
    buf = bytearray(640)
    got = []
    for m in msgs:
        n = t.readinto(buf)
        got.append(bytes(buf[:n]))
    assert got == msgs
    assert len(t.conn._in) > size  # (the 600-byte record grew it: 512 bytes at first)
    t.close()


class _FakeTLS:
    """A stand-in `tls` module whose SSLContext raises `error` (as a full heap makes the real one do)."""

    PROTOCOL_TLS_CLIENT = 0

    def __init__(self, error):
        self.error = error

    def SSLContext(self, protocol):
        raise self.error


def test_native_backend_check_reports_a_full_heap_as_such():
    # backend="native" first checks the runtime's tls.SSLContext: a MemoryError there is a full heap, not a
    # runtime without PSK support, and must reach the caller as what it is
    import sys
    from device.tls import native

    saved = sys.modules.get("tls")
    try:
        sys.modules["tls"] = _FakeTLS(MemoryError("memory allocation failed"))
        try:
            native.available()
            raise AssertionError("MemoryError swallowed")
        except MemoryError:
            pass
        sys.modules["tls"] = _FakeTLS(AttributeError("no SSLContext"))
        assert native.available() is False
    finally:
        if saved is None:
            del sys.modules["tls"]
        else:
            sys.modules["tls"] = saved
