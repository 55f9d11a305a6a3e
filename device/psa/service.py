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

Cost model (this is the hot path of every psa_call; on MicroPython each allocation, each
Python-level call and each builtin-name lookup is expensive):
- the vectors, their sizes and positions live in a Vectors object the SPM keeps per partition
  and re-arms for each delivery (a partition never serves two messages at once: re-entry is
  refused);
- each service has its own Message subclass (message_class) holding what every message to it
  shares as class attributes: its Vectors, the size lists, its stateless handle, the NS client id;
- so a delivery allocates one small Message instance and stores `type` (plus client_id /
  handle / rhandle when they differ from the class defaults). That instance is the message's
  identity: a message is live only while it is the one being delivered (service._current), so
  a message kept after its reply is dead for good, although later messages reuse the Vectors.
"""

from device.compat import const
from device.psa import PSAProgrammerError

_MAX_IOVEC = const(4)
_len = len  # module-level aliases: a builtin name costs a second (linear) lookup on MicroPython
_int = int
_BYTES_LIKE = (bytes, bytearray, memoryview)


class Vectors:
    """The vectors of the message being delivered to one partition (reused, see the module doc).

    ins[i]: in-vector i as immutable bytes (the caller's bytes object itself, or the SPM's copy of
    a mutable one); only ins[:n_in] are meaningful. ins is the caller's tuple when every
    in-vector is a bytes object, else `copies` (cleared after the reply). outs[i]: the caller's out buffer i.
    in_size/out_size: the lists the Message exposes; slots >= n_in / n_out are 0.
    pos[0..3]: read position of each in-vector; pos[4..7]: bytes written to each out-vector
    (0 in unused slots).
    """

    def __init__(self):
        self.ins = ()
        self.copies = [b"", b"", b"", b""]  # ins when some in-vector had to be copied
        self.outs = [None, None, None, None]
        self.in_size = [0, 0, 0, 0]
        self.out_size = [0, 0, 0, 0]
        self.pos = [0, 0, 0, 0, 0, 0, 0, 0]
        self.n_in = 0
        self.n_out = 0

    def clear_copies(self):
        c = self.copies
        c[0] = c[1] = c[2] = c[3] = b""

    def clear(self):
        """No vectors (CONNECT/DISCONNECT messages): every size and position 0."""
        for i in range(_MAX_IOVEC):
            self.in_size[i] = self.out_size[i] = self.pos[i] = self.pos[4 + i] = 0
            self.outs[i] = None
        self.n_in = self.n_out = 0
        self.ins = ()


class Message:
    """psa_msg_t for one delivery; dead once the service function returns.

    Fields: type, handle, client_id, rhandle, in_size, out_size (and _v: the partition's Vectors).
    The SPM delivers instances of a per-service subclass (message_class); message() builds a
    standalone live one for tests and tools.
    """

    rhandle = None  # stateless messages carry none; connection messages store their own
    handle = None
    client_id = -1


def message_class(vectors, handle, client_id):
    """The Message subclass of one service (of the partition owning `vectors`): class attributes
    hold what all its messages share, so a delivery only creates the instance and sets `type`."""

    class ServiceMessage(Message):
        pass

    ServiceMessage._v = vectors
    ServiceMessage.in_size = vectors.in_size
    ServiceMessage.out_size = vectors.out_size
    ServiceMessage.handle = handle
    ServiceMessage.client_id = client_id
    return ServiceMessage


# The message being delivered now, set by the SPM around each service function (and restored
# after it, for nested calls); a message is live only while it is this one. _bare: the same for
# CONNECT/DISCONNECT messages, which carry no vectors. A module global: one lookup, no attribute chain.
_current = None
_bare = None


def message(type, handle, client_id, rhandle, ins, outs):
    """A standalone live Message (tests, tools): ins bytes-like objects, outs (buffer, size) pairs.
    It stays live until the next message() (deliveries in between restore it afterwards)."""
    global _current, _bare
    if _len(ins) + _len(outs) > _MAX_IOVEC:
        raise PSAProgrammerError("more than PSA_MAX_IOVEC vectors")
    v = Vectors()
    v.ins = [bytes(x) for x in ins]
    v.n_in = _len(ins)
    for i in range(v.n_in):
        v.in_size[i] = _len(v.ins[i])
    v.n_out = _len(outs)
    for i in range(v.n_out):
        v.outs[i] = outs[i][0]
        v.out_size[i] = outs[i][1]
    m = message_class(v, handle, client_id)()
    m.type = type
    if rhandle is not None:
        m.rhandle = rhandle
    _current, _bare = (None, m) if type < 0 else (m, None)
    return m


def _misuse(msg, idx, num):
    """The PSAProgrammerError for a psa_read/psa_skip the fast path refused (errors are rare: named
    precisely here, not on the fast path)."""
    if msg is not _current:
        if msg is _bare and msg is not None:
            return PSAProgrammerError("connect/disconnect messages carry no vectors")
        return PSAProgrammerError("not a live message")
    if idx.__class__ is not _int or not 0 <= idx < _MAX_IOVEC:
        return PSAProgrammerError("vector index out of range: %r" % (idx,))
    return PSAProgrammerError("bad length %r" % (num,))


def _write_misuse(msg, idx, data):
    """The PSAProgrammerError for a psa_write the fast path refused."""
    if msg is not _current or idx.__class__ is not _int or not 0 <= idx < _MAX_IOVEC:
        return _misuse(msg, idx, 0)
    if not isinstance(data, _BYTES_LIKE):
        return PSAProgrammerError("psa_write: data is not bytes-like: %r" % (data.__class__,))
    v = msg._v
    return PSAProgrammerError("psa_write beyond out-vector %d: %d + %d > %d" % (
        idx, v.pos[4 + idx], _len(data), v.out_size[idx]))


# psa_read / psa_skip / psa_write run several times per psa_call, so they check inline and
# stay small: at most 11 words of locals + value stack and no try block, so that MicroPython
# keeps their frame on the C stack (a bigger frame is heap-allocated and freed at every call;
# see docs/psa.md "Performance"). The checks: the message being delivered, an int index 0..3,
# an int length >= 0; _misuse names the error.


def psa_read(msg, invec_idx, num_bytes):
    """Copy up to num_bytes from in-vector invec_idx (from where the last read/skip stopped)."""
    if (msg is not _current or invec_idx.__class__ is not _int or invec_idx < 0 or invec_idx >= _MAX_IOVEC
            or num_bytes.__class__ is not _int or num_bytes < 0):
        raise _misuse(msg, invec_idx, num_bytes)
    v = msg._v
    p = v.pos
    pos = p[invec_idx]
    n = v.in_size[invec_idx] - pos  # 0 for a vector the caller did not pass
    if num_bytes < n:
        n = num_bytes
    if n <= 0:
        return b""
    p[invec_idx] = pos + n
    v = v.ins[invec_idx]
    if n == _len(v):  # the whole vector: it is immutable bytes already, no copy
        return v
    return v[pos : pos + n]


def psa_skip(msg, invec_idx, num_bytes):
    """Skip up to num_bytes of in-vector invec_idx; returns the number skipped."""
    if (msg is not _current or invec_idx.__class__ is not _int or invec_idx < 0 or invec_idx >= _MAX_IOVEC
            or num_bytes.__class__ is not _int or num_bytes < 0):
        raise _misuse(msg, invec_idx, num_bytes)
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
    if msg is not _current or outvec_idx.__class__ is not _int or outvec_idx < 0 or outvec_idx >= _MAX_IOVEC:
        raise _write_misuse(msg, outvec_idx, data)
    v = msg._v
    p = v.pos
    pos = p[4 + outvec_idx]
    end = pos + _len(data)
    if end > v.out_size[outvec_idx]:  # out_size is 0 for a vector the caller did not pass
        raise _write_misuse(msg, outvec_idx, data)
    if end > pos:
        v.outs[outvec_idx][pos:end] = data
        p[4 + outvec_idx] = end


def psa_set_rhandle(msg, rhandle):
    """Attach a partition-private value to the connection (seen as msg.rhandle in later messages)."""
    if msg is None or (msg is not _current and msg is not _bare):
        raise PSAProgrammerError("psa_set_rhandle: not a live message")
    msg.rhandle = rhandle
