"""Small test partitions for the client-API and ITS tests (not a test module itself)."""

from device import psa
from device.psa import spm
from device.psa import service
from device.psa.service import psa_read, psa_skip, psa_write, psa_set_rhandle
from tests.device.tmpdir import remove_tree, temp_root  # noqa: F401 (used as fx.temp_root, fx.remove_tree)

ECHO_SID = 0x1000
CONN_SID = 0x1001
SECRET_SID = 0x1002
ECHO_PID = 300
CONN_PID = 301

# call types of the echo service
ECHO = 1  # out0 = in0
OVERFLOW = 2  # writes one byte more than out0 holds
CLIENT_ID = 3  # out0 = client id (4 bytes, little endian, signed)
SIZES = 4  # out0 = in_size[0..3] + out_size[0..3], one byte each
NESTED = 5  # calls the secret service (stateless) and the conn service; out0 = their client ids
STASH = 6  # keeps the message for later misuse
BAD_RETURN = 7  # returns a non-status
CRASH = 8  # raises a bug
REENTER = 9  # calls itself
SKIP = 10  # skips 2 bytes of in0, returns the rest; status = skipped count
CALL_FOREIGN = 11  # uses the handle given in in0 (a NS connection) as its own
CONCAT = 12  # out0 = in0 + in1 + in2 + in3, each read whole (and kept in .seen)
GUARD = 14  # has the secret service try to call back into this (busy) partition, then echoes in0
PEEK = 13  # keeps the message of this delivery (.peeked) and returns whether the previous one is still usable


def _i32(n):
    return (n & 0xFFFFFFFF).to_bytes(4, "little")


def i32(b):
    n = int.from_bytes(b, "little")
    return n - (1 << 32) if n & 0x80000000 else n


class EchoPartition:
    MANIFEST = {
        "name": "TEST_SP_ECHO",
        "pid": ECHO_PID,
        "type": "APPLICATION-ROT",
        "priority": "NORMAL",
        "model": "SFN",
        "services": [
            {
                "name": "TEST_ECHO",
                "sid": ECHO_SID,
                "non_secure_clients": True,
                "version": 2,
                "version_policy": "STRICT",
                "connection_based": False,
                "stateless_handle": 1,
            }
        ],
    }

    def __init__(self):
        self.stash = None
        self.peeked = None
        self.seen = None
        self.inits = []

    def init(self, config):
        self.inits.append(config.get("storage_root"))

    def test_echo_sfn(self, msg):
        t = msg.type
        if t == ECHO:
            psa_write(msg, 0, psa_read(msg, 0, msg.in_size[0]))
        elif t == OVERFLOW:
            psa_write(msg, 0, bytes(msg.out_size[0] + 1))
        elif t == CLIENT_ID:
            psa_write(msg, 0, _i32(msg.client_id))
        elif t == SIZES:
            psa_write(msg, 0, (bytes(msg.in_size) + bytes(msg.out_size))[: msg.out_size[0]])
        elif t == NESTED:
            out = psa.psa_outvec(4)
            h = spm.stateless_handle(1, 2)
            st = psa.psa_call(h, CLIENT_ID, (), (out,))
            psa_write(msg, 0, _i32(st) + bytes(out.base))
            c = psa.psa_connect(CONN_SID, 1)
            psa_write(msg, 0, _i32(c if c < 0 else 1))
            if c > 0:
                out = psa.psa_outvec(4)
                psa.psa_call(c, CLIENT_ID, (), (out,))
                psa.psa_close(c)
                psa_write(msg, 0, bytes(out.base))
        elif t == STASH:
            self.stash = msg
            self.stash_read = psa_read(msg, 0, msg.in_size[0])
        elif t == BAD_RETURN:
            return "ok"
        elif t == CRASH:
            return {}[1]
        elif t == REENTER:
            return psa.psa_call(spm.stateless_handle(2, 1), ECHO, (b"x",), (psa.psa_outvec(1),))
        elif t == SKIP:
            n = psa_skip(msg, 0, 2)
            psa_write(msg, 0, psa_read(msg, 0, 100))
            return n
        elif t == CONCAT:
            self.seen = [psa_read(msg, i, msg.in_size[i]) for i in range(4)]
            psa_write(msg, 0, b"".join(self.seen))
        elif t == GUARD:
            out = psa.psa_outvec(4)
            st = psa.psa_call(spm.stateless_handle(1, 2), GUARD, (), (out,))
            psa_write(msg, 0, psa_read(msg, 0, msg.in_size[0]))
            return st
        elif t == PEEK:
            old, self.peeked = self.peeked, msg
            if old is None:
                return 0
            try:
                psa_read(old, 0, 1)
            except psa.PSAProgrammerError:
                return 2  # refused: the message of an earlier delivery is dead
            return 1
        elif t == CALL_FOREIGN:
            h = i32(psa_read(msg, 0, 4))
            return psa.psa_call(h, CLIENT_ID, (), (psa.psa_outvec(4),))
        else:
            return psa.PSA_ERROR_NOT_SUPPORTED
        return psa.PSA_SUCCESS


