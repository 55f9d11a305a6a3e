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

MAILBOX_PSA_FRAMEWORK_VERSION = const(0x1)
MAILBOX_PSA_VERSION = const(0x2)
MAILBOX_PSA_CONNECT = const(0x3)
MAILBOX_PSA_CALL = const(0x4)
MAILBOX_PSA_CLOSE = const(0x5)

MAX_FRAME = const(0xFFFF)  # the u16 length prefix
_PROGRAMMER_ERROR = const(-129)
_COMMUNICATION_FAILURE = const(-145)
CALL_HEAD = "<BiiBB"  # a CALL request's fixed part: type, handle, call type, n_in, n_out
CALL_HEAD_SIZE = const(11)


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
    mv = memoryview(buf)
    got = 0
    while got < n:
        k = read_into(mv[got:n])
        if not k:
            raise OSError("stream closed after %d of %d bytes" % (got, n))
        got += k


def read_frame(read_into, head):
    """One length-prefixed frame (bytes); None when the stream ends cleanly before a frame."""
    mv = memoryview(head)
    k = read_into(mv[0:2])
    if not k:
        return None
    if k == 1:
        _read_exact(read_into, mv[1:2], 1)
    n = head[0] | (head[1] << 8)
    body = bytearray(n)
    _read_exact(read_into, body, n)
    return body


def frame(body):
    if len(body) > MAX_FRAME:
        raise PSAProgrammerError("mailbox frame of %d bytes > %d" % (len(body), MAX_FRAME))
    return struct.pack("<H", len(body)) + body


class MailboxClient:
    """A device.psa backend that sends every client call to a secure world across `stream`."""

    def __init__(self, stream):
        self._read_into, self._sendall = io(stream)
        self._head = bytearray(2)
        self._broken = False

    def _transact(self, body):
        if self._broken:
            raise OSError("mailbox broken by an earlier failure")
        try:
            self._sendall(frame(body))
            reply = read_frame(self._read_into, self._head)
        except OSError:
            self._broken = True  # a half-sent or half-read frame: the stream is out of step for good
            raise
        if reply is None:
            self._broken = True
            raise OSError("secure side closed the mailbox")
        if len(reply) < 5:
            self._broken = True
            raise OSError("short reply")
        return reply

    def _status(self, reply):
        status = struct.unpack_from("<i", reply, 0)[0]
        if status == _PROGRAMMER_ERROR:
            raise PSAProgrammerError("rejected by the secure side")
        return status

    def version(self, sid):
        try:
            return self._status(self._transact(struct.pack("<BI", MAILBOX_PSA_VERSION, sid & 0xFFFFFFFF)))
        except OSError:
            return psa.PSA_VERSION_NONE

    def connect(self, sid, version):
        if sid.__class__ is not int or version.__class__ is not int:
            raise PSAProgrammerError("psa_connect: sid and version must be ints")
        try:
            return self._status(self._transact(struct.pack("<BII", MAILBOX_PSA_CONNECT, sid & 0xFFFFFFFF,
                                                           version & 0xFFFFFFFF)))
        except OSError:
            return _COMMUNICATION_FAILURE

    def call(self, handle, type, in_vec=(), out_vec=()):
        if handle.__class__ is not int or type.__class__ is not int or not 0 <= type <= 0x7FFF:
            raise PSAProgrammerError("psa_call: bad handle or type")
        n_in, n_out = len(in_vec), len(out_vec)
        if n_in + n_out > psa.PSA_MAX_IOVEC:
            raise PSAProgrammerError("psa_call: %d vectors > PSA_MAX_IOVEC" % (n_in + n_out))
        sizes = []
        for v in in_vec:
            if not isinstance(v, (bytes, bytearray, memoryview)):
                raise PSAProgrammerError("psa_call: in-vector is not bytes-like")
            sizes.append(len(v))
        for o in out_vec:
            if not isinstance(o, psa.psa_outvec) or not 0 <= o.len <= len(o.base):
                raise PSAProgrammerError("psa_call: out-vectors must be psa_outvec within their buffer")
            sizes.append(o.len)
        for n in sizes:
            if n > MAX_FRAME:
                raise PSAProgrammerError("psa_call: vector of %d bytes > %d" % (n, MAX_FRAME))
        body = bytearray(struct.pack(CALL_HEAD, MAILBOX_PSA_CALL, handle, type, n_in, n_out))
        body += struct.pack("<%dH" % len(sizes), *sizes)
        for v in in_vec:
            body += v
        try:
            reply = self._transact(body)
        except OSError:
            return _COMMUNICATION_FAILURE
        status = self._status(reply)
        if reply[4] != n_out or len(reply) < 5 + 2 * n_out:
            self._broken = True
            return _COMMUNICATION_FAILURE
        off = 5 + 2 * n_out
        for i in range(n_out):
            n = reply[5 + 2 * i] | (reply[6 + 2 * i] << 8)
            o = out_vec[i]
            if n > o.len or off + n > len(reply):  # the secure side must never write beyond a vector
                self._broken = True
                return _COMMUNICATION_FAILURE
            o.base[0:n] = reply[off:off + n]
            o.len = n
            off += n
        return status

    def close(self, handle):
        if handle == psa.PSA_NULL_HANDLE:
            return
        try:
            self._status(self._transact(struct.pack("<Bi", MAILBOX_PSA_CLOSE, handle)))
        except OSError:
            pass
