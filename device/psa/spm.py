"""The partition manager (SPM): registers secure partitions and routes client calls to them.

A partition is a module (or any object) with a MANIFEST dict mirroring TF-M's YAML and one
`<service name lowercased>_sfn(msg)` per service; an optional `init(config)` runs once at
start (after every partition is registered, so it may call other services). See docs/psa.md.

    from device.psa import spm
    spm.configure(storage_root="/its")                      # another root, default partitions
    spm.configure(partitions=[my_partition], storage_root=d)  # another partition set
    spm.get()                                                 # the running SPM (started on demand)

On first use the SPM starts with the default partition set (those of its, crypto, attest,
telemetry that are installed) and a default storage root: a fresh temporary folder on a host,
"/its" on a board. A board definition may provide both: if a module `board` is already
imported and has PSA_CONFIG (a dict of configure() keywords), the first start uses it.

Client ids: a call from non-secure code carries ns_client_id (-1); a call made while a secure
partition is running carries that partition's pid.
"""

import sys

from device import psa
from device.compat import const
from device.psa import PSAProgrammerError
from device.psa import service as _service
from device.psa.service import Vectors, _out_len, message_class

_STATIC = const(0x40000000)  # TF-M: a stateless handle is (1 << 30) | (version << 8) | (index - 1)
_MAX_STATELESS = const(32)
_MAX_FAULTS = const(8)
_CALL_TYPE_MAX = const(0x7FFF)
_CONNECTION_REFUSED = const(-130)
_MAX_IOVEC = const(4)
_int = int  # module-level aliases: a builtin name costs a second (linear) lookup on MicroPython
_len = len
_tuple = tuple
_bytes = bytes
_bytearray = bytearray
_memoryview = memoryview
_outvec = psa.psa_outvec
DEFAULT_PARTITIONS = ("its", "crypto", "attest", "telemetry")

_spm = None
_config = None  # configure() keywords for the next start


def stateless_handle(version, index):
    """TF-M's stateless handle value for a service with `version` and stateless_handle `index`."""
    return _STATIC | (version << 8) | (index - 1)


class _Service:
    def __init__(self, partition, desc, sfn):
        self.partition = partition
        self.name = desc["name"]
        self.sid = desc["sid"]
        self.ns_ok = bool(desc.get("non_secure_clients", False))
        self.version = desc.get("version", 1)
        self.strict = desc.get("version_policy", "STRICT") == "STRICT"
        self.connection_based = bool(desc.get("connection_based", True))
        self.index = desc.get("stateless_handle")
        self.handle = None  # the stateless handle, set at registration
        self.sfn = sfn


class _Partition:
    def __init__(self, obj):
        m = getattr(obj, "MANIFEST", None)
        if not isinstance(m, dict):
            raise ValueError("partition %r has no MANIFEST dict" % (obj,))
        self.obj = obj
        self.name = m.get("name")
        self.pid = m.get("pid")
        if not isinstance(self.pid, int) or self.pid <= 0:
            raise ValueError("partition %s: pid must be a positive int" % self.name)
        if m.get("model", "SFN") != "SFN":
            raise ValueError("partition %s: only the SFN model is supported" % self.name)
        if m.get("type", "PSA-ROT") not in ("PSA-ROT", "APPLICATION-ROT"):
            raise ValueError("partition %s: type must be PSA-ROT or APPLICATION-ROT" % self.name)
        deps = m.get("dependencies")
        self.dependencies = None if deps is None else tuple(deps)
        self.vectors = None  # its Vectors: made for the first message to it, re-armed for each one
        self.running = False  # executing now (maybe waiting on a call it made): not re-enterable
        self.services = []
        for desc in m.get("services", ()):
            sfn = getattr(obj, desc["name"].lower() + "_sfn", None)
            if sfn is None:
                raise ValueError("partition %s: no %s_sfn" % (self.name, desc["name"].lower()))
            self.services.append(_Service(self, desc, sfn))


class _Connection:
    def __init__(self, service, client_id):
        self.service = service
        self.client_id = client_id
        self.rhandle = None


