"""Socket adapter: drive `TLSClientConnection` over a connected stream socket.

    import socket
    from device.tls import wrap_socket
    from device.psa.crypto import KEY_ID_PSK
    s = socket.socket(); s.connect(addr)
    t = wrap_socket(s, b"device-1", KEY_ID_PSK)        # handshake happens here
    t.write(b"hello"); print(t.read(100)); t.close()

Works over MicroPython sockets (stream readinto/write), CircuitPython socketpool sockets
(recv_into/send) and CPython sockets (recv_into/sendall). Each flight goes out in one write,
and TCP_NODELAY is set where the runtime allows it.
"""

from device.tls.alerts import TLSError
from device.tls.connection import TLSClientConnection

_IPPROTO_TCP = 6
_TCP_NODELAY = 1


class TLSStream:
    """A TLS-PSK client stream over `sock`: write, read, readinto, close, cipher_suite.

    The record path (read/readinto/write) uses the engine's event-free fast path: the socket is
    read straight into the engine's input buffer (receive_buffer/received), next_data() opens a
    record in place and hands back its plaintext, which read() returns as it is when the caller
    takes the whole record; a write is one sealed record and one sendall."""

    def __init__(self, sock, conn, bufsize=1024):
        self.sock = sock
        self.conn = conn
        try:
            sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except Exception:  # noqa: not every runtime/socket type has it; flights are single writes anyway
            pass
        self._bufsize = bufsize  # the most one recv_into asks for
        self._recv_into = getattr(sock, "recv_into", None)
        self._readinto = None if self._recv_into else getattr(sock, "readinto", None)
        self._sendall = getattr(sock, "sendall", None)
        self._pending = b""  # plaintext of a record not fully read yet: _pending[_pos:]
        self._pos = 0
        self._rbuf = None  # readinto's buffer while _next runs, and the bytes it may take
        self._room = 0

    @property
    def cipher_suite(self):
        """IANA number of the negotiated suite (None before the handshake)."""
        return self.conn.cipher_suite

    # -- transport -----------------------------------------------------------------------
    def _flush(self):
        out = self.conn.data_to_send()
        if out:
            self._send(out)

    def _send(self, out):
        if self._sendall is not None:
            self._sendall(out)
            return
        mv = memoryview(out)
        off = 0
        while off < len(out):
            n = self.sock.send(mv[off:])
            off += n or 0

    def _pump(self):
        # One transport read into the engine's input buffer (0 bytes: end of stream). What the
        # engine queued meanwhile (e.g. a no_renegotiation warning) goes out before we wait.
        conn = self.conn
        if conn._out:  # (package-internal)
            self._flush()
        if self._readinto is not None:
            # MicroPython streams read exactly what is asked: the engine asks for what the next
            # record lacks, a header and then the body it announces (None: a non-blocking socket
            # with nothing to read yet; 0: the end of the stream, handled by the engine)
            conn.receive_from(self._readinto)
            return
        if self._recv_into is not None:
            n = self._recv_into(conn.receive_buffer(self._bufsize))
        else:
            data = self.sock.recv(self._bufsize)
            n = len(data)
            if n:
                conn.receive_buffer(n)[:] = data
        conn.received(n)

    def _alerted(self):
        """A TLSError is on its way up: send the alert the engine queued, if the socket still takes it."""
        self._rbuf = None
        try:
            self._flush()
        except OSError:
            pass

    def _next(self):
        # The next record's plaintext (bytes); b"" at the end of the stream. With self._rbuf set
        # (by readinto): a record of at most self._room bytes is opened straight into it and its
        # length (int) comes back instead. Raises TLSError after sending the alert.
        # (self is the only argument, buffer and room are attributes: with fewer locals this frame,
        # try block and all, stays on MicroPython's C stack instead of being allocated per read)
        try:
            while True:
                # a record may be buffered already (_rbuf None: next_data_into is next_data)
                data = self.conn.next_data_into(self._rbuf, self._room)
                if data is not None:
                    return data
                self._pump()
        except TLSError as e:
            self._alerted()
            raise e

    def do_handshake(self):
        conn = self.conn
        conn.start()
        try:
            while not conn.handshake_complete:
                self._flush()  # the ClientHello, later our second flight: each in one write
                conn.pending_work()  # (what can wait for the flight: done while the server answers it)
                self._pump()
                data = conn.next_data()
                if data:  # application data right behind the server's Finished
                    self._pending, self._pos = data, 0
                elif data is not None:
                    raise OSError("connection closed")
        except TLSError as e:
            self._alerted()
            raise e
        self._flush()

    # -- stream API ----------------------------------------------------------------------
    def write(self, buf):
        # the record path: sealed in the engine's record buffer and written from there (no copy)
        rec = self.conn.send_now(buf)
        if rec is None:  # queued output, a long or empty buffer, the CBC suite...: the general path
            self.conn.send(buf)
            self._flush()
        elif self._sendall is not None:
            self._sendall(rec)
        else:
            self._send(rec)
        return len(buf)

    def readinto(self, buf, nbytes=None):
        """Read up to len(buf) (or nbytes) decrypted bytes; 0 at the end of the stream."""
        n = len(buf) if nbytes is None else min(nbytes, len(buf))
        if n == 0:
            return 0
        data, pos = self._pending, self._pos
        if pos >= len(data):
            self._rbuf = buf  # a record that fits is opened straight into buf
            self._room = n
            data = self._next()
            self._rbuf = None  # (no reference to the caller's buffer stays behind)
            if data.__class__ is int:
                return data
            pos = 0
            self._pending = data
        left = len(data) - pos
        if left <= n:  # the rest of the record fits
            buf[:left] = data if pos == 0 else memoryview(data)[pos:]
            self._pos = len(data)
            return left
        buf[:n] = memoryview(data)[pos:pos + n]
        self._pos = pos + n
        return n

    def read(self, n=-1):
        """Up to n bytes (n < 0: what the next record brings); b"" at the end of the stream."""
        data, pos = self._pending, self._pos
        if pos >= len(data):
            data, pos = self._next(), 0
            if n is None or n < 0 or n >= len(data):
                return data  # the whole record: the plaintext object as the engine produced it
            self._pending = data
        end = len(data) if n is None or n < 0 else min(len(data), pos + n)
        self._pos = end
        return data[pos:end]

    def close(self):
        """Send close_notify (if the connection is still up), destroy the keys, close the socket."""
        try:
            self.conn.close()  # destroys the keys even when sealing close_notify fails
            self._flush()
        except Exception:  # noqa: OSError from a dead peer, MemoryError, a crypto error: closing anyway
            pass
        finally:
            self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def wrap_socket(sock, identity, psk, *, suites=None, max_fragment_length=None, record_size_limit=None,
                server_hostname=None, backend=None, do_handshake=True, **kw):
    """Run the TLS 1.2 PSK handshake on a connected socket and return a stream.

    psk: KEY_ID_PSK (or another key id) -- the key never leaves the crypto partition -- or raw
    bytes (imported as a volatile, non-exportable key). backend="native": use the runtime's own
    PSK-capable tls.SSLContext (MicroPython >= 1.29); the raw key then sits in NS memory, and
    `psk` must be bytes. Raises TLSError on a failed handshake (the alert has been sent).
    """
    if backend == "native":
        from device.tls.native import wrap_socket_native

        return wrap_socket_native(sock, identity, psk, suites=suites, server_hostname=server_hostname)
    if backend not in (None, "engine"):
        raise ValueError("backend must be None, 'engine' or 'native'")
    conn = TLSClientConnection(identity, psk, suites=suites, max_fragment_length=max_fragment_length,
                               record_size_limit=record_size_limit, server_name=server_hostname, **kw)
    stream = TLSStream(sock, conn)
    if do_handshake:
        try:
            stream.do_handshake()
        except Exception as e:
            try:
                conn.close()
            except Exception:  # noqa: the handshake error is the one to report; the keys are gone
                pass
            raise e
    return stream