class ConnPartition:
    """A connection-based RELAXED service (version 3) and a secure-only stateless one."""

    MANIFEST = {
        "name": "TEST_SP_CONN",
        "pid": CONN_PID,
        "type": "PSA-ROT",
        "priority": "NORMAL",
        "model": "SFN",
        "services": [
            {
                "name": "TEST_CONN",
                "sid": CONN_SID,
                "non_secure_clients": True,
                "version": 3,
                "version_policy": "RELAXED",
                "connection_based": True,
            },
            {
                "name": "TEST_SECRET",
                "sid": SECRET_SID,
                "non_secure_clients": False,
                "version": 1,
                "version_policy": "STRICT",
                "connection_based": False,
                "stateless_handle": 2,
            },
        ],
    }

    def __init__(self):
        self.refuse = False
        self.log = []

    def test_conn_sfn(self, msg):
        self.log.append((msg.type, msg.client_id))
        if msg.type == psa.PSA_IPC_CONNECT:
            if self.refuse:
                return psa.PSA_ERROR_CONNECTION_REFUSED
            psa_set_rhandle(msg, 0)
            return psa.PSA_SUCCESS
        if msg.type == psa.PSA_IPC_DISCONNECT:
            return psa.PSA_SUCCESS
        if msg.type == CLIENT_ID:
            psa_write(msg, 0, _i32(msg.client_id))
            return psa.PSA_SUCCESS
        # any other type: count calls on this connection (rhandle) and return the count
        psa_set_rhandle(msg, msg.rhandle + 1)
        return msg.rhandle

    def test_secret_sfn(self, msg):
        if msg.type == GUARD:  # call back into the echo partition, which is waiting on this call
            try:
                psa.psa_call(spm.stateless_handle(2, 1), ECHO, (b"clobber!",), (psa.psa_outvec(8),))
            except psa.PSAProgrammerError:
                return 7  # refused, as it must be
            return 0
        psa_write(msg, 0, _i32(msg.client_id))
        return psa.PSA_SUCCESS


def start(extra=(), **config):
    """A fresh SPM with the test partitions (plus `extra`); returns (spm, echo, conn)."""
    echo = EchoPartition()
    conn = ConnPartition()
    # the test partitions store nothing: the root only matters when `extra` holds ITS
    s = spm.configure(storage_root=config.pop("storage_root", None) or "/tmp/psa-test-unused",
                      partitions=[echo, conn] + list(extra), **config)
    return s, echo, conn


def message(type, handle, client_id, rhandle, ins, outs):
    """A standalone live Message, outside any delivery, to drive the service API directly: ins
    bytes objects, outs (buffer, size) pairs. Live until the next message() or delivery."""
    v = service.Vectors()
    v.ins = tuple(ins)
    v.n_in = len(ins)
    for i in range(v.n_in):
        v.in_size[i] = len(ins[i])
    v.n_out = len(outs)
    for i in range(v.n_out):
        v.outs[i] = outs[i][0]
        v.out_size[i] = outs[i][1]
    m = service.message_class(v, handle, client_id)()
    m.type = type
    if rhandle is not None:
        m.rhandle = rhandle
    service._current, service._bare = (None, m) if type < 0 else (m, None)
    return m
