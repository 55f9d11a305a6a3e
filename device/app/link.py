"""The device's link to the gateway: TCP, TLS-PSK, the attestation exchange, batches and acks.

One ``GatewayLink`` is one connection (docs/protocol.md). Everything it needs from the
outside is handed in, so the same code runs on MicroPython (``socket``), CircuitPython
(``socketpool.SocketPool``) and CPython:

    link = GatewayLink(host, port, identity, psk, get_token, wrap_socket, socket_module=socket)
    link.open()                          # connect, handshake, challenge -> token -> verdict
    acked = link.send_batch(first_seq, dropped, readings)   # -> last_seq the gateway acked
                                         # (readings: single-reading packs, merged into one pack)
    link.close()

``wrap_socket(sock, identity, psk)`` returns a stream with read/write/close (device.tls);
``get_token(challenge)`` returns the attestation token (psa_initial_attest_get_token).
Failures raise ``LinkError`` (or the TLS/socket error itself); the caller backs off and retries.
"""

from device.app import protocol as P


class LinkError(Exception):
    """The gateway refused us, broke the protocol, or said it cannot take a batch now."""

    def __init__(self, message, code=0):
        super().__init__(message)
        self.code = code


class GatewayLink:
    def __init__(
        self,
        host,
        port,
        identity,
        psk,
        get_token,
        wrap_socket,
        socket_module=None,
        timeout_s=10,
        frame_limit=P.MAX_FRAME,
        loads=None,
    ):
        self.host = host
        self.port = port
        self.identity = identity
        self.psk = psk
        self._get_token = get_token
        self._wrap = wrap_socket
        if socket_module is None:
            import socket as socket_module
        self._socket = socket_module
        self.timeout_s = timeout_s
        self.frame_limit = frame_limit
        if loads is None:
            from device.cbor import loads
        self._loads = loads
        self._buf = bytearray(frame_limit + P.HEADER)
        self._hdr = bytearray(P.HEADER)
        self._sock = None
        self._stream = None
        self.max_readings = 0
        self.cipher_suite = None

    # -- connection ------------------------------------------------------------------------

    def open(self):
        addr = self._socket.getaddrinfo(self.host, self.port)[0][-1]
        sock = self._socket.socket()
        self._sock = sock
        try:
            if self.timeout_s is not None:
                sock.settimeout(self.timeout_s)
            sock.connect(addr)
            try:
                sock.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: no Nagle stall per flight
            except (OSError, AttributeError, TypeError):
                pass
            self._stream = self._wrap(sock, self.identity, self.psk)
            self.cipher_suite = getattr(self._stream, "cipher_suite", None)
            kind, fields = self._receive()
            if kind != P.CHALLENGE:
                raise LinkError("expected a challenge, got message type %d" % kind)
            token = self._get_token(fields[0])
            self._send(P.encode_token_into(self._buf, token))
            kind, fields = self._receive()
            if kind != P.VERDICT:
                raise LinkError("expected a verdict, got message type %d" % kind)
            if fields[0] != P.VERDICT_ACCEPTED:
                raise LinkError("gateway refused the attestation (verdict %d)" % fields[0], fields[0])
            self.max_readings = fields[1]
            if self.max_readings < 1:
                raise LinkError("gateway accepts no readings")
        except Exception as e:
            self.abort()
            raise e

    @property
    def connected(self):
        return self._stream is not None

    def close(self):
        """Orderly close: tell the gateway, then drop the connection."""
        if self._stream is not None:
            try:
                self._send(P.encode_close_into(self._buf))
            except Exception:
                pass
        self.abort()

    def abort(self):
        s, self._stream = self._stream, None
        if s is not None:
            try:
                s.close()
            except Exception:
                pass
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except Exception:
                pass

    # -- batches ---------------------------------------------------------------------------

    def batch_room(self, first_seq, dropped, count):
        """Bytes left for readings in one frame of `count` readings (the sum of their single
        packs: the merged pack is smaller, so this bound is conservative)."""
        return self.frame_limit + P.HEADER - P.batch_overhead(first_seq, dropped, count)

    def send_batch(self, first_seq, dropped, readings):
        """Send one batch and wait for its ack; returns the acknowledged last_seq.

        `readings`: the queued single-reading SenML packs of first_seq, first_seq + 1, ...; they
        are merged into one pack inside the link's frame buffer (docs/protocol.md, "batch").
        """
        n = P.encode_batch_into(self._buf, first_seq, dropped, readings)
        self._send(n)
        kind, fields = self._receive()
        if kind != P.ACK:
            raise LinkError("expected an ack, got message type %d" % kind)
        last = fields[0]
        if last > first_seq + len(readings) - 1:
            raise LinkError("gateway acked seq %d beyond the batch" % last)
        return last

    # -- frames ----------------------------------------------------------------------------

    def _send(self, n):
        stream = self._stream
        if stream is None:
            raise LinkError("not connected")
        mv = memoryview(self._buf)
        sent = 0
        while sent < n:
            w = stream.write(mv[sent:n])
            if w is None:  # a stream that writes everything and returns None
                w = n - sent
            if w <= 0:
                raise OSError("connection closed while sending")
            sent += w

    def _read_exact(self, mv, n):
        got = 0
        stream = self._stream
        while got < n:
            r = stream.readinto(mv[got:n])
            if not r:
                raise OSError("gateway closed the connection")
            got += r

    def _receive(self):
        if self._stream is None:
            raise LinkError("not connected")
        self._read_exact(memoryview(self._hdr), P.HEADER)
        n = P.frame_length(self._hdr, self.frame_limit)
        mv = memoryview(self._buf)
        self._read_exact(mv, n)
        msg = self._loads(bytes(mv[:n]))
        kind, fields = P.parse_message(msg)
        if kind == P.ERROR:
            raise LinkError("gateway error %d: %s" % fields, fields[0])
        if kind == P.CLOSE:
            raise LinkError("gateway closed the conversation")
        return kind, fields
