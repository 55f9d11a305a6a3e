"""The secure side of device.psa.mailbox (TF-M's SPE mailbox): answer a non-secure image's PSA calls.

    from device.psa import spe_mailbox
    spe_mailbox.serve(conn)          # one NS client, until it disconnects; calls run on this image's SPM
    reply = spe_mailbox.answer(body, backend)   # one request frame -> its reply frame

It trusts nothing from the non-secure side: every frame is parsed with its lengths checked, and a
malformed one (or a call the SPM refuses as a programmer error) is answered with
PSA_ERROR_PROGRAMMER_ERROR; the secure side lives on. The frame layout is in device.psa.mailbox.
"""

import struct

from device import psa
from device.psa import PSAProgrammerError
from device.compat import const
from device.psa.mailbox import _read_exact, frame, io

# The frame constants (device.psa.mailbox documents the frames; it folds private copies of these and
# resolves these names, through its __getattr__, from here)
MAILBOX_PSA_FRAMEWORK_VERSION = const(0x1)
MAILBOX_PSA_VERSION = const(0x2)
MAILBOX_PSA_CONNECT = const(0x3)
MAILBOX_PSA_CALL = const(0x4)
MAILBOX_PSA_CLOSE = const(0x5)
MAX_FRAME = const(0xFFFF)  # the u16 length prefix
CALL_HEAD = "<BiiBB"  # a CALL request's fixed part: type, handle, call type, n_in, n_out
CALL_HEAD_SIZE = const(11)

_PROGRAMMER_ERROR = -129  # PSA_ERROR_PROGRAMMER_ERROR


def read_frame(read_into, head):
    """One length-prefixed frame (bytes); None when the stream ends cleanly before a frame.
    (device.psa.mailbox.read_frame still names it: the non-secure side never reads a whole frame.)"""
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


def _reply(status, outs=()):
    body = bytearray(struct.pack("<iB", status, len(outs)))
    for o in outs:
        body += struct.pack("<H", o.len)
    for o in outs:
        body += memoryview(o.base)[:o.len]
    return frame(body)


def answer(body, backend):
    """The reply frame (bytes, length-prefixed) to one request frame `body`, run on `backend`."""
    try:
        n = len(body)
        if n < 1:
            raise ValueError
        kind = body[0]
        if kind == MAILBOX_PSA_FRAMEWORK_VERSION and n == 1:
            return _reply(psa.PSA_FRAMEWORK_VERSION)
        if kind == MAILBOX_PSA_VERSION and n == 5:
            return _reply(backend.version(struct.unpack_from("<I", body, 1)[0]))
        if kind == MAILBOX_PSA_CONNECT and n == 9:
            sid, version = struct.unpack_from("<II", body, 1)
            return _reply(backend.connect(sid, version))
        if kind == MAILBOX_PSA_CLOSE and n == 5:
            backend.close(struct.unpack_from("<i", body, 1)[0])
            return _reply(psa.PSA_SUCCESS)
        if kind != MAILBOX_PSA_CALL or n < CALL_HEAD_SIZE:
            raise ValueError
        _, handle, ctype, n_in, n_out = struct.unpack_from(CALL_HEAD, body, 0)
        if n_in + n_out > psa.PSA_MAX_IOVEC or n < CALL_HEAD_SIZE + 2 * (n_in + n_out):
            raise ValueError
        sizes = struct.unpack_from("<%dH" % (n_in + n_out), body, CALL_HEAD_SIZE)
        off = CALL_HEAD_SIZE + 2 * (n_in + n_out)
        if off + sum(sizes[:n_in]) != n:
            raise ValueError
        ins = []
        for size in sizes[:n_in]:
            ins.append(bytes(body[off:off + size]))
            off += size
        outs = [psa.psa_outvec(size) for size in sizes[n_in:]]
        return _reply(backend.call(handle, ctype, ins, outs), outs)
    except (ValueError, PSAProgrammerError):
        # a malformed frame or a call the SPM refused as a programmer error; the secure side lives on
        return _reply(_PROGRAMMER_ERROR)


def serve(stream, backend=None):
    """Answer one non-secure client's requests on `stream` until it disconnects (the SPE side).

    backend: the secure world to run calls on (default: this process's in-process SPM)."""
    if backend is None:
        backend = psa.backend()
    read_into, sendall = io(stream)
    head = bytearray(2)
    while True:
        try:
            body = read_frame(read_into, head)
        except OSError:
            return
        if body is None:
            return
        sendall(answer(body, backend))
