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
from device.tls.connection import TLSClientConnection, ApplicationData, ConnectionClosed

_IPPROTO_TCP = 6
_TCP_NODELAY = 1


class TLSStream:
    """A TLS-PSK client stream over `sock`: write, read, readinto, close, cipher_suite."""

    def __init__(self, sock, conn, bufsize=1024):
        self.sock = sock
        self.conn = conn
        try:
            sock.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except Exception:  # noqa: not every runtime/socket type has it; flights are single writes anyway
            pass
        self._rbuf = bytearray(bufsize)
        self._rmv = memoryview(self._rbuf)
        self._recv_into = getattr(sock, "recv_into", None)
        self._readinto = None if self._recv_into else getattr(sock, "readinto", None)
        self._pending = b""
        self._pos = 0
        self._eof = False

    @property
    def cipher_suite(self):
        """IANA number of the negotiated suite (None before the handshake)."""
        return self.conn.cipher_suite

    # -- transport -----------------------------------------------------------------------
    def _flush(self):
        out = self.conn.data_to_send()
        if not out:
            return
        send = getattr(self.sock, "sendall", None)
        if send is not None:
            send(out)
            return
        mv = memoryview(out)
        off = 0
        while off < len(out):
            n = self.sock.send(mv[off:])
            off += n or 0

    def _pump(self):
        """One transport read fed to the engine; returns its events."""
        if self._recv_into is not None:
            n = self._recv_into(self._rbuf)
            data = self._rmv[:n]
        elif self._readinto is not None:
            want = min(self.conn.wanted(), len(self._rbuf))
            n = self._readinto(self._rmv[:want])
            if n is None:  # a non-blocking MicroPython socket with nothing to read yet
                return []
            data = self._rmv[:n]
        else:
            data = self.sock.recv(len(self._rbuf))
        try:
            return self.conn.receive_data(data)
        except TLSError:
            try:
                self._flush()  # the alert we are sending
            except OSError:
                pass
            raise

    def do_handshake(self):
        self.conn.start()
        self._flush()
        while not self.conn.handshake_complete:
            self._absorb(self._pump())
            self._flush()

    def _absorb(self, events):
        for ev in events:
            if isinstance(ev, ApplicationData):
                if self._pos < len(self._pending):
                    self._pending = self._pending[self._pos:] + ev.data
                else:
                    self._pending = ev.data
                self._pos = 0
            elif isinstance(ev, ConnectionClosed):
                self._eof = True
        if self._eof and not self.conn.handshake_complete and not self.conn.closed:
            raise OSError("connection closed")

    # -- stream API ----------------------------------------------------------------------
    def write(self, buf):
        self.conn.send(buf)
        self._flush()
        return len(buf)

    def _fill(self):
        while self._pos >= len(self._pending) and not self._eof:
            self._absorb(self._pump())
            self._flush()  # e.g. our no_renegotiation warning
        return len(self._pending) - self._pos

    def readinto(self, buf, nbytes=None):
        """Read up to len(buf) (or nbytes) decrypted bytes; 0 at the end of the stream."""
        n = len(buf) if nbytes is None else min(nbytes, len(buf))
        if n == 0 or not self._fill():
            return 0
        n = min(n, len(self._pending) - self._pos)
        buf[:n] = self._pending[self._pos:self._pos + n]
        self._pos += n
        return n

    def read(self, n=-1):
        """Up to n bytes (n < 0: what the next record brings); b"" at the end of the stream."""
        if not self._fill():
            return b""
        end = len(self._pending) if n is None or n < 0 else min(len(self._pending), self._pos + n)
        out = self._pending[self._pos:end]
        self._pos = end
        return bytes(out)

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
        except Exception:
            try:
                conn.close()
            except Exception:  # noqa: the handshake error is the one to report; the keys are gone
                pass
            raise
    return stream
