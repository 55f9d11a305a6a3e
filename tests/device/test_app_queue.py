"""The store-and-forward queue (device/app/queue.py) on the real ITS partition (fresh temp root)."""

from device.psa import spm
from device.app.queue import ITSStorage, QueueError, StoreAndForwardQueue
from tests.device import psa_fixtures as fx


def _boot(root, assets=40):
    """(Re)start the secure world on `root`, as a reboot would."""
    spm.configure(storage_root=root, partitions=["its"], its_max_assets=assets)
    return ITSStorage()


def _r(i):
    return ("reading-%d" % i).encode()


def test_fifo_peek_ack_and_persistence_across_reboot():
    root = fx.temp_root()
    try:
        q = StoreAndForwardQueue(_boot(root), capacity=8)
        assert (len(q), q.head, q.next_seq, q.dropped) == (0, 1, 1, 0)
        assert q.peek(4) == (1, [])
        for i in range(1, 6):
            assert q.append(_r(i)) == i
        first, rs = q.peek(3)
        assert first == 1 and rs == [_r(1), _r(2), _r(3)]
        assert q.ack(2) == 2
        q2 = StoreAndForwardQueue(_boot(root), capacity=8)  # reboot: nothing queued is lost
        assert (len(q2), q2.head, q2.next_seq) == (3, 3, 6)
        assert q2.peek(10) == (3, [_r(3), _r(4), _r(5)])
        assert q2.peek(10, max_bytes=len(_r(3)) + 1) == (3, [_r(3)])
        assert q2.ack(1) == 0  # an old ack changes nothing
        assert q2.ack(5) == 3 and len(q2) == 0
        try:
            q2.ack(6)
            raise AssertionError("ack beyond the queue accepted")
        except QueueError:
            pass
    finally:
        fx.remove_tree(root)


def test_full_queue_drops_the_oldest_and_counts():
    root = fx.temp_root()
    try:
        q = StoreAndForwardQueue(_boot(root), capacity=4)
        for i in range(1, 8):
            q.append(_r(i))
        assert (len(q), q.head, q.dropped) == (4, 4, 3)
        first, rs = q.peek(10)
        assert first == 4 and rs == [_r(4), _r(5), _r(6), _r(7)]
        q.append(_r(8))  # one more drop while the batch is on its way
        assert q.dropped == 4
        q.ack(7, 3)  # the gateway was told of 3
        assert q.dropped == 1 and q.peek(10) == (8, [_r(8)])
        q = StoreAndForwardQueue(_boot(root), capacity=4)
        assert q.dropped == 1 and q.next_seq == 9
    finally:
        fx.remove_tree(root)


def test_acked_readings_are_deleted_from_storage():
    root = fx.temp_root()
    try:
        st = _boot(root)
        q = StoreAndForwardQueue(st, capacity=4, uid_base=0x1000)
        q.append(b"a")
        q.append(b"b")
        assert st.get(0x1000 + 1 + 1) == b"\x00\x00\x00\x01a"
        q.ack(1)
        assert st.get(0x1000 + 1 + 1) is None
        assert st.get(0x1000 + 1 + 2) == b"\x00\x00\x00\x02b"
    finally:
        fx.remove_tree(root)


def test_damaged_slot_is_counted_not_sent():
    root = fx.temp_root()
    try:
        st = _boot(root)
        q = StoreAndForwardQueue(st, capacity=4)
        for i in range(1, 4):
            q.append(_r(i))
        st.set(q._uid(1), b"\x00\x00\x00\x09stale")  # a slot left over from another seq
        st.remove(q._uid(3))
        first, rs = q.peek(10)
        assert first == 2 and rs == [_r(2)] and q.dropped == 1
        q.ack(2, q.dropped)
        assert q.peek(10) == (4, []) and q.dropped == 1 and len(q) == 0
    finally:
        fx.remove_tree(root)


def test_bad_meta_and_capacity_change_are_refused():
    root = fx.temp_root()
    try:
        st = _boot(root)
        StoreAndForwardQueue(st, capacity=4, uid_base=0x2000)
        for bad_cap in (5, 3):
            try:
                StoreAndForwardQueue(st, capacity=bad_cap, uid_base=0x2000)
                raise AssertionError("capacity change accepted")
            except QueueError:
                pass
        st.set(0x3000, b"SQ\x01\x00" + (4).to_bytes(4, "big") + bytes(12))  # head 0: inconsistent
        for meta_uid in (0x3000,):
            try:
                StoreAndForwardQueue(st, capacity=0, uid_base=meta_uid)
                raise AssertionError("capacity 0 accepted")
            except ValueError:
                pass
        try:
            StoreAndForwardQueue(st, capacity=4, uid_base=0x3000)
            raise AssertionError("inconsistent meta accepted")
        except QueueError:
            pass
        st.set(0x4000, b"XX")
        try:
            StoreAndForwardQueue(st, capacity=4, uid_base=0x4000)
            raise AssertionError("foreign meta accepted")
        except QueueError:
            pass
    finally:
        fx.remove_tree(root)
