"""The device application: gateway protocol framing (device/app/protocol.py: exact bytes, limits,
parse errors), the store-and-forward queue (device/app/queue.py) on the real ITS partition, backoff.

Expected bytes are written out by hand from RFC 8949; tests/host/test_app_protocol_cbor2.py
cross-checks the same encoders against cbor2. (One module: the MicroPython lane's heap is tight; the batch
tests import device.senml inside the test functions.)
"""

from device import cbor
from device.app import protocol as P
from device.psa import spm
from device.app.queue import ITSStorage, QueueError, StoreAndForwardQueue
from tests.device import psa_fixtures as fx


def _frame(enc, *args):
    buf = _BUF
    n = enc(buf, *args)
    return bytes(buf[:n])


_BUF = bytearray(P.MAX_FRAME + P.HEADER)  # one frame buffer for the module, as the device keeps one


def _raises(fn, exc=P.ProtocolError, code=None):
    try:
        fn()
    except exc as e:
        if code is not None:
            assert e.code == code, (e.code, code)
        return e
    raise AssertionError("no %s" % exc.__name__)


def test_challenge_frame_bytes():
    f = _frame(P.encode_challenge_into, bytes(range(32)))
    assert f[:2] == b"\x00\x25"  # 37 payload bytes
    assert f[2:7] == b"\x83\x01\x01\x58\x20"
    assert f[7:] == bytes(range(32))
    assert cbor.loads(f[2:]) == [1, 1, bytes(range(32))]


def test_small_messages():
    assert _frame(P.encode_verdict_into, 0, 32) == b"\x00\x06\x84\x01\x03\x00\x18\x20"
    assert _frame(P.encode_ack_into, 70000) == b"\x00\x08\x83\x01\x05\x1a\x00\x01\x11\x70"
    assert _frame(P.encode_close_into) == b"\x00\x03\x82\x01\x07"
    assert _frame(P.encode_error_into, 5, "busy") == b"\x00\x09\x84\x01\x06\x05\x64busy"


def _readings(first, n):
    from device import senml

    return [senml.encode_reading("AYa9:", 1764170000 + 60 * i, 2150 + i, 4510 - 3 * i) for i in range(first, first + n)]


def test_batch_merges_readings_into_one_pack():
    from device import senml  # loaded only here: the MicroPython lane's heap is tight

    rs = _readings(300, 2)
    f = _frame(P.encode_batch_into, 300, 2, rs)
    assert f[2:10] == b"\x86\x01\x04\x19\x01\x2c\x02\x02"  # [1, 4, 300, dropped 2, count 2, pack]
    pack = senml.batch(rs)
    assert f[10:] == pack  # one merged pack: base name/time/values, relative times
    assert len(pack) < sum(len(r) for r in rs)
    msg = cbor.loads(f[2:])
    kind, fields = P.parse_message(msg)
    assert kind == P.BATCH and fields[:3] == (300, 2, 2)
    assert senml.readings(fields[3]) == senml.readings(b"\x84" + rs[0][1:] + rs[1][1:]) == ("AYa9:", [
        (1764170000 + 60 * 300, 2450, 3610), (1764170000 + 60 * 301, 2451, 3607)])
    assert P.batch_overhead(300, 2, 2) == len(f) - len(pack) == 10
    n = P.encode_batch_pack_into(_BUF, 300, 2, 2, pack)
    assert bytes(_BUF[:n]) == f


def test_batch_of_one_carries_the_reading_as_it_is():
    from device import senml  # loaded only here: the MicroPython lane's heap is tight

    r = _readings(7, 1)[0]
    f = _frame(P.encode_batch_into, 7, 0, [r])
    assert f[2:8] == b"\x86\x01\x04\x07\x00\x01" and f[8:] == r
    assert len(f[8:]) < len(senml.batch([r]))  # the merge would repeat the base name per quantity


def test_batch_of_32_is_small():
    from device import senml  # loaded only here: the MicroPython lane's heap is tight

    rs = _readings(1, 32)
    f = _frame(P.encode_batch_into, 1, 0, rs)
    assert len(f) <= 32 * 28  # issue 5's <= 28 bytes per reading, frame included
    kind, fields = P.parse_message(cbor.loads(f[2:]))
    assert fields[2] == 32 and len(senml.resolve(fields[3])) == 64


def test_batch_limits():
    _raises(lambda: _frame(P.encode_batch_into, 1, 0, []))  # count 0
    _raises(lambda: _frame(P.encode_batch_into, 0, 0, _readings(1, 1)))  # seq 0
    _raises(lambda: _frame(P.encode_batch_into, 0xFFFFFFFF, 0, _readings(1, 2)))  # beyond the seq range
    _raises(lambda: _frame(P.encode_batch_into, 1, 0, [b"\x01\x02", b"\x03"]))  # not SenML packs
    _raises(lambda: P.encode_batch_into(bytearray(64), 1, 0, _readings(1, 10)), code=P.ERR_TOO_LARGE)


def test_error_reason_is_cut_on_a_character_boundary():
    f = _frame(P.encode_error_into, 1, "\u00e9" * 100)  # 200 bytes of UTF-8
    kind, fields = P.parse_message(cbor.loads(f[2:]))
    assert kind == P.ERROR and fields[1] == "\u00e9" * 64


def test_limits_on_encode():
    _raises(lambda: _frame(P.encode_challenge_into, bytes(31)))
    _raises(lambda: _frame(P.encode_token_into, bytes(P.MAX_TOKEN + 1)), code=P.ERR_TOO_LARGE)
    _raises(lambda: P.encode_batch_pack_into(bytearray(16), 1, 0, 1, bytes(40)), code=P.ERR_TOO_LARGE)
    _raises(lambda: P.encode_batch_pack_into(_BUF, 1, 0, 256, b"\x80"))
    _raises(lambda: P.encode_batch_pack_into(_BUF, 0, 0, 1, b"\x80"))
    small = bytearray(16)
    _raises(lambda: P.encode_token_into(small, bytes(40)), code=P.ERR_TOO_LARGE)


