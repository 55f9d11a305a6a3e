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
How a delivery stays cheap (per-partition Vectors, per-service Message classes): docs/psa.md.
"""

from device.compat import const
from device.psa import PSAProgrammerError, psa_outvec

# Cost model (every psa_call runs this; on MicroPython each allocation, Python-level call and
# builtin-name lookup is expensive):
# - the vectors, their sizes and positions live in a Vectors object the SPM keeps per partition
#   and re-arms for each delivery (a partition never serves two messages at once: re-entry is
#   refused);
# - each service has its own Message subclass (message_class) whose class attributes hold what
#   every message to it shares: its Vectors, the size lists, its stateless handle, the NS client
#   id, and the type of the message being delivered;
# - so a delivery allocates one small Message instance (no attribute table): its identity. A
#   message is live only while it is the one being delivered (_current), so a message kept
#   after its reply is dead for good, although later messages reuse the Vectors.

_MAX_IOVEC = const(4)
_len = len  # module-level aliases: a builtin name costs a second (linear) lookup on MicroPython
_int = int
_bytes = bytes
_bytearray = bytearray
_BYTES_LIKE = (bytes, bytearray, memoryview)  # built once: a tuple display is built at every evaluation


# The vectors of the message being delivered to one partition (reused, see above).
# ins[i]: in-vector i as immutable bytes: the caller's tuple when every in-vector is a bytes
# object, else `copies` holding the SPM's copies of the mutable ones (cleared after the reply);
# only ins[:n_in] are meaningful. outs[i]: the caller's out buffer i. in_size/out_size: the lists
# the Message exposes (slots >= n_in / n_out are 0). pos[0..3]: read position of each in-vector;
# pos[4..7]: bytes written to each out-vector (0 in unused slots).
class Vectors:
    def __init__(self):
        self.ins = ()
        self.copies = None  # ins when some in-vector had to be copied (a list of 4, made then)
        self.outs = [None, None, None, None]
        self.in_size = [0, 0, 0, 0]
        self.out_size = [0, 0, 0, 0]
        self.pos = [0, 0, 0, 0, 0, 0, 0, 0]
        self.n_in = 0
        self.n_out = 0

    def copy(self, i, x):
        # in-vector i is not a bytes object: an immutable copy of it goes into self.copies,
        # which becomes ins (with the bytes in-vectors as they are)
        x = _in_copy(x)
        c = self.copies
        if c is None:
            c = self.copies = [b"", b"", b"", b""]
        if self.ins is not c:
            for k in range(self.n_in):
                c[k] = self.ins[k]
            self.ins = c
        c[i] = x
        return x

    def clear(self):  # no vectors (CONNECT/DISCONNECT messages)
        for i in range(_MAX_IOVEC):
            self.in_size[i] = self.out_size[i] = self.pos[i] = self.pos[4 + i] = 0
            self.outs[i] = None
        self.n_in = self.n_out = 0
        self.ins = ()
        self.copies = None


def _in_copy(x):  # an in-vector that is not a bytes object: the partition gets an immutable copy
    if isinstance(x, _BYTES_LIKE):
        return _bytes(x)
    if x is None:
        return b""
    raise PSAProgrammerError("psa_call: in-vector is not bytes-like: %r" % (x.__class__,))


def _out_len(ov):
    # the size a psa_outvec offers, checked: a writable buffer and 0 <= len <= its length
    if ov.__class__ is not psa_outvec and not isinstance(ov, psa_outvec):
        raise PSAProgrammerError("psa_call: out-vectors must be psa_outvec")
    b = ov.base
    if b.__class__ is not _bytearray and (isinstance(b, bytes) or not isinstance(b, _BYTES_LIKE)):
        raise PSAProgrammerError("psa_call: out-vector base is not a writable buffer")
    n = ov.len
    if n.__class__ is not _int or n < 0 or n > _len(b):
        raise PSAProgrammerError("psa_call: out-vector len outside its buffer")
    return n


# psa_msg_t for one delivery, dead once the service function returns. Fields: type, handle,
# client_id, rhandle, in_size, out_size (and _v, the partition's Vectors). The SPM delivers
# instances of a per-service subclass (message_class).
class Message:
    rhandle = None  # stateless messages carry none; connection messages store their own
    handle = None
    client_id = -1


# The Message subclass of one service (of the partition owning `vectors`).
def message_class(vectors, handle, client_id):
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
# CONNECT/DISCONNECT messages, which carry no vectors. Module globals: one lookup each.
_current = None
_bare = None


def _misuse(msg, idx, arg):
    # the PSAProgrammerError for a call the fast path refused (arg: the length, or psa_write's data)
    if msg is not _current:
        return PSAProgrammerError("not a live message" if msg is not _bare or msg is None
                                  else "connect/disconnect messages carry no vectors")
    if idx.__class__ is not _int or not 0 <= idx < _MAX_IOVEC:
        return PSAProgrammerError("vector index out of range: %r" % (idx,))
    if arg.__class__ is _int:
        return PSAProgrammerError("bad length %r" % (arg,))
    return PSAProgrammerError("psa_write: not bytes-like, or beyond out-vector %d" % idx)


# psa_read / psa_skip / psa_write run several times per psa_call, so they check inline and
# stay small: at most 11 words of locals + value stack and no try block, so that MicroPython
# keeps their frame on the C stack (a bigger frame is heap-allocated at every call). The checks:
# the message being delivered, an int index 0..3, an int length >= 0.


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
        raise _misuse(msg, outvec_idx, data)
    v = msg._v
    p = v.pos
    pos = p[4 + outvec_idx]
    end = pos + _len(data)
    if end > v.out_size[outvec_idx]:  # out_size is 0 for a vector the caller did not pass
        raise _misuse(msg, outvec_idx, data)
    if end > pos:
        v.outs[outvec_idx][pos:end] = data
        p[4 + outvec_idx] = end


def psa_set_rhandle(msg, rhandle):
    """Attach a partition-private value to the connection (seen as msg.rhandle in later messages)."""
    if msg is None or (msg is not _current and msg is not _bare):
        raise PSAProgrammerError("psa_set_rhandle: not a live message")
    msg.rhandle = rhandle
