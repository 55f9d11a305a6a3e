"""The PSA client API over a byte stream: TF-M's dual-core mailbox, in Python.

On a TF-M dual-core system (NSPE on one core, SPE on another) the non-secure side does not
branch into the secure world: it posts each psa_framework_version / psa_version / psa_connect /
psa_call / psa_close to the secure core's mailbox and waits for the reply. This module is that
mailbox over any stream (a socket, a UART): the non-secure image keeps only its own code in its
heap, and the secure world (SPM, partitions, keys) runs in its own image -- another process,
another core, another chip.

    # secure side (its own process or core): device.psa.spe_mailbox answers with the in-process SPM
    from device.psa import spe_mailbox
    spe_mailbox.serve(conn)                    # until the NS side disconnects

    # non-secure side: the very same client API and wrappers, routed through the mailbox
    from device import psa
    psa.set_backend(mailbox.MailboxClient(sock))

Frames (little-endian, each prefixed by its length as u16) -- MAILBOX_PSA_* are TF-M's call types:

    request  VERSION 0x2: type u8, sid u32
             CONNECT 0x3: type u8, sid u32, version u32
             CALL    0x4: type u8, handle i32, call type i32, n_in u8, n_out u8,
                          n_in x u16 in-vector lengths, n_out x u16 out-vector sizes, in-vector bytes
             CLOSE   0x5: type u8, handle i32
    reply    status i32, n_out u8, n_out x u16 bytes written, out-vector bytes

The client checks the vectors before anything crosses (as TF-M's NS interface does); the secure
side (device.psa.spe_mailbox) checks every frame again (it trusts nothing from the non-secure side) and answers a malformed
one with PSA_ERROR_PROGRAMMER_ERROR, which the client raises as PSAProgrammerError. A broken
stream makes psa_call / psa_connect return PSA_ERROR_COMMUNICATION_FAILURE.
"""

import struct

from device import psa
from device.compat import const
from device.psa import PSAProgrammerError

# Private constants (folded at compile time: no module dict entry, no qstr in the non-secure image); the
# public names (MAILBOX_PSA_*, MAX_FRAME, CALL_HEAD, CALL_HEAD_SIZE) come from __getattr__ at the end.
_VERSION = const(0x2)  # MAILBOX_PSA_VERSION
_CONNECT = const(0x3)  # MAILBOX_PSA_CONNECT
_CALL = const(0x4)  # MAILBOX_PSA_CALL
_CLOSE = const(0x5)  # MAILBOX_PSA_CLOSE
_MAX_FRAME = const(0xFFFF)  # MAX_FRAME: the u16 length prefix
_CALL_HEAD_SIZE = const(11)  # CALL_HEAD_SIZE: a CALL request's fixed part, "<BiiBB" (CALL_HEAD)
_PROGRAMMER_ERROR = const(-129)
_COMMUNICATION_FAILURE = const(-145)
_VERSION_NONE = const(0)  # PSA_VERSION_NONE
_MAX_IOVEC = const(4)  # PSA_MAX_IOVEC


def io(stream):
    """(read_into(mv) -> n, write_all(data)) for a MicroPython stream, a socketpool or CPython socket."""
    recv_into = getattr(stream, "recv_into", None)
    read_into = recv_into or stream.readinto
    sendall = getattr(stream, "sendall", None)
    if sendall is None:
        def sendall(data):
            mv = memoryview(data)
            off = 0
            while off < len(data):
                n = stream.write(mv[off:])
                if not n:
                    raise OSError("stream closed")
                off += n
    return read_into, sendall


def _read_exact(read_into, buf, n):
    """Fill buf[:n] from the stream (buf: a bytearray, or a memoryview of exactly n bytes, read into as is)."""
    mv = buf if buf.__class__ is memoryview and len(buf) == n else memoryview(buf)[:n]
    got = 0
    while got < n:
        k = read_into(mv if got == 0 else mv[got:])
        if not k:
            raise OSError("stream closed after %d of %d bytes" % (got, n))
        got += k


def frame(body):
    if len(body) > _MAX_FRAME:
        raise PSAProgrammerError("mailbox frame of %d bytes > %d" % (len(body), _MAX_FRAME))
    return struct.pack("<H", len(body)) + body