class SPM:
    """One running secure world: partitions, connections, and who is running now."""

    def __init__(self, partitions, config):
        self.config = config
        self.ns_client_id = config.get("ns_client_id", -1)
        if self.ns_client_id >= 0:
            raise ValueError("ns_client_id must be negative")
        self.partitions = []
        self._by_sid = {}
        self._by_name = {}
        self._stateless = {}  # index -> service
        self._by_handle = {}  # exact stateless handle value -> service (the fast path of call)
        self._conns = {}  # handle -> _Connection
        self._next_handle = 1
        self._current = None  # the partition executing now (its service function or init); None: NS
        self.faults = []  # the last (pid, repr of the exception) of partitions that failed
        pids = {}
        for obj in partitions:
            p = _Partition(obj)
            if p.pid in pids:
                raise ValueError("duplicate partition pid %d" % p.pid)
            pids[p.pid] = p
            self.partitions.append(p)
            for s in p.services:
                self._register(s)

    def boot(self):
        """Run every partition's init(config), in order, each as itself."""
        config = self.config
        for p in self.partitions:
            init = getattr(p.obj, "init", None)
            if init is not None:
                self.run_as(p.pid, init, config)

    def _register(self, s):
        if not isinstance(s.sid, int) or s.sid in self._by_sid:
            raise ValueError("service %s: bad or duplicate sid %r" % (s.name, s.sid))
        if not isinstance(s.version, int) or not 0 < s.version < 256:
            raise ValueError("service %s: version must be 1..255" % s.name)
        if not s.connection_based:
            idx = s.index
            if idx == "auto" or idx is None:
                idx = 1
                while idx in self._stateless:
                    idx += 1
            if not isinstance(idx, int) or not 0 < idx <= _MAX_STATELESS or idx in self._stateless:
                raise ValueError("service %s: bad or duplicate stateless_handle %r" % (s.name, idx))
            s.index = idx
            s.handle = stateless_handle(s.version, idx)
            self._stateless[idx] = s
            self._by_handle[s.handle] = s
        s.message = None  # the class of its messages, made for the first one (_first)
        s.route = None  # what call() needs of s that never changes, made with s.message (_first)
        self._by_sid[s.sid] = s
        self._by_name[s.name] = s

    # --- who is calling ---
    def client_id(self):
        """The caller's client id: the running partition's pid, else the NS client id (< 0)."""
        p = self._current
        return p.pid if p is not None else self.ns_client_id

    def _allowed(self, s):
        p = self._current
        if p is None:
            return s.ns_ok
        deps = p.dependencies
        return deps is None or s.name in deps

    def _version_ok(self, s, version):
        if s.strict:
            return version == s.version
        return 0 < version <= s.version

    # --- the client API ---
    def version(self, sid):
        s = self._by_sid.get(sid) if isinstance(sid, int) else None
        if s is None or not self._allowed(s):
            return psa.PSA_VERSION_NONE
        return s.version

    def connect(self, sid, version):
        if not isinstance(sid, int) or not isinstance(version, int):
            raise PSAProgrammerError("psa_connect: sid and version must be ints")
        s = self._by_sid.get(sid)
        if s is None:
            return psa.PSA_ERROR_CONNECTION_REFUSED
        if not s.connection_based:
            raise PSAProgrammerError("psa_connect to stateless service %s" % s.name)
        if not self._allowed(s) or not self._version_ok(s, version):
            return psa.PSA_ERROR_CONNECTION_REFUSED
        handle = self._new_handle()
        conn = _Connection(s, self.client_id())
        status, msg = self._deliver(s, psa.PSA_IPC_CONNECT, handle, conn.client_id, None)
        if status != psa.PSA_SUCCESS:
            return psa.PSA_ERROR_CONNECTION_BUSY if status == psa.PSA_ERROR_CONNECTION_BUSY else (
                psa.PSA_ERROR_CONNECTION_REFUSED
            )
        conn.rhandle = msg.rhandle
        self._conns[handle] = conn
        return handle

    def _new_handle(self):
        h = self._next_handle
        while h in self._conns:
            h = h + 1 if h < _STATIC - 1 else 1
        self._next_handle = h + 1 if h < _STATIC - 1 else 1
        return h

    def _service_for(self, handle, what):
        """(service, connection or None) for a handle, or a programmer error."""
        if handle.__class__ is not int or handle <= 0:  # (bool is not a handle)
            raise PSAProgrammerError("%s: invalid handle %r" % (what, handle))
        if handle & _STATIC:
            s = self._stateless.get((handle & 0xFF) + 1)
            if s is None or handle & ~(_STATIC | 0xFFFF):
                raise PSAProgrammerError("%s: invalid stateless handle 0x%x" % (what, handle))
            return s, None
        conn = self._conns.get(handle)
        if conn is None:
            raise PSAProgrammerError("%s: invalid or closed handle %d" % (what, handle))
        if conn.client_id != self.client_id():
            raise PSAProgrammerError("%s: handle %d belongs to another client" % (what, handle))
        return conn.service, conn

    def call(self, handle, type, in_vec=(), out_vec=()):
        # The hot path of every psa_call (see "Performance" in docs/psa.md). Checks in the order
        # TF-M makes them, the common case first (a stateless handle with the service's exact
        # version); one small allocation (the Message); the delivery inline.
        cur = self._current
        s = self._by_handle.get(handle) if handle.__class__ is _int else None
        if s is not None:  # a stateless handle with the exact version the service has
            conn = None
            if not (s.ns_ok if cur is None else self._allowed(s)):
                return _CONNECTION_REFUSED
        else:
            s, conn = self._service_for(handle, "psa_call")
            if conn is None:
                if not self._allowed(s):
                    return _CONNECTION_REFUSED
                if not self._version_ok(s, (handle >> 8) & 0xFF):
                    raise PSAProgrammerError("psa_call: stateless handle version not accepted by %s" % s.name)
        if type.__class__ is not _int or type < 0 or type > _CALL_TYPE_MAX:
            raise PSAProgrammerError("psa_call: type %r outside 0..INT16_MAX" % (type,))
        # s's partition, message class, the partition's Vectors and their lists in one lookup (a tuple
        # made on the first message to s: one attribute lookup instead of seven)
        p, cls, v, pos, sizes, out_sizes, bufs = s.route or self._first(s)
        if p.running:  # checked before touching p's Vectors: they hold the message p is serving
            raise PSAProgrammerError("re-entrant call into partition %s" % p.name)
        if in_vec.__class__ is not _tuple:  # a list or another sequence: a tuple the caller cannot change
            in_vec = _sequence(in_vec)
        if out_vec.__class__ is not _tuple:
            out_vec = _sequence(out_vec)
        n_in = _len(in_vec)
        n_out = _len(out_vec)
        if n_in + n_out > _MAX_IOVEC:
            raise PSAProgrammerError("psa_call: %d vectors > PSA_MAX_IOVEC" % (n_in + n_out))
        # take the vectors into p's Vectors (inline: a call per step would cost more than the step)
        k = v.n_in
        while k > n_in:  # slots the previous message used and this one does not: back to 0
            k -= 1
            sizes[k] = pos[k] = 0
        v.n_in = n_in
        v.ins = in_vec
        i = 0
        for x in in_vec:
            if x.__class__ is not _bytes:  # bytes are immutable and serve as they are; others: a copy
                x = v.copy(i, x)
            sizes[i] = _len(x)
            pos[i] = 0
            i += 1
        sizes = out_sizes
        k = v.n_out
        while k > n_out:
            k -= 1
            sizes[k] = pos[4 + k] = 0
        v.n_out = n_out
        i = 0
        for ov in out_vec:  # the caller's writable buffers, reached only through psa_write
            # the usual out-vector checked inline (a call costs more than the check); anything else,
            # and every error, through _out_len
            if ov.__class__ is _outvec:
                b = ov.base
                n = ov.len
                if (b.__class__ is not _bytearray and b.__class__ is not _memoryview
                        or n.__class__ is not _int or n < 0 or n > _len(b)):
                    n = _out_len(ov)
            else:
                n = _out_len(ov)
                b = ov.base
            sizes[i] = n
            bufs[i] = b
            pos[4 + i] = 0
            i += 1
        # The message: a fresh instance is its identity (a kept one is dead after the reply); the
        # fields are attributes of the service's message class, `type` included (its partition
        # serves one message at a time): the instance then needs no attribute table, which saves
        # an allocation. What differs from the class defaults is set on the instance.
        cls.type = type
        msg = cls()
        if cur is not None:
            msg.client_id = cur.pid
        if conn is not None:
            msg.handle = handle
            msg.rhandle = conn.rhandle
        # deliver: p runs as the current partition; the message is live until the function returns
        prev = _service._current  # the caller partition's own message, when a partition calls
        self._current = p
        p.running = True
        _service._current = msg
        try:
            status = s.sfn(msg)
        except Exception as e:
            status = self._failed(p, e)
        finally:
            _service._current = prev  # the reply: this message is dead from now on
            p.running = False
            self._current = cur
            # the reply: out_vec[i].len = bytes written; no reference to the vectors stays behind
            if v.ins is v.copies:
                v.copies = None
            v.ins = ()
            i = 0
            for ov in out_vec:
                ov.len = pos[4 + i]
                bufs[i] = None
                i += 1
        if status.__class__ is not _int:
            self._bad_status(s, status)
        if conn is not None:
            conn.rhandle = msg.rhandle
        return status

    def close(self, handle):
        if handle == psa.PSA_NULL_HANDLE:
            return
        if isinstance(handle, int) and handle > 0 and handle & _STATIC:
            raise PSAProgrammerError("psa_close: stateless handle 0x%x" % handle)
        s, conn = self._service_for(handle, "psa_close")
        if s.partition.running:
            raise PSAProgrammerError("re-entrant call into partition %s" % s.partition.name)
        del self._conns[handle]
        self._deliver(s, psa.PSA_IPC_DISCONNECT, handle, conn.client_id, conn.rhandle)

    def _first(self, s):
        # the first message to s: its class (the fields all messages to s share are attributes of
        # it) and, on the partition's first message, its Vectors (partitions never called cost none)
        p = s.partition
        if p.vectors is None:
            p.vectors = Vectors()
        v = p.vectors
        s.message = message_class(v, s.handle, self.ns_client_id)
        s.route = (p, s.message, v, v.pos, v.in_size, v.out_size, v.outs)
        return s.route

    def _deliver(self, s, type, handle, client_id, rhandle):
        """Deliver a CONNECT/DISCONNECT message (no vectors): (status, msg)."""
        p = s.partition
        if p.running:
            raise PSAProgrammerError("re-entrant call into partition %s" % p.name)
        if s.message is None:
            self._first(s)
        msg = s.message()
        p.vectors.clear()
        msg.type = type
        msg.handle = handle
        msg.client_id = client_id
        msg.rhandle = rhandle
        cur = self._current
        prev = _service._current, _service._bare
        self._current = p
        p.running = True
        _service._current = None
        _service._bare = msg
        try:
            status = s.sfn(msg)
        except Exception as e:
            status = self._failed(p, e)
        finally:
            _service._current, _service._bare = prev
            p.running = False
            self._current = cur
        if status.__class__ is not _int:
            self._bad_status(s, status)
        return status, msg

    def _failed(self, p, e):
        """A service function of p raised e: a panic (re-raised) or a fault answered with a status."""
        if isinstance(e, PSAProgrammerError):
            if e.partition is None:  # raised by this partition's own misuse of the API: it panics
                e.partition = p.pid
                self._fault(p.pid, repr(e))
            raise e
        if isinstance(e, MemoryError):
            self._fault(p.pid, "MemoryError")
            return psa.PSA_ERROR_INSUFFICIENT_MEMORY
        self._fault(p.pid, repr(e))  # a partition bug must not crash the caller's world; it is recorded
        return psa.PSA_ERROR_SERVICE_FAILURE

    def _bad_status(self, s, status):
        e = PSAProgrammerError("%s returned %r, not a status" % (s.name, status))
        e.partition = s.partition.pid
        raise e

    def _fault(self, pid, what):
        faults = self.faults
        if len(faults) >= _MAX_FAULTS:  # keep the most recent ones: bounded memory on a device
            faults.pop(0)
        faults.append((pid, what))

    # --- helpers for tests, tools and the shim ---
    def partition(self, name_or_pid):
        """The registered partition object (module) by manifest name or pid, or None."""
        for p in self.partitions:
            if p.name == name_or_pid or p.pid == name_or_pid:
                return p.obj
        return None

    def service(self, name_or_sid):
        """(sid, version, stateless handle or None) of a registered service, or None."""
        s = self._by_sid.get(name_or_sid) if isinstance(name_or_sid, int) else self._by_name.get(name_or_sid)
        if s is None:
            return None
        return s.sid, s.version, (None if s.connection_based else s.handle)

    def open_connections(self):
        return len(self._conns)

    def run_as(self, pid, fn, *args):
        """Run fn(*args) as if partition `pid` were executing (its init, factory provisioning, tests)."""
        for p in self.partitions:
            if p.pid == pid:
                prev = self._current
                was = p.running
                self._current = p
                p.running = True  # (so p may not be re-entered meanwhile)
                try:
                    return fn(*args)
                finally:
                    p.running = was
                    self._current = prev
        raise ValueError("no partition with pid %r" % (pid,))


