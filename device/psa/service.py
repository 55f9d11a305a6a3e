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

from device.psa import PSAProgrammerError, PSA_IPC_CALL

_MAX_IOVEC = 4


class Message:
    """psa_msg_t. Created by the SPM for one delivery; dead once the service function returns."""

    def __init__(self, type, handle, client_id, rhandle, ins, outs):
        self.type = type
        self.handle = handle
        self.client_id = client_id
        self.rhandle = rhandle
        # copies of the in-vectors (bytes or a private copy of a mutable buffer)
        self._in = ins
        sizes = [0, 0, 0, 0]
        i = 0
        for v in ins:
            sizes[i] = len(v)
            i += 1
        self.in_size = sizes
        self._in_pos = [0, 0, 0, 0]
        # out-vectors: (caller's buffer, size); writes land there only through psa_write
        self._out = outs
        sizes = [0, 0, 0, 0]
        i = 0
        for o in outs:
            sizes[i] = o[1]
            i += 1
        self.out_size = sizes
        self.written = [0, 0, 0, 0]
        self.live = True


def _check(msg, idx):
    if not isinstance(msg, Message) or not msg.live:
        raise PSAProgrammerError("not a live message")
    if msg.type < PSA_IPC_CALL:
        raise PSAProgrammerError("connect/disconnect messages carry no vectors")
    if not isinstance(idx, int) or idx < 0 or idx >= _MAX_IOVEC:
        raise PSAProgrammerError("vector index out of range: %r" % (idx,))


def psa_read(msg, invec_idx, num_bytes):
    """Copy up to num_bytes from in-vector invec_idx (from where the last read/skip stopped)."""
    _check(msg, invec_idx)
    if not isinstance(num_bytes, int) or num_bytes < 0:
        raise PSAProgrammerError("psa_read: bad length %r" % (num_bytes,))
    pos = msg._in_pos[invec_idx]
    n = min(num_bytes, msg.in_size[invec_idx] - pos)
    if n <= 0:
        return b""
    msg._in_pos[invec_idx] = pos + n
    v = msg._in[invec_idx]
    if n == len(v):  # the whole vector: the SPM's own immutable copy serves, no second copy
        return v
    return v[pos : pos + n]


def psa_skip(msg, invec_idx, num_bytes):
    """Skip up to num_bytes of in-vector invec_idx; returns the number skipped."""
    _check(msg, invec_idx)
    if not isinstance(num_bytes, int) or num_bytes < 0:
        raise PSAProgrammerError("psa_skip: bad length %r" % (num_bytes,))
    pos = msg._in_pos[invec_idx]
    n = min(num_bytes, msg.in_size[invec_idx] - pos)
    if n <= 0:
        return 0
    msg._in_pos[invec_idx] = pos + n
    return n


def psa_write(msg, outvec_idx, data):
    """Append data to out-vector outvec_idx. Beyond its size: PSAProgrammerError (the partition's error)."""
    _check(msg, outvec_idx)
    n = len(data)
    pos = msg.written[outvec_idx]
    if pos + n > msg.out_size[outvec_idx]:
        raise PSAProgrammerError(
            "psa_write beyond out-vector %d: %d + %d > %d" % (outvec_idx, pos, n, msg.out_size[outvec_idx])
        )
    if n:
        msg._out[outvec_idx][0][pos : pos + n] = data
        msg.written[outvec_idx] = pos + n


def psa_set_rhandle(msg, rhandle):
    """Attach a partition-private value to the connection (seen as msg.rhandle in later messages)."""
    if not isinstance(msg, Message) or not msg.live:
        raise PSAProgrammerError("not a live message")
    msg.rhandle = rhandle
