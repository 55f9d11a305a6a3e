"""Sans-IO TLS 1.2 PSK client: bytes in, bytes out, events (the h11 shape).

    conn = TLSClientConnection(b"device-1", KEY_ID_PSK)      # or raw PSK bytes
    conn.start()
    sock.sendall(conn.data_to_send())                        # ClientHello
    while not conn.handshake_complete:
        for ev in conn.receive_data(sock.recv(2048)): ...
        out = conn.data_to_send()
        if out: sock.sendall(out)                            # one write per flight
    conn.send(b"hello"); sock.sendall(conn.data_to_send())

receive_data() returns a list of events: HandshakeComplete, ApplicationData(data),
ConnectionClosed (``clean`` is True after the peer's close_notify, False on a bare EOF).

The record fast path (used by device.tls.stream) makes no event objects: receive_buffer(n)
hands out free space at the end of the engine's input buffer to read the socket into,
received(n) says how much arrived, and next_data() opens records in place and returns the next
application data's plaintext (None when more input is needed; check handshake_complete and
closed for the rest). The input buffer is parsed by offset and compacted only when a partial
record sits at its end and no room is left.
Any protocol problem raises `TLSError` whose ``alert`` is the alert queued for the peer (send
data_to_send() once more before closing the socket); the connection is dead after that and
every later call raises the same error.

Flow (RFC 5246 §7.3, RFC 4279 §2): ClientHello -> ServerHello [ServerKeyExchange (identity
hint)] ServerHelloDone -> ClientKeyExchange ChangeCipherSpec Finished (one write) ->
ChangeCipherSpec Finished -> application data -> close_notify. No renegotiation (a
HelloRequest gets a no_renegotiation warning), no resumption, no certificates.
"""

import hashlib
import struct

from device.compat import const, urandom
from device.tls import keys as _keys
from device.tls import suites as _suites
from device.tls.alerts import TLSError, reason_text

CHANGE_CIPHER_SPEC = const(20)
ALERT = const(21)
HANDSHAKE = const(22)
APPLICATION_DATA = const(23)

# alert levels and numbers (device.tls.alerts' values, folded here: private constants cost no module
# dict entry and no qstr in the non-secure image)
_LEVEL_WARNING = const(1)
_LEVEL_FATAL = const(2)
_CLOSE_NOTIFY = const(0)
_UNEXPECTED_MESSAGE = const(10)
_RECORD_OVERFLOW = const(22)
_HANDSHAKE_FAILURE = const(40)
_DECODE_ERROR = const(50)
_DECRYPT_ERROR = const(51)
_PROTOCOL_VERSION = const(70)
_INTERNAL_ERROR = const(80)
_NO_RENEGOTIATION = const(100)

# TLSError reasons: numbers whose texts (shown here) live in device.tls.reasons, loaded with the first
# TLSError; (number, arg, ...) fills the text's %-fields. A text in a module costs its heap ~70 bytes
# from the moment the module loads, a number nothing.
_R_EOF_IN_HANDSHAKE = const(20)  # peer closed the connection during the handshake
_R_INTERLEAVED = const(21)  # record type %d inside a fragmented handshake message
_R_EARLY_DATA = const(22)  # application data before the handshake finished
_R_EMPTY_HANDSHAKE = const(23)  # empty handshake record
_R_ALERT_LENGTH = const(24)  # alert record of %d bytes
_R_FROM_SERVER = const(25)  # from the server
_R_CCS_ORDER = const(26)  # ChangeCipherSpec out of order
_R_BAD_CCS = const(27)  # bad ChangeCipherSpec
_R_HANDSHAKE_LENGTH = const(28)  # handshake message of %d bytes
_R_HELLO_REQUEST_BODY = const(29)  # HelloRequest with a body
_R_HELLO_DONE_BODY = const(30)  # ServerHelloDone with a body
_R_FINISHED_LENGTH = const(31)  # Finished of %d bytes
_R_FINISHED_MISMATCH = const(32)  # server Finished does not match
_R_UNEXPECTED = const(33)  # handshake message %d in state %d
_R_MFL_VALUES = const(34)  # max_fragment_length must be 512, 1024, 2048 or 4096
_R_RSL_VALUES = const(35)  # record_size_limit must be 64..16384
_R_IDENTITY_LENGTH = const(36)  # PSK identity too long
_R_STARTED = const(37)  # handshake already started

