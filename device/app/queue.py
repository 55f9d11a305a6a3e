"""Store-and-forward queue of readings, persisted through Internal Trusted Storage.

Every reading gets the next sequence number (1, 2, 3 ... never reused, the counter is
persisted) and waits in ITS until the gateway acknowledges it. The queue is bounded: when
it is full, ``append`` drops the *oldest* reading and counts it; the count travels in the
next batch (docs/protocol.md) and is cleared only when that batch is acknowledged, so loss
is reported, never silent.

Layout in ITS (uids from ``uid_base``):
  uid_base            meta, 20 bytes: b"SQ", format 1, 0, capacity, head, next, dropped
                      (uint32 big-endian each) -- head = oldest queued seq, next = seq to assign
  uid_base + 1 + i    slot i = seq % capacity: seq (uint32 big-endian) || reading bytes

The meta asset is the commit point: a reading is in the queue once the meta that covers it
is written. A slot whose stored seq is not the one expected (a crash between writing the
slot and the meta) is counted as dropped, never sent as a wrong reading.

    q = StoreAndForwardQueue(ITSStorage(), capacity=64)
    seq = q.append(reading)                 # bytes of one SenML pack
    first, readings = q.peek(16, 3000)      # oldest readings, consecutive seqs
    q.ack(first + len(readings) - 1, reported_dropped)
"""

from device.compat import const

_MAGIC0 = const(0x53)  # "S"
_MAGIC1 = const(0x51)  # "Q"
_FORMAT = const(1)
_META_SIZE = const(20)
_MAX_SEQ = const(0xFFFFFFFF)

DEFAULT_UID_BASE = const(0x53460000)
DEFAULT_CAPACITY = const(64)


class QueueError(Exception):
    """Unusable queue state in storage (wrong format, or capacity changed)."""


class ITSStorage:
    """The queue's storage: PSA Internal Trusted Storage through the NS wrappers."""

    def __init__(self):
        from device.psa import its

        self._its = its
        from device.psa import PSAError, PSA_ERROR_DOES_NOT_EXIST

        self._err = PSAError
        self._missing = PSA_ERROR_DOES_NOT_EXIST

    def get(self, uid):
        """Stored bytes, or None when the uid does not exist."""
        try:
            return self._its.psa_its_get(uid)
        except self._err as e:
            if e.status == self._missing:
                return None
            raise e

    def set(self, uid, data):
        self._its.psa_its_set(uid, data)

    def remove(self, uid):
        try:
            self._its.psa_its_remove(uid)
        except self._err as e:
            if e.status != self._missing:
                raise e


def _u32(b, i):
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def _put32(buf, i, n):
    buf[i] = (n >> 24) & 0xFF
    buf[i + 1] = (n >> 16) & 0xFF
    buf[i + 2] = (n >> 8) & 0xFF
    buf[i + 3] = n & 0xFF


class StoreAndForwardQueue:
    def __init__(self, storage, capacity=DEFAULT_CAPACITY, uid_base=DEFAULT_UID_BASE):
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self._st = storage
        self._base = uid_base
        self._meta = bytearray(_META_SIZE)
        self._slot = bytearray(4)
        raw = storage.get(uid_base)
        if raw is None:
            self.capacity = capacity
            self.head = 1
            self.next_seq = 1
            self.dropped = 0
            self._save()
            return
        if len(raw) != _META_SIZE or raw[0] != _MAGIC0 or raw[1] != _MAGIC1 or raw[2] != _FORMAT:
            raise QueueError("queue meta in storage has an unknown format")
        self.capacity = _u32(raw, 4)
        self.head = _u32(raw, 8)
        self.next_seq = _u32(raw, 12)
        self.dropped = _u32(raw, 16)
        if self.capacity != capacity:
            raise QueueError("queue in storage has capacity %d, not %d" % (self.capacity, capacity))
        if not 1 <= self.head <= self.next_seq or self.next_seq - self.head > self.capacity:
            raise QueueError("queue meta in storage is inconsistent")

    def __len__(self):
        return self.next_seq - self.head

    def _save(self):
        m = self._meta
        m[0] = _MAGIC0
        m[1] = _MAGIC1
        m[2] = _FORMAT
        m[3] = 0
        _put32(m, 4, self.capacity)
        _put32(m, 8, self.head)
        _put32(m, 12, self.next_seq)
        _put32(m, 16, self.dropped)
        self._st.set(self._base, bytes(m))

    def _uid(self, seq):
        return self._base + 1 + seq % self.capacity

    def append(self, reading):
        """Queue one reading (bytes); returns its sequence number. Full: the oldest is dropped."""
        seq = self.next_seq
        if seq >= _MAX_SEQ:
            raise QueueError("sequence numbers exhausted")
        _put32(self._slot, 0, seq)
        self._st.set(self._uid(seq), bytes(self._slot) + bytes(reading))
        self.next_seq = seq + 1
        if self.next_seq - self.head > self.capacity:  # the new slot overwrote the oldest
            self.head += 1
            self.dropped += 1
        self._save()
        return seq

    def peek(self, max_count, max_bytes=0x7FFFFFFF):
        """The oldest queued readings: (first_seq, [bytes ...]), consecutive sequence numbers.

        At most `max_count` readings and `max_bytes` bytes (at least one reading when any is
        queued). A damaged slot at the head is dropped and counted; one further in ends the batch.
        """
        out = []
        size = 0
        first = self.head
        seq = self.head
        while seq < self.next_seq and len(out) < max_count:
            raw = self._st.get(self._uid(seq))
            if raw is None or len(raw) < 5 or _u32(raw, 0) != seq:
                if out:
                    break
                self.head = seq + 1  # lost before it was committed to its slot: count it
                self.dropped += 1
                self._save()
                seq += 1
                first = seq
                continue
            r = raw[4:]
            if out and size + len(r) > max_bytes:
                break
            out.append(r)
            size += len(r)
            seq += 1
        return first, out

    def ack(self, last_seq, reported_dropped=0):
        """The gateway holds every reading <= last_seq: delete them; clear the drops it was told."""
        if last_seq < self.head:
            return 0
        if last_seq >= self.next_seq:
            raise QueueError("ack for seq %d that was never queued" % last_seq)
        old = self.head
        self.head = last_seq + 1
        self.dropped = max(0, self.dropped - reported_dropped)
        self._save()
        for seq in range(old, self.head):
            self._st.remove(self._uid(seq))
        return self.head - old