def test_frame_length():
    assert P.frame_length(b"\x00\x01") == 1
    assert P.frame_length(b"\x10\x00") == P.MAX_FRAME
    _raises(lambda: P.frame_length(b"\x00\x00"))
    _raises(lambda: P.frame_length(b"\x10\x01"), code=P.ERR_TOO_LARGE)
    _raises(lambda: P.frame_length(b"\x01\x00", limit=255), code=P.ERR_TOO_LARGE)
    _raises(lambda: P.frame_length(b"\x01"))


def test_parse_rejects_what_the_cddl_does_not_allow():
    good = [1, 4, 1, 0, 1, [{0: "T", 2: 1.0}]]
    assert P.parse_message(good)[0] == P.BATCH
    bad = [
        None, 5, [], [1], {1: 2},
        [2, 4, 1, 0, 1, []],       # version
        [True, 7],                 # bool is not the version
        [1, 99],                   # unknown type
        [1, 7, 0],                 # close has no fields
        [1, 1, bytes(33)],         # nonce size
        [1, 2, b""],               # empty token
        [1, 3, 0, 256],            # max_readings
        [1, 3, -1, 1],
        [1, 4, 0, 0, 1, [{0: 1}]],  # seq starts at 1
        [1, 4, 1, -1, 1, [{0: 1}]],
        [1, 4, 1, 0, 0, [{0: 1}]],  # count 0
        [1, 4, 1, 0, 256, [{0: 1}]],  # count above 255
        [1, 4, 1, 0, True, [{0: 1}]],
        [1, 4, 1, 0, 1, {}],
        [1, 4, 0xFFFFFFFF, 0, 2, [{0: 1}]],  # beyond the seq range
        [1, 4, 1, 0, 1, []],       # empty pack
        [1, 4, 1, 0, 1, [5]],      # record not a map
        [1, 4, 1, 0, 1, [{1.5: 1}]],  # label neither int nor text
        [1, 4, 1, 0, [{0: 1}]],    # the old shape without count
        [1, 4, 1, 0, 1, [[{0: 1}]]],  # a list of packs is not a pack
        [1, 5, "3"],
        [1, 6, 1, b"bytes"],
        [1, 6, 1, "x" * 129],
        [1, 6, 300, "x"],
    ]
    for m in bad:
        _raises(lambda: P.parse_message(m))
    assert _raises(lambda: P.parse_message([2, 7])).code == P.ERR_VERSION


def test_every_message_round_trips():
    cases = [
        (P.encode_challenge_into, (bytes(48),), P.CHALLENGE, (bytes(48),)),
        (P.encode_token_into, (b"\xd1\x84",), P.TOKEN, (b"\xd1\x84",)),
        (P.encode_verdict_into, (1, 0), P.VERDICT, (1, 0)),
        (P.encode_ack_into, (0,), P.ACK, (0,)),
        (P.encode_error_into, (4, "timeout"), P.ERROR, (4, "timeout")),
        (P.encode_close_into, (), P.CLOSE, ()),
    ]
    for enc, args, kind, fields in cases:
        f = _frame(enc, *args)
        assert P.frame_length(f[:2]) == len(f) - 2
        assert P.parse_message(cbor.loads(f[2:])) == (kind, fields)


def test_backoff_grows_with_jitter_and_resets():
    from device.app.main import Backoff

    b = Backoff(base_ms=100, max_ms=1000)
    caps = [100, 200, 400, 800, 1000, 1000, 1000]
    for cap in caps:
        d = b.next_delay_ms()
        assert cap // 2 <= d <= cap, (d, cap)
    b.reset()
    assert 50 <= b.next_delay_ms() <= 100
    seen = set(Backoff(1000, 1000).next_delay_ms() for _ in range(20))
    assert len(seen) > 1  # jitter: not the same delay every time


# --- store-and-forward queue -----------------------------------------------------------


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


class _Link:
    """The link's surface as Application uses it, acking whatever it is sent (a unit test of the loop)."""

    connected = False
    max_readings = 32
    cipher_suite = 0xC0A8

    def __init__(self):
        self.batches = []

    def open(self):
        self.connected = True

    def close(self):
        self.connected = False

    abort = close

    def batch_room(self, first_seq, dropped, count):
        return 4096

    def send_batch(self, first, dropped, readings):
        self.batches.append((first, list(readings)))
        return first + len(readings) - 1


def test_failed_measurement_is_logged_and_the_loop_goes_on():
    from device.app.main import Application
    from device.psa import PSA_ERROR_HARDWARE_FAILURE, PSAError

    root = fx.temp_root()
    try:
        q = StoreAndForwardQueue(_boot(root), capacity=8)
        calls = []

        def measure():
            calls.append(1)
            if len(calls) == 2:
                raise PSAError(PSA_ERROR_HARDWARE_FAILURE)
            return _r(len(calls))

        log, link = [], _Link()
        app = Application(q, measure, link, interval_ms=1, log=log.append)
        assert app.run(count=3) == 3
        assert app.measure_failures == 1 and len(calls) == 4
        assert [r for _, rs in link.batches for r in rs] == [_r(1), _r(3), _r(4)]
        assert [f for f, _ in link.batches][0] == 1 and len(q) == 0
        assert [l for l in log if "measurement failed" in l and "HARDWARE_FAILURE" in l]
    finally:
        fx.remove_tree(root)