class MailboxClient:
    """A device.psa backend that sends every client call to a secure world across `stream`.

    A psa_call allocates (almost) nothing: the request frame is built in one buffer and the reply read
    into another (`bufsize` bytes each to start with; each grows to the largest frame seen, e.g. once
    for a 16 KB record). A non-secure image makes hundreds of calls per TLS connection, and garbage made
    between its long-lived objects is what fragments a small heap. NS code makes one call at a time,
    so one pair of buffers serves every call."""

    def __init__(self, stream, bufsize=256):
        self._read_into, self._sendall = io(stream)
        self._head = bytearray(2)
        self._head_mv = memoryview(self._head)
        self._req = bytearray(bufsize)
        self._req_mv = memoryview(self._req)
        self._reply = bytearray(bufsize)
        self._reply_mv = memoryview(self._reply)
        self._broken = False

    def _transact(self, frame_data, limit=5):
        """Send one whole frame (length prefix included); returns the reply body (a memoryview of the
        reply buffer, valid until the next call). A reply longer than `limit` (what the request can get
        back) breaks the mailbox before its body is read."""
        if self._broken:
            raise OSError("broken")  # (an earlier failure; every caller turns OSError into a status)
        try:
            self._sendall(frame_data)
            read_into, head = self._read_into, self._head
            k = read_into(self._head_mv)
            if not k:
                self._broken = True
                raise OSError("closed")
            if k == 1:
                _read_exact(read_into, self._head_mv[1:2], 1)
            n = head[0] | (head[1] << 8)
            if n > limit:
                raise OSError("too long")
            if n > len(self._reply):  # grows to the largest reply seen
                self._reply = bytearray(n)
                self._reply_mv = memoryview(self._reply)
            reply = self._reply_mv[:n]
            _read_exact(read_into, reply, n)
        except OSError as e:
            self._broken = True  # a half-sent or half-read frame: the stream is out of step for good
            raise e
        if n < 5:
            self._broken = True
            raise OSError("short")
        return reply

    def _status(self, reply):
        status = reply[0] | (reply[1] << 8) | (reply[2] << 16) | (reply[3] << 24)  # i32, little-endian
        if status & 0x80000000:
            status -= 0x100000000
        if status == _PROGRAMMER_ERROR:
            raise PSAProgrammerError("rejected by the secure side")
        return status

    def version(self, sid):
        try:
            return self._status(self._transact(frame(struct.pack("<BI", _VERSION, sid & 0xFFFFFFFF))))
        except OSError:
            return _VERSION_NONE

    def connect(self, sid, version):
        if sid.__class__ is not int or version.__class__ is not int:
            raise PSAProgrammerError("psa_connect: sid and version must be ints")
        try:
            return self._status(self._transact(frame(struct.pack("<BII", _CONNECT, sid & 0xFFFFFFFF,
                                                                 version & 0xFFFFFFFF))))
        except OSError:
            return _COMMUNICATION_FAILURE

    def call(self, handle, type, in_vec=(), out_vec=()):
        if handle.__class__ is not int or type.__class__ is not int or not 0 <= type <= 0x7FFF:
            raise PSAProgrammerError("psa_call: bad handle or type")
        n_in, n_out = len(in_vec), len(out_vec)
        if n_in + n_out > _MAX_IOVEC:
            raise PSAProgrammerError("psa_call: %d vectors > PSA_MAX_IOVEC" % (n_in + n_out))
        size = 2 + _CALL_HEAD_SIZE + 2 * (n_in + n_out)  # the frame: length prefix, head, vector sizes, data
        limit = 5 + 2 * n_out  # the longest reply: status, n_out, lengths, every out-vector full
        for v in in_vec:
            if not isinstance(v, (bytes, bytearray, memoryview)):
                raise PSAProgrammerError("psa_call: in-vector is not bytes-like")
            if len(v) > _MAX_FRAME:
                raise PSAProgrammerError("psa_call: vector of %d bytes > %d" % (len(v), _MAX_FRAME))
            size += len(v)
        for o in out_vec:
            if not isinstance(o, psa.psa_outvec) or not 0 <= o.len <= len(o.base):
                raise PSAProgrammerError("psa_call: out-vectors must be psa_outvec within their buffer")
            if o.len > _MAX_FRAME:
                raise PSAProgrammerError("psa_call: vector of %d bytes > %d" % (o.len, _MAX_FRAME))
            limit += o.len
        if size - 2 > _MAX_FRAME:
            raise PSAProgrammerError("mailbox frame of %d bytes > %d" % (size - 2, _MAX_FRAME))
        if size > len(self._req):  # grows to the largest request seen, as the engine's record buffers do
            self._req = bytearray(size)
            self._req_mv = memoryview(self._req)
        buf = self._req
        struct.pack_into("<HBiiBB", buf, 0, size - 2, _CALL, handle, type, n_in, n_out)  # prefix + CALL_HEAD
        off = 2 + _CALL_HEAD_SIZE
        for v in in_vec:
            n = len(v)
            buf[off] = n & 0xFF
            buf[off + 1] = n >> 8
            off += 2
        for o in out_vec:
            buf[off] = o.len & 0xFF
            buf[off + 1] = o.len >> 8
            off += 2
        for v in in_vec:
            buf[off:off + len(v)] = v
            off += len(v)
        try:
            reply = self._transact(self._req_mv[:size], limit)
        except OSError:
            return _COMMUNICATION_FAILURE
        status = self._status(reply)
        n_reply = len(reply)
        if reply[4] != n_out or n_reply < 5 + 2 * n_out:
            self._broken = True
            return _COMMUNICATION_FAILURE
        off = 5 + 2 * n_out
        for i in range(n_out):  # check every length before anything is copied out
            n = reply[5 + 2 * i] | (reply[6 + 2 * i] << 8)
            if n > out_vec[i].len:  # the secure side must never write beyond a vector
                self._broken = True
                return _COMMUNICATION_FAILURE
            off += n
        if off > n_reply:
            self._broken = True
            return _COMMUNICATION_FAILURE
        off = 5 + 2 * n_out
        for i in range(n_out):
            n = reply[5 + 2 * i] | (reply[6 + 2 * i] << 8)
            o = out_vec[i]
            o.base[0:n] = reply[off:off + n]
            o.len = n
            off += n
        return status

    def close(self, handle):
        if handle == 0:  # PSA_NULL_HANDLE
            return
        try:
            self._status(self._transact(frame(struct.pack("<Bi", _CLOSE, handle))))
        except OSError:
            pass


def __getattr__(name):
    # The public names of the frame constants (MAILBOX_PSA_*, MAX_FRAME, CALL_HEAD, CALL_HEAD_SIZE: this
    # module folds private copies, see the top) and read_frame are device.psa.spe_mailbox's, the secure
    # side, which uses them; they resolve here on first use (PEP 562; MicroPython's module __getattr__)
    # without a table of their names in the non-secure image's heap.
    if name[:1] == "_":  # (dunder probes, private names)
        raise AttributeError(name)
    from device.psa import spe_mailbox

    return getattr(spe_mailbox, name)