def _sequence(vec):
    try:
        return tuple(vec)
    except TypeError:
        raise PSAProgrammerError("psa_call: in_vec and out_vec must be sequences")


def _default_root():
    """A fresh temporary folder on a host; "/its" (flash) on a board."""
    try:
        import tempfile

        return tempfile.mkdtemp(prefix="psa-its-")
    except ImportError:
        pass
    import os

    try:
        is_dir = os.stat("/tmp")[0] & 0x4000
    except OSError:
        is_dir = 0
    if is_dir:  # a unix-like MicroPython: make a unique folder under /tmp by hand
        from device.compat import urandom

        rnd = urandom(6)
        path = "/tmp/psa-its-" + "".join("%02x" % b for b in rnd)
        os.mkdir(path)
        return path
    return "/its"


def _load(name):
    if not isinstance(name, str):
        return name
    full = name if "." in name else "device.partitions." + name
    mod = __import__(full)
    for part in full.split(".")[1:]:
        mod = getattr(mod, part)
    return mod


def default_partitions():
    """The installed ones among its, crypto, attest, telemetry (a partial install still works)."""
    found = []
    for name in DEFAULT_PARTITIONS:
        try:
            found.append(_load(name))
        except ImportError as e:
            if name not in str(e):  # only "that partition is not installed" is tolerated
                raise e
    return found


