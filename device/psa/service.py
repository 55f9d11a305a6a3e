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

Cost model (this is the hot path of every psa_call): a delivery allocates only the small
Message object itself; the vectors, sizes and positions live in a Vectors object that the SPM
keeps per partition and re-arms for each delivery (a partition never runs two messages at
once: re-entry is refused). The Message stays the per-delivery identity: Vectors.live points
at the one message being delivered, so a message kept after its reply is dead for good, even
while later messages reuse the same Vectors.
"""

from device.compat import const
from device.psa import PSAProgrammerError

_MAX_IOVEC = const(4)


class Vectors:
    """The vectors of the message being delivered to one partition (reused, see the module doc).

    ins[i]: in-vector i as immutable bytes (the caller's bytes object itself, or the SPM's copy of
    a mutable one); only ins[:n_in] are meaningful. outs[i]: the caller's out buffer i.
    in_size/out_size: the lists the Message exposes; slots >= n_in / n_out are 0.
    pos[0..3]: read position of each in-vector; pos[4..7]: bytes written to each out-vector
    (0 in unused slots).
    live: the Message being delivered now, None between deliveries.
    """

    def __init__(self):
        self.ins = ()
        self.outs = [None, None, None, None]
        self.in_size = [0, 0, 0, 0]
        self.out_size = [0, 0, 0, 0]
        self.pos = [0, 0, 0, 0, 0, 0, 0, 0]
        self.n_in = 0
        self.n_out = 0
        self.live = None

    def clear(self):
        """No vectors (CONNECT/DISCONNECT messages): every size and position 0."""
        for i in range(_MAX_IOVEC):
            self.in_size[i] = self.out_size[i] = self.pos[i] = self.pos[4 + i] = 0
            self.outs[i] = None
        self.n_in = self.n_out = 0
        self.ins = ()


class Message:
    """psa_msg_t for one delivery; dead once the service function returns.

    Fields: type, handle, client_id, rhandle, in_size, out_size (and _v, the partition's Vectors).
    No __init__: the SPM makes one per delivery with Message() and stores the fields itself (a
    Python-level __init__ call costs ~0.3 us on MicroPython). message() builds a standalone one.
    """

    rhandle = None  # stateless messages carry none; connection messages store their own


def message(type, handle, client_id, rhandle, ins, outs):
    """A standalone live Message (tests, tools): ins bytes-like objects, outs (buffer, size) pairs."""
    if len(ins) + len(outs) > _MAX_IOVEC:
        raise PSAProgrammerError("more than PSA_MAX_IOVEC vectors")
    v = Vectors()
    v.ins = [bytes(x) for x in ins]
    v.n_in = len(ins)
    for i in range(v.n_in):
        v.in_size[i] = len(v.ins[i])
    v.n_out = len(outs)
    for i in range(v.n_out):
        v.outs[i] = outs[i][0]
        v.out_size[i] = outs[i][1]
    m = Message()
    m.type = type
    m.handle = handle
    m.client_id = client_id
    if rhandle is not None:
        m.rhandle = rhandle
    m.in_size = v.in_size
    m.out_size = v.out_size
    m._v = v
    v.live = m
    return m


def _dead(msg):
    if msg.__class__ is not Message or msg._v.live is not msg:
        return PSAProgrammerError("not a live message")
    return PSAProgrammerError("connect/disconnect messages carry no vectors")


# psa_read / psa_skip / psa_write check inline (no helper call: a Python call is ~0.2 us on
# MicroPython and these run several times per psa_call). The order: a live message of this
# delivery that carries vectors, then the index, then the length.


def psa_read(msg, invec_idx, num_bytes):
    """Copy up to num_bytes from in-vector invec_idx (from where the last read/skip stopped)."""
    if msg.__class__ is not Message or msg._v.live is not msg or msg.type < 0:
        raise _dead(msg)
    if invec_idx.__class__ is not int or invec_idx < 0 or invec_idx >= _MAX_IOVEC:
        raise PSAProgrammerError("vector index out of range: %r" % (invec_idx,))
    if num_bytes.__class__ is not int or num_bytes < 0:
        raise PSAProgrammerError("psa_read: bad length %r" % (num_bytes,))
    v = msg._v
    p = v.pos
    pos = p[invec_idx]
    n = v.in_size[invec_idx] - pos  # <= 0 for a vector the caller did not pass
    if num_bytes < n:
        n = num_bytes
    if n <= 0:
        return b""
    p[invec_idx] = pos + n
    data = v.ins[invec_idx]
    if n == len(data):  # the whole vector: it is immutable bytes already, no copy
        return data
    return data[pos : pos + n]


def psa_skip(msg, invec_idx, num_bytes):
    """Skip up to num_bytes of in-vector invec_idx; returns the number skipped."""
    if msg.__class__ is not Message or msg._v.live is not msg or msg.type < 0:
        raise _dead(msg)
    if invec_idx.__class__ is not int or invec_idx < 0 or invec_idx >= _MAX_IOVEC:
        raise PSAProgrammerError("vector index out of range: %r" % (invec_idx,))
    if num_bytes.__class__ is not int or num_bytes < 0:
        raise PSAProgrammerError("psa_skip: bad length %r" % (num_bytes,))
    v = msg._v
    p = v.pos
    pos = p[invec_idx]
    n = v.in_size[invec_idx] - pos
    if num_bytes < n:
        n = num_bytes
    if n <= 0:
        return 0
    p[invec_idx] = pos + n
    return n


def psa_write(msg, outvec_idx, data):
    """Append data to out-vector outvec_idx. Beyond its size: PSAProgrammerError (the partition's error)."""
    if msg.__class__ is not Message or msg._v.live is not msg or msg.type < 0:
        raise _dead(msg)
    if outvec_idx.__class__ is not int or outvec_idx < 0 or outvec_idx >= _MAX_IOVEC:
        raise PSAProgrammerError("vector index out of range: %r" % (outvec_idx,))
    n = len(data)
    if not n:
        return
    v = msg._v
    p = v.pos
    i = 4 + outvec_idx
    pos = p[i]
    # out_size is 0 for a vector the caller did not pass (its pos slot may be stale: unused)
    if pos + n > v.out_size[outvec_idx]:
        raise PSAProgrammerError(
            "psa_write beyond out-vector %d: %d + %d > %d" % (outvec_idx, pos, n, v.out_size[outvec_idx])
        )
    v.outs[outvec_idx][pos : pos + n] = data
    p[i] = pos + n


def psa_set_rhandle(msg, rhandle):
    """Attach a partition-private value to the connection (seen as msg.rhandle in later messages)."""
    if msg.__class__ is not Message or msg._v.live is not msg:
        raise PSAProgrammerError("not a live message")
    msg.rhandle = rhandle