MAX_PLAINTEXT = const(16384)
_MAX_EXPANSION = const(2048)
MAX_HANDSHAKE_MESSAGE = const(4096)  # server messages here are tiny; a bigger one is hostile
_IN_START = const(512)  # initial input buffer; grows to the largest record seen

# handshake message types and extensions (as in device.tls.messages; folded here: a `_m.NAME` is a
# lookup per use)
_HELLO_REQUEST = const(0)
_SERVER_HELLO = const(2)
_SERVER_KEY_EXCHANGE = const(12)
_SERVER_HELLO_DONE = const(14)
_FINISHED = const(20)
_EXT_SERVER_NAME = const(0)
_EXT_MAX_FRAGMENT_LENGTH = const(1)
_EXT_ENCRYPT_THEN_MAC = const(22)
_EXT_EXTENDED_MASTER_SECRET = const(23)
_EXT_RECORD_SIZE_LIMIT = const(28)
_EXT_RENEGOTIATION_INFO = const(0xFF01)
_CBC_SUITE = const(0x00AE)  # TLS_PSK_WITH_AES_128_CBC_SHA256, the one suite with encrypt_then_mac

_START = const(0)
_WAIT_SERVER_HELLO = const(1)
_WAIT_SERVER_HELLO_DONE = const(2)
_WAIT_CHANGE_CIPHER_SPEC = const(3)
_WAIT_FINISHED = const(4)
_OPEN = const(5)
_CLOSED = const(6)


_m = None  # device.tls.messages, see _messages()


def _messages():
    # The handshake's message builders and parsers, loaded on first use (the constructor, start()) when this
    # module is used on its own; device.tls.wrap_socket loads them with the rest of the engine, before its
    # garbage collection (see there).
    global _m
    if _m is None:
        from device.tls import messages

        _m = messages
    return _m


def __getattr__(name):
    # HandshakeComplete, ApplicationData, ConnectionClosed: the events of receive_data() live in
    # device.tls.events, loaded on first use (PEP 562; MicroPython's module __getattr__)
    if name[:1] == "_":  # (dunder probes, private names)
        raise AttributeError(name)
    from device.tls import events

    return getattr(events, name)


_EV_CLOSED = const(0)  # ConnectionClosed(clean)
_EV_COMPLETE = const(1)  # HandshakeComplete(suite)


def _record(ctype, fragment):
    return struct.pack(">BHH", ctype, 0x0303, len(fragment)) + fragment


_CCS_RECORD = b"\x14\x03\x03\x00\x01\x01"  # ChangeCipherSpec, TLS 1.2, 1 byte: change_cipher_spec(1)