def _board_config():
    board = sys.modules.get("board")
    cfg = getattr(board, "PSA_CONFIG", None) if board is not None else None
    if isinstance(cfg, dict):
        cfg = dict(cfg)
        cfg.setdefault("board", board)
        return cfg
    return {}


def start(storage_root=None, partitions=None, **config):
    """Start a new SPM (replacing the running one) and route device.psa to it."""
    global _spm
    if storage_root is None:
        storage_root = _default_root()
    config["storage_root"] = storage_root
    config.setdefault("board", None)
    parts = default_partitions() if partitions is None else [_load(p) for p in partitions]
    _spm = None
    if not _is_shimmed():
        psa.set_backend(None)
    _spm = SPM(parts, config)
    if not _is_shimmed():
        psa.set_backend(_spm)
    _spm.boot()  # after registration, so an init may call other services
    return _spm


def _is_shimmed():
    b = psa._impl
    return b is not None and not isinstance(b, SPM)


def configure(storage_root=None, partitions=None, **config):
    """Select another storage root and/or partition set (restarts the in-process secure world,
    as a reboot would: connections and volatile state are gone). Returns the new SPM.

    partitions: a list of modules/objects with a MANIFEST, or names ("its" = device.partitions.its).
    Other keywords reach every partition's init(config), e.g. its_max_assets=16.
    """
    global _config
    _config = dict(config)
    _config["storage_root"] = storage_root
    _config["partitions"] = partitions
    return start(storage_root, partitions, **config)


def get():
    """The running SPM; the first call starts it (board PSA_CONFIG, else the defaults)."""
    if _spm is not None:
        return _spm
    cfg = dict(_config) if _config is not None else _board_config()
    return start(**cfg)
