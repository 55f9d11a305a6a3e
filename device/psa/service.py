"""The S-side service API (TF-M interface/include/psa/service.h, SFN model).

A service function `<service>_sfn(msg)` receives a Message and returns the status the
caller's psa_call (or psa_connect) sees. It reaches the caller's vectors only through:

    psa_read(msg, invec_idx, num_bytes) -> bytes   # immutable, never the caller's buffer; advances
    psa_skip(msg, invec_idx, num_bytes) -> int     # bytes skipped
    psa_write(msg, outvec_idx, data)               # appends to that out-vector
    psa_set_rhandle(msg, rhandle)                  # connection-based: remembered per connection

msg.type, msg.handle, msg.client_id (< 0: a non-secure caller), msg.rhandle,
msg.in_size[4], msg.out_size[4] mirror psa_msg_t. A bad index, a negative length, a
write beyond an out-vector's size, or touching a message after its reply is a
programmer error of the partition: PSAProgrammerError.
"""

from device.compat import const
from device.psa import PSAProgrammerError

_MAX_IOVEC = const(4)
_IPC_CALL = const(0)  # PSA_IPC_CALL


class Message:
    """psa_msg_t. Created by the SPM for one delivery; dead once the service function returns.

    ins: the SPM's copies of the in-vectors (bytes). outs: (caller's buffer, size) pairs; writes
    land there only through psa_write. The SPM passes in_size/out_size and bare buffers itself
    (it has just measured them); other callers (tests) give the pairs.
    """

    def __init__(self, type, handle, client_id, rhandle, ins, outs, in_size=None, out_size=None):
        self.type = type
        self.handle = handle
        self.client_id = client_id
        self.rhandle = rhandle
        self._in = ins
        if in_size is None:
            in_size = [0, 0, 0, 0]
            i = 0
            for v in ins:
                in_size[i] = len(v)
                i += 1
        self.in_size = in_size
        if out_size is None:
            out_size = [0, 0, 0, 0]
            bufs = []
            for o in outs:
                out_size[len(bufs)] = o[1]
                bufs.append(o[0])
            outs = bufs
        self._out = outs  # the caller's buffers
        self.out_size = out_size
        self._pos = [0, 0, 0, 0, 0, 0, 0, 0]  # read position of in-vectors 0..3, bytes written to out 0..3
        self.live = True


def _check(msg, idx):
    if msg.__class__ is not Message or not msg.live:
        raise PSAProgrammerError("not a live message")
    if msg.type < _IPC_CALL:
        raise PSAProgrammerError("connect/disconnect messages carry no vectors")
    if idx.__class__ is not int or idx < 0 or idx >= _MAX_IOVEC:
        raise PSAProgrammerError("vector index out of range: %r" % (idx,))


def psa_read(msg, invec_idx, num_bytes):
    """Copy up to num_bytes from in-vector invec_idx (from where the last read/skip stopped)."""
    _check(msg, invec_idx)
    if num_bytes.__class__ is not int or num_bytes < 0:
        raise PSAProgrammerError("psa_read: bad length %r" % (num_bytes,))
    p = msg._pos
    pos = p[invec_idx]
    n = msg.in_size[invec_idx] - pos
    if num_bytes < n:
        n = num_bytes
    if n <= 0:
        return b""
    p[invec_idx] = pos + n
    v = msg._in[invec_idx]
    if n == len(v):  # the whole vector: the SPM's own immutable copy serves, no second copy
        return v
    return v[pos : pos + n]


def psa_skip(msg, invec_idx, num_bytes):
    """Skip up to num_bytes of in-vector invec_idx; returns the number skipped."""
    _check(msg, invec_idx)
    if num_bytes.__class__ is not int or num_bytes < 0:
        raise PSAProgrammerError("psa_skip: bad length %r" % (num_bytes,))
    p = msg._pos
    pos = p[invec_idx]
    n = min(num_bytes, msg.in_size[invec_idx] - pos)
    if n <= 0:
        return 0
    p[invec_idx] = pos + n
    return n


def psa_write(msg, outvec_idx, data):
    """Append data to out-vector outvec_idx. Beyond its size: PSAProgrammerError (the partition's error)."""
    _check(msg, outvec_idx)
    n = len(data)
    p = msg._pos
    pos = p[4 + outvec_idx]
    if pos + n > msg.out_size[outvec_idx]:
        raise PSAProgrammerError(
            "psa_write beyond out-vector %d: %d + %d > %d" % (outvec_idx, pos, n, msg.out_size[outvec_idx])
        )
    if n:
        msg._out[outvec_idx][pos : pos + n] = data
        p[4 + outvec_idx] = pos + n


def psa_set_rhandle(msg, rhandle):
    """Attach a partition-private value to the connection (seen as msg.rhandle in later messages)."""
    if msg.__class__ is not Message or not msg.live:
        raise PSAProgrammerError("not a live message")
    msg.rhandle = rhandle