class TLSClientConnection:
    """One TLS 1.2 PSK client connection, no I/O.

    identity: PSK identity (bytes or str). psk: key id of a provisioned key (e.g. KEY_ID_PSK)
    or raw bytes (imported as a volatile, non-exportable key, destroyed at the end).
    suites: numbers or short names ("ccm", "ccm8", "gcm", "cbc"), in order of preference;
    default CCM, CCM_8, GCM, CBC. max_fragment_length: 512/1024/2048/4096 to ask for smaller
    records (RFC 6066); record_size_limit: 64..16384 (RFC 8449). server_name: SNI host name.
    random: callable n -> n bytes (default os.urandom), for tests.
    """

    # Defaults shared through the class for what most connections never set (each would be an entry of
    # the instance's dict). What every handshake sets is set in __init__ instead (see there).
    psk_identity_hint = None
    encrypt_then_mac = False
    _psk_raw = None  # raw PSK bytes until they are imported into the crypto partition
    _psk_owned = False
    _events = None  # the list receive_data() fills (None on the next_data() path)
    # (max_fragment_length, record_size_limit, server_name, extended_master_secret) when not the defaults:
    # one tuple, not four attributes, each of which would be an entry of this class's dict (see the
    # handshake functions below)
    _options = (None, None, None, True)
    _hv = None  # receive_from's view of the input buffer's first 5 bytes (made on first use)
    _bv = None  # receive_from's view of the body behind that header, for the last body length read

    def __init__(self, identity, psk, suites=None, max_fragment_length=None, record_size_limit=None,
                 server_name=None, extended_master_secret=True, random=None):
        self.suites = _suites.parse_suites(suites)
        if max_fragment_length is not None:
            if max_fragment_length not in _messages().MFL_CODES:
                raise ValueError(reason_text(_R_MFL_VALUES))
        if record_size_limit is not None:
            if not 64 <= record_size_limit <= MAX_PLAINTEXT:
                raise ValueError(reason_text(_R_RSL_VALUES))
        self.identity = identity.encode() if isinstance(identity, str) else bytes(identity)
        if len(self.identity) > 0xFFFF:
            raise ValueError(reason_text(_R_IDENTITY_LENGTH))
        if max_fragment_length or record_size_limit or server_name is not None or not extended_master_secret:
            self._options = (max_fragment_length, record_size_limit, server_name, bool(extended_master_secret))
        self._random = random or urandom
        if isinstance(psk, int):
            self._psk_key = psk
        else:
            _keys.check_psk(psk)
            self._psk_key = None
            self._psk_raw, self._psk_owned = bytes(psk), True  # imported by pending_work()
        # what the record path reads on every record stays on the instance (a class default would
        # cost a class lookup per read)
        self._state = _START
        self._out = []  # records for the peer (bytes each), joined by data_to_send()
        self._in = bytearray(_IN_START)  # received bytes; the unprocessed ones are _in[_ipos:_iend]
        self._inmv = memoryview(self._in)
        self._ipos = 0
        self._iend = 0
        self._hs = bytearray()
        self._error = None
        self.send_limit = MAX_PLAINTEXT
        self.recv_limit = MAX_PLAINTEXT if record_size_limit is None else record_size_limit
        # What every handshake sets, set here already (not as class defaults): the instance's dict reaches its
        # final size now, just after wrap_socket's garbage collection, in one go (on MicroPython a 29-slot,
        # 464-byte table) instead of growing table by table during the handshake, when a heap near its floor
        # may have no such hole.
        self.cipher_suite = None  # the suite the server chose (IANA number)
        self.extended_master_secret = False  # RFC 7627 agreed
        self.client_random = self.server_random = None
        self._offered = None  # extension type -> what we asked for (filled by start())
        self._transcript = None  # the handshake messages so far (bytearray, from start() to our Finished)
        self._ms = None  # the master-secret key, kept from our Finished until the server's is expected (see pending_work)
        self._server_finished_hash = self._expected_finished = None
        self._prot = None  # record protection object (keys.AEADRecords / cbc.CBCRecords)
        self._write_protected = self._read_protected = False

    # -- state --------------------------------------------------------------------------
    # handshake_complete and closed (read-only, computed) come from __getattr__, which runs only for names
    # an instance and its class lack, not from properties: on MicroPython a class with a property makes
    # every attribute store on its instances look the name up in the class first (~1k instructions per
    # store, and the engine stores to self on every record)
    def __getattr__(self, name):
        if name == "handshake_complete":
            return self._state == _OPEN
        if name == "closed":
            return self._state == _CLOSED or self._error is not None
        raise AttributeError(name)

    # -- output --------------------------------------------------------------------------
    def data_to_send(self):
        """Everything queued for the peer, as one bytes object (write it in one call)."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)  # one record (the usual write): no copy
        out.clear()
        return data

    def _queue(self, ctype, payload):
        if not self._write_protected:
            self._out.append(_record(ctype, payload))
            return
        seal = self._prot.seal_record
        n = len(payload)
        limit = self.send_limit
        if n <= limit:  # one record: the payload goes to the partition as it is (the SPM copies a mutable one)
            self._out.append(seal(ctype, payload))
            return
        mv = memoryview(payload)
        for off in range(0, n, limit):
            self._out.append(seal(ctype, mv[off:off + limit]))

    # -- client API ----------------------------------------------------------------------
    def start(self):
        """Queue the ClientHello."""
        if self._state != _START:
            raise ValueError(reason_text(_R_STARTED))
        _messages()
        self.client_random = bytes(self._random(32))
        etm = _CBC_SUITE in self.suites
        mfl, rsl, server_name, ems = self._options
        hello = _m.client_hello(self.client_random, self.suites, ems=ems, etm=etm, mfl=mfl, rsl=rsl,
                                server_name=server_name)
        offered = self._offered = {_EXT_RENEGOTIATION_INFO: True}
        if ems:
            offered[_EXT_EXTENDED_MASTER_SECRET] = True
        if etm:
            offered[_EXT_ENCRYPT_THEN_MAC] = True
        if mfl:
            offered[_EXT_MAX_FRAGMENT_LENGTH] = _m.MFL_CODES[mfl]
        if rsl:
            offered[_EXT_RECORD_SIZE_LIMIT] = True
        if server_name:
            offered[_EXT_SERVER_NAME] = True
        self._transcript = bytearray(hello)
        self._queue(HANDSHAKE, hello)
        self._state = _WAIT_SERVER_HELLO

    def send(self, data):
        """Queue application data (split into records of at most send_limit bytes)."""
        if self._error is not None:
            raise self._error
        if self._state != _OPEN:
            raise ValueError("TLS connection not open")
        if len(data):
            self._queue(APPLICATION_DATA, data)

    def send_now(self, data):
        # The record path of device.tls.stream's write: `data` (1..send_limit bytes) sealed as one
        # application-data record, returned as a memoryview of the record class's reused buffer,
        # valid until the next seal (write it out before). None when this path does not apply (the
        # connection is not open or failed, records are queued, data is empty or too big, or the
        # suite's record class has no such buffer): use send() and data_to_send() then.
        if self._state != _OPEN or self._error is not None or self._out:
            return None
        n = len(data)
        if not n or n > self.send_limit:
            return None
        # (getattr, not a class test: the test saves the bound method's one-block allocation, yet
        # measured 13k instructions more per echo -- small allocations move MicroPython's
        # allocator past the heap's small holes, which the frames allocated after them then skip)
        seal = getattr(self._prot, "seal_view", None)  # (AEAD suites; CBCRecords has none)
        if seal is None:
            return None
        return seal(APPLICATION_DATA, data)

    def close(self):
        """Queue close_notify (once) and destroy the session keys.

        The keys are destroyed whatever happens: sealing the close_notify may fail (a MemoryError
        on a fragmented MicroPython heap, a crypto partition error), and that error is raised only
        after the keys are gone."""
        try:
            # (once: _wipe() below drops _prot, so a second close() sends nothing)
            if self._error is None and self._prot is not None and self._state in (_OPEN, _CLOSED):
                self._queue(ALERT, bytes((_LEVEL_WARNING, _CLOSE_NOTIFY)))
        finally:
            self._state = _CLOSED
            self._wipe()

    def _wipe(self):
        """Destroy every key this connection owns (idempotent; each destroy is attempted)."""
        prot, self._prot = self._prot, None
        psk, self._psk_key = self._psk_key, None
        ms, self._ms = self._ms, None
        self._psk_raw = None
        self._transcript = None
        try:
            if prot is not None:
                prot.destroy()
        finally:
            try:
                if ms is not None:
                    _keys.destroy(ms)
            finally:
                if self._psk_owned and psk is not None:
                    _keys.destroy(psk)

    def pending_work(self):
        """Do the handshake work that can wait until our flight is on the wire: the server Finished we
        expect (a PRF under the master secret), then destroying the master secret and the imported PSK.

        A transport calls it right after writing the flight, so the work overlaps the server's round
        trip (wrap_socket does); otherwise it runs when the server's Finished arrives. Idempotent.
        After the ClientHello, the same holds for importing a PSK given as raw bytes."""
        if self._psk_raw is not None and self._error is None:
            try:
                self._psk_key = _keys.import_psk(self._psk_raw)
            except TLSError as e:
                self._fail(e)
                raise e
            self._psk_raw = None
        ms = self._ms
        if ms is None or self._error is not None:
            return
        try:
            self._expected_finished = _keys.verify_data(ms, b"server finished", self._server_finished_hash)
        except TLSError as e:
            self._fail(e)
            raise e
        self._server_finished_hash = None
        self._ms = None
        _keys.destroy(ms)
        if self._psk_owned and self._psk_key is not None:  # the imported PSK served only the master secret
            _keys.destroy(self._psk_key)
            self._psk_key = None

    def _fail(self, err):
        self._error = err
        try:
            if not err.received and self._state != _CLOSED:
                try:
                    self._queue(ALERT, bytes((_LEVEL_FATAL, err.code)))
                except Exception:  # noqa: no alert can be sealed (crypto error, MemoryError): keys still go
                    pass
        finally:
            self._state = _CLOSED
            self._ipos = self._iend = 0
            self._hs = bytearray()
            self._wipe()

    # -- input ---------------------------------------------------------------------------
    def wanted(self):
        """Bytes still missing to complete the next record (at least 1): a transport with
        read-exactly semantics (MicroPython stream readinto) reads this many and never over-reads."""
        buf, pos = self._in, self._ipos
        n = self._iend - pos
        if n < 5:
            return 5 - n
        n = 5 + ((buf[pos + 3] << 8) | buf[pos + 4]) - n
        return n if n > 0 else 1  # (not max(): a builtin is a global lookup and a call more)

    def receive_buffer(self, n=0):
        """A writable memoryview of n free bytes at the end of the input buffer (n=0: exactly what
        the next record still lacks, for read-exactly transports): read the transport into it,
        then call received(count). Compacts (rarely) or grows the buffer when needed."""
        if not n:
            n = self.wanted()
        end = self._iend
        if end + n > len(self._in):
            live = end - self._ipos
            if live + n <= len(self._in):  # room once the unprocessed bytes move to the front
                self._in[:live] = bytes(self._inmv[self._ipos:end])
            else:
                grown = bytearray(max(live + n, 2 * len(self._in)))
                grown[:live] = self._inmv[self._ipos:end]
                self._in = grown
                self._inmv = memoryview(grown)
                self._hv = self._bv = None  # (receive_from's views were of the old buffer)
            self._ipos = 0
            self._iend = end = live
        return self._inmv[end:end + n]

    def receive_from(self, readinto):
        # The record path of device.tls.stream over a read-exactly transport (MicroPython's stream
        # readinto): what the next record lacks is read into the input buffer -- a header alone,
        # then the body it announces -- in one engine call instead of several (receive_buffer,
        # wanted, received, _complete, twice). Returns the last read's count: 0 at the end of the
        # stream (handled as received(0) handles it), None when a non-blocking socket has nothing.
        if self._iend:  # part of a record is buffered already: read what it lacks
            n = readinto(self.receive_buffer(self.wanted()))
        else:  # an empty buffer (the usual case between records): the header into its first 5 bytes,
            v = self._hv  # through a view made once (receive_buffer would make one per record)
            if v is None:
                v = self._hv = self._inmv[:5]
            n = readinto(v)
        if n:
            self._iend += n
            if n == 5 and not self._complete():  # a header alone: its body follows
                if self._iend == 5:  # at the buffer's start: the body goes right behind it
                    b = self._in
                    n = (b[3] << 8) | b[4]
                    v = self._bv  # the last such body's view: records of one size (the usual case) share it
                    if v is None or len(v) != n:
                        v = self._body_view(n)
                else:
                    v = self.receive_buffer(self.wanted())
                n = readinto(v)
                if n:
                    self._iend += n
                    return n
            else:
                return n
        if n is None:
            return None
        self._end_of_stream()
        return 0

    def _body_view(self, n):
        # receive_from's view of the n bytes behind a header at the buffer's start, kept in _bv
        if 5 + n > len(self._in):  # (the buffer grows, and the views of the old one are dropped)
            return self.receive_buffer(n)
        v = self._bv = self._inmv[5:5 + n]
        return v

    def received(self, n):
        """n bytes were read into the last receive_buffer(); 0 = end of stream (may raise TLSError)."""
        if n:
            self._iend += n
        else:
            self._end_of_stream()

    def _end_of_stream(self):
        # (apart from received(): its try block would cost received() a heap-allocated frame per call)
        if self._error is not None:
            raise self._error
        if self._state != _CLOSED:
            try:
                self._eof()
            except Exception as e:
                self._die(e)
                raise e

    def next_data(self):
        """Process buffered records until one carries application data and return its plaintext
        (bytes, not empty); b"" once the connection is closed (close_notify, end of stream); None
        when the buffered input holds no complete record. The record fast path of
        device.tls.stream: no event objects."""
        if self._error is not None:
            raise self._error
        while self._state != _CLOSED:  # (_next_record kills the connection on any error)
            data = self._next_record()
            if data is None or len(data):
                return data
        return b""

    def next_data_into(self, out, limit):
        # next_data() for a reader with a buffer: an application-data record whose plaintext is at
        # most `limit` bytes is opened straight into the writable buffer `out` (limit <= len(out)),
        # and its length (int > 0) returned; one that does not fit comes back as bytes, as
        # next_data() returns it (and with out None, every record does). b"" once the connection is
        # closed, None when more input is needed.
        if self._error is not None:
            raise self._error
        # no try block here (_next_record kills the connection on any error itself), and a record
        # is opened only once it is complete: this function and _complete keep their frames on the
        # C stack, and _next_record (whose frame MicroPython takes from the heap) runs once per record
        while self._state != _CLOSED:
            if self._iend - self._ipos < 5 or not self._complete():  # (an empty buffer without a call)
                return None
            data = self._next_record(out, limit)
            if data is None or data:  # (None: incomplete after all; an int count or non-empty bytes)
                return data
        return b""

    def _complete(self):
        # A whole record is buffered, or a header _next_record may refuse as it is (a type or
        # version it rejects, a length above recv_limit): that is not read on before it is checked.
        buf = self._in
        pos = self._ipos
        n = self._iend - pos
        if n < 5:
            return False
        length = (buf[pos + 3] << 8) | buf[pos + 4]
        return (n >= 5 + length or length > self.recv_limit or buf[pos + 1] != 3
                or buf[pos] < CHANGE_CIPHER_SPEC or buf[pos] > APPLICATION_DATA)

    def receive_data(self, data):
        """Feed bytes from the peer (b"" = end of stream); returns a list of events."""
        # (device.tls.events, loaded on first use: the stream's record path needs no events)
        from device.tls.events import receive_data

        return receive_data(self, data)

    def _eof(self):
        if self._state != _OPEN:
            raise TLSError(_HANDSHAKE_FAILURE, _R_EOF_IN_HANDSHAKE)
        self._state = _CLOSED
        self._wipe()
        _event(self, _EV_CLOSED, False)

    def _die(self, e):
        """An exception inside the engine: the connection is dead, its keys destroyed."""
        if isinstance(e, TLSError):
            if e is not self._error:
                self._fail(e)
            return
        # not a protocol error (MemoryError, an unexpected crypto failure): the engine's state
        # is unknown now, so the connection dies here and its keys with it
        try:
            self._fail(TLSError(_INTERNAL_ERROR, "%s: %s" % (type(e).__name__, e)))
        finally:
            self._state = _CLOSED
            self._wipe()

    def _next_record(self, out=None, room=0):
        # Process the next complete record of the input buffer: its plaintext when it is
        # application data, b"" for any other record (handled here), None when it is incomplete.
        # With `out`: application data of at most `room` bytes goes into `out`, and the byte
        # count comes back instead (an int, maybe 0). Any error kills the connection (_die).
        try:
            buf = self._in
            pos = self._ipos
            avail = self._iend - pos
            if avail < 5:
                return None
            ctype = buf[pos]
            if ctype < CHANGE_CIPHER_SPEC or ctype > APPLICATION_DATA:
                raise TLSError(_UNEXPECTED_MESSAGE, "unknown record type %d" % ctype)
            if buf[pos + 1] != 3 or (buf[pos + 2] != 3 and self._state != _WAIT_SERVER_HELLO):
                raise TLSError(_PROTOCOL_VERSION, "record version %d.%d" % (buf[pos + 1], buf[pos + 2]))
            length = (buf[pos + 3] << 8) | buf[pos + 4]
            limit = self.recv_limit + (_MAX_EXPANSION if self._read_protected else 0)
            if length > limit:
                raise TLSError(_RECORD_OVERFLOW, "record of %d bytes (limit %d)" % (length, limit))
            if avail < 5 + length:
                return None
            start = pos + 5
            end = start + length
            # consumed: offsets move, the bytes stay where they are until the next receive_buffer()
            if end == self._iend:
                self._ipos = self._iend = 0
            else:
                self._ipos = end
            if self._read_protected:
                prot = self._prot
                if out is not None and ctype == APPLICATION_DATA and self._state == _OPEN and not len(self._hs):
                    # the reader's buffer takes the plaintext (an AEAD ciphertext is as long as it): no bytes object
                    n = length - prot.overhead
                    if 0 <= n <= room and getattr(prot, "open_span", None) is not None:  # (getattr: see send_now)
                        if n > self.recv_limit:
                            raise TLSError(_RECORD_OVERFLOW, "plaintext of %d bytes" % n)
                        return prot.open_span(ctype, self._inmv, start, end, out)  # (no view of the fragment)
                fragment = prot.open(ctype, self._inmv[start:end])
                if len(fragment) > self.recv_limit:
                    raise TLSError(_RECORD_OVERFLOW, "plaintext of %d bytes" % len(fragment))
            else:
                fragment = bytes(self._inmv[start:end])
            if ctype == APPLICATION_DATA and self._state == _OPEN and not len(self._hs):
                return fragment  # the fast path
            self._dispatch(ctype, fragment)
            return b""
        except Exception as e:
            self._die(e)
            raise e

    def _dispatch(self, ctype, fragment):
        if ctype != HANDSHAKE and len(self._hs):
            raise TLSError(_UNEXPECTED_MESSAGE, (_R_INTERLEAVED, ctype))
        if ctype == APPLICATION_DATA:  # (application data on an open connection never gets here)
            raise TLSError(_UNEXPECTED_MESSAGE, _R_EARLY_DATA)
        if ctype == HANDSHAKE:
            if not len(fragment):
                raise TLSError(_UNEXPECTED_MESSAGE, _R_EMPTY_HANDSHAKE)
            _handshake_messages(self, fragment)
        elif ctype == ALERT:
            if len(fragment) != 2:
                raise TLSError(_DECODE_ERROR, (_R_ALERT_LENGTH, len(fragment)))
            level, code = fragment[0], fragment[1]
            if level == _LEVEL_FATAL or self._state != _OPEN:
                # a warning during the handshake (close_notify too) is treated as fatal: nothing here can continue
                raise TLSError(code, _R_FROM_SERVER, received=True)
            if code == _CLOSE_NOTIFY:
                self._state = _CLOSED
                _event(self, _EV_CLOSED, True)
            # other warnings after the handshake are ignored
        else:  # CHANGE_CIPHER_SPEC
            if self._state != _WAIT_CHANGE_CIPHER_SPEC:
                raise TLSError(_UNEXPECTED_MESSAGE, _R_CCS_ORDER)
            if fragment != b"\x01":
                raise TLSError(_DECODE_ERROR, _R_BAD_CCS)
            self._read_protected = True
            self._state = _WAIT_FINISHED


# The handshake's message handling, as module functions taking the connection rather than methods: every
# method is an entry of the class's dict, which MicroPython builds as one table when connection.py loads
# (52 entries took a 944-byte table, a hole a nearly full heap lacks; 45 take 752 bytes). These run a few
# times per handshake, so the way they are called does not matter.


def _event(conn, kind, arg):
    # an event for receive_data(), which collects them in conn._events (None on the other paths)
    events = conn._events
    if events is not None:
        from device.tls import events as ev

        events.append(ev.HandshakeComplete(arg) if kind == _EV_COMPLETE else ev.ConnectionClosed(arg))


def _handshake_messages(conn, frag):
    """Handle the complete handshake messages of a record (bytes). The usual case, no message
    pending from earlier records, needs no copy: each is handled from the record itself (the whole
    record when it is one message). A trailing partial message waits in conn._hs; when one does,
    it and this record are joined into one bytes first."""
    hs = conn._hs
    if len(hs):
        hs += frag
        frag = bytes(hs)
        hs[:] = b""
    n = len(frag)
    pos = 0
    while n - pos >= 4:
        mlen = (frag[pos + 1] << 16) | (frag[pos + 2] << 8) | frag[pos + 3]
        if mlen > MAX_HANDSHAKE_MESSAGE:
            raise TLSError(_DECODE_ERROR, (_R_HANDSHAKE_LENGTH, mlen))
        end = pos + 4 + mlen
        if end > n:
            break
        msg = frag if pos == 0 and end == n else memoryview(frag)[pos:end]
        _handshake(conn, frag[pos], msg, memoryview(msg)[4:])
        pos = end
    if pos < n:
        hs += memoryview(frag)[pos:]


def _handshake(conn, mtype, msg, body):
    if _m is None:
        _messages()  # (loaded by start(); not if a peer talks before it)
    state = conn._state
    if mtype == _HELLO_REQUEST:
        if len(body):
            raise TLSError(_DECODE_ERROR, _R_HELLO_REQUEST_BODY)
        if state == _OPEN:  # renegotiation is refused (RFC 5746 §4.2 / RFC 5246 §7.2.2)
            conn._queue(ALERT, bytes((_LEVEL_WARNING, _NO_RENEGOTIATION)))
        return  # during a handshake a HelloRequest is ignored (RFC 5246 §7.4.1.1)
    if state == _WAIT_SERVER_HELLO and mtype == _SERVER_HELLO:
        sh = _m.ServerHello(body, conn.suites, conn._offered)
        conn.server_random = sh.random
        suite = conn.cipher_suite = sh.suite
        exts = sh.extensions
        if _EXT_EXTENDED_MASTER_SECRET in exts:
            conn.extended_master_secret = True
        if _EXT_ENCRYPT_THEN_MAC in exts and suite == _CBC_SUITE:
            conn.encrypt_then_mac = True
        if sh.mfl:
            conn.send_limit = conn.recv_limit = sh.mfl
        if sh.rsl:
            conn.send_limit = min(sh.rsl, MAX_PLAINTEXT)
        elif conn._options[1]:  # we asked for a record_size_limit
            conn.recv_limit = MAX_PLAINTEXT  # the server did not agree to our limit
        conn._transcript += msg
        conn._state = _WAIT_SERVER_HELLO_DONE
    elif state == _WAIT_SERVER_HELLO_DONE and mtype == _SERVER_KEY_EXCHANGE and conn.psk_identity_hint is None:
        conn.psk_identity_hint = _m.psk_identity_hint(body)
        conn._transcript += msg
    elif state == _WAIT_SERVER_HELLO_DONE and mtype == _SERVER_HELLO_DONE:
        if len(body):
            raise TLSError(_DECODE_ERROR, _R_HELLO_DONE_BODY)
        conn._transcript += msg
        _client_flight(conn)
    elif state == _WAIT_FINISHED and mtype == _FINISHED:
        if len(body) != 12:
            raise TLSError(_DECODE_ERROR, (_R_FINISHED_LENGTH, len(body)))
        if conn._expected_finished is None:  # the transport did not run pending_work() after our flight
            conn.pending_work()
        diff = 0
        for a, b in zip(body, conn._expected_finished):
            diff |= a ^ b
        if diff:
            raise TLSError(_DECRYPT_ERROR, _R_FINISHED_MISMATCH)
        conn._expected_finished = None
        conn._state = _OPEN
        _event(conn, _EV_COMPLETE, conn.cipher_suite)
    else:
        raise TLSError(_UNEXPECTED_MESSAGE, (_R_UNEXPECTED, mtype, state))


def _client_flight(conn):
    cke = _m.client_key_exchange(conn.identity)
    transcript = conn._transcript
    transcript += cke
    # the transcript up to ClientKeyExchange: the EMS session hash and the client Finished's input
    transcript_hash = hashlib.sha256(transcript).digest()
    if conn._psk_raw is not None:  # the transport did not run pending_work() after the ClientHello
        conn.pending_work()  # (no master secret yet: this imports the PSK, nothing else)
    client_random = conn.client_random
    server_random = conn.server_random
    ms = _keys.master_secret(conn._psk_key, client_random, server_random,
                             transcript_hash if conn.extended_master_secret else None)
    conn._ms = ms  # destroyed by pending_work() (or _wipe() on any failure)
    conn._prot = _keys.record_protection(ms, conn.cipher_suite, client_random, server_random,
                                         conn.encrypt_then_mac)
    fin = _m.finished(_keys.verify_data(ms, b"client finished", transcript_hash))
    transcript += fin
    # the server's Finished is computed by pending_work(), after this flight has gone out
    conn._server_finished_hash = hashlib.sha256(transcript).digest()
    conn._transcript = None
    # ClientKeyExchange and ChangeCipherSpec go out unprotected: one piece (data_to_send joins it
    # with the sealed Finished into the flight's one write)
    conn._out.append(_record(HANDSHAKE, cke) + _CCS_RECORD)
    conn._write_protected = True
    conn._queue(HANDSHAKE, fin)
    conn._state = _WAIT_CHANGE_CIPHER_SPEC
