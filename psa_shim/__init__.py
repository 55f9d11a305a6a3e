"""Host-only NS/S test shim: the secure world (SPM + partitions) runs in a child process.

    from psa_shim import SecureWorld
    from device.psa import its

    with SecureWorld() as sw:              # device.psa now talks to the child process
        its.psa_its_set(1, b"x")           # the very same NS API and wrappers
        sw.log[-1]                         # {'op': 'call', 'handle': ..., 'in_sizes': [8, 1, 4], ...}
        sw.fail_next_its_write()           # fault injection
        sw.corrupt_asset(1)
        sw.kill(); sw.restart()
        sw.delay_calls(0.5)
    # leaving the block restores the in-process SPM

The boundary is enforced *in the NS process, before anything crosses*: at most PSA_MAX_IOVEC
vectors, call type 0..INT16_MAX, bytes-like in-vectors and psa_outvec out-vectors no larger than
max_vector_size, and only handles this NS client obtained from psa_connect (or stateless ones).
Violations raise PSAProgrammerError and are recorded in .violations. Every vector crosses the
pipe as a pickled copy; on the way back the shim checks that no out-vector grew beyond its size.
The call log (.log) records sizes, handles, types, client ids and statuses -- never contents, so
it holds no secrets.

If the secure world is dead (killed, crashed, or a call outlived `timeout` seconds), psa_call and
psa_connect return PSA_ERROR_COMMUNICATION_FAILURE and psa_version returns PSA_VERSION_NONE
until restart().
"""

import multiprocessing
import os
import shutil
import tempfile

from device import psa
from device.psa import PSAProgrammerError

_STATIC = 0x40000000


class SecureWorldError(Exception):
    """The secure world failed an out-of-band request (exec, fault) or broke the boundary rules."""


class SecureWorld:
    """A secure world in a child process; also the device.psa backend while attached."""

    def __init__(self, storage_root=None, partitions=None, ns_client_id=-1, timeout=30.0,
                 max_vector_size=0x10000, **config):
        if not isinstance(ns_client_id, int) or ns_client_id >= 0:
            raise ValueError("a non-secure client id must be negative")
        self.ns_client_id = ns_client_id
        self.partitions = list(partitions) if partitions is not None else None
        self.config = config
        self.timeout = timeout
        self.max_vector_size = max_vector_size
        self._own_root = storage_root is None
        self.storage_root = storage_root or tempfile.mkdtemp(prefix="psa-shim-")
        self.log = []
        self.violations = []
        self._handles = set()
        self._proc = None
        self._conn = None
        self._prev = None
        self._attached = False

    # --- lifecycle ---
    def start(self):
        """Start the child process and wait until its SPM has booted."""
        from psa_shim import world

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        options = {"storage_root": self.storage_root, "partitions": self.partitions,
                   "ns_client_id": self.ns_client_id, "config": self.config}
        self._proc = ctx.Process(target=world.serve, args=(child, options), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        self._handles = set()
        if not parent.poll(max(self.timeout, 30.0)):
            self.kill()
            raise SecureWorldError("the secure world did not boot")
        try:
            reply = parent.recv()
        except EOFError:
            self.kill()
            raise SecureWorldError("the secure world died while booting (exit code %s)" % self._proc.exitcode)
        if reply[0] != "ok":
            self.kill()
            raise SecureWorldError("boot failed: %s" % (reply[1:],))
        self.log.append({"op": "start", "pid": self._proc.pid})
        return self

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None else None

    def alive(self):
        return self._proc is not None and self._proc.is_alive() and self._conn is not None

    def kill(self):
        """Kill the secure world at once (as a crash or power cut would)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(10)
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._handles = set()
        self.log.append({"op": "kill"})

    def restart(self):
        """Kill (if needed) and start a fresh secure world on the same storage root. Connections are lost."""
        if self._proc is not None:
            self.kill()
        return self.start()

    def stop(self):
        """Stop the child cleanly and remove the storage root if the shim created it."""
        if self.alive():
            try:
                self._conn.send(("stop",))
                if self._conn.poll(10):
                    self._conn.recv()
            except (OSError, EOFError):
                pass
            self._proc.join(10)
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(10)
        if self._conn is not None:
            self._conn.close()
        self._conn = None
        self._proc = None
        if self._own_root:
            shutil.rmtree(self.storage_root, ignore_errors=True)

    def attach(self):
        """Route this process's device.psa client API to this secure world."""
        if not self._attached:
            self._prev = psa.set_backend(self)
            self._attached = True

    def detach(self):
        if self._attached:
            psa.set_backend(self._prev)
            self._prev = None
            self._attached = False

    def __enter__(self):
        if self._proc is None:
            self.start()
        self.attach()
        return self

    def __exit__(self, *exc):
        self.detach()
        self.stop()
        return False

    # --- transport ---
    def _request(self, req):
        """Send one request; returns the reply, or None when the secure world is (now) dead."""
        if not self.alive():
            return None
        try:
            self._conn.send(req)
            if not self._conn.poll(self.timeout):
                self.log.append({"op": "timeout", "request": req[0]})
                self.kill()
                return None
            return self._conn.recv()
        except (OSError, EOFError):
            self.kill()
            return None

    def _violation(self, text):
        self.violations.append(text)
        self.log.append({"op": "violation", "what": text})
        raise PSAProgrammerError(text)

    def _unwrap(self, reply):
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "perr":
            e = PSAProgrammerError(reply[1])
            e.partition = reply[2]
            raise e
        raise SecureWorldError(reply[1])

    # --- the device.psa backend interface ---
    def version(self, sid):
        reply = self._request(("version", sid))
        value = psa.PSA_VERSION_NONE if reply is None else self._unwrap(reply)
        self.log.append({"op": "version", "sid": sid, "client_id": self.ns_client_id, "result": value})
        return value

    def connect(self, sid, version):
        if not isinstance(sid, int) or not isinstance(version, int):
            self._violation("psa_connect: sid and version must be ints")
        reply = self._request(("connect", sid, version))
        handle = psa.PSA_ERROR_COMMUNICATION_FAILURE if reply is None else self._unwrap(reply)
        if handle > 0:
            self._handles.add(handle)
        self.log.append({"op": "connect", "sid": sid, "version": version, "client_id": self.ns_client_id,
                         "result": handle})
        return handle

    def _check_handle(self, handle, what):
        if handle.__class__ is not int or handle <= 0:
            self._violation("%s: invalid handle %r" % (what, handle))
        if not handle & _STATIC and handle not in self._handles:
            self._violation("%s: handle %d was not issued to this client" % (what, handle))

    def call(self, handle, type, in_vec=(), out_vec=()):
        self._check_handle(handle, "psa_call")
        if not isinstance(type, int) or type < 0 or type > psa.PSA_CALL_TYPE_MAX:
            self._violation("psa_call: type %r outside 0..INT16_MAX" % (type,))
        try:
            n = len(in_vec) + len(out_vec)
        except TypeError:
            self._violation("psa_call: in_vec and out_vec must be sequences")
        if n > psa.PSA_MAX_IOVEC:
            self._violation("psa_call: %d vectors > PSA_MAX_IOVEC" % n)
        ins = []
        for v in in_vec:
            if v is None:
                v = b""
            if not isinstance(v, (bytes, bytearray, memoryview)):
                self._violation("psa_call: in-vector is not bytes-like: %r" % (v.__class__,))
            if len(v) > self.max_vector_size:
                self._violation("psa_call: in-vector of %d bytes > %d" % (len(v), self.max_vector_size))
            ins.append(bytes(v))  # a copy crosses, never the caller's buffer
        sizes = []
        for ov in out_vec:
            if not isinstance(ov, psa.psa_outvec):
                self._violation("psa_call: out-vectors must be psa_outvec")
            b = ov.base
            if isinstance(b, bytes) or not isinstance(b, (bytearray, memoryview)):
                self._violation("psa_call: out-vector base is not a writable buffer")
            if not isinstance(ov.len, int) or ov.len < 0 or ov.len > len(b) or ov.len > self.max_vector_size:
                self._violation("psa_call: out-vector len outside its buffer or the size limit")
            sizes.append(ov.len)
        entry = {"op": "call", "handle": handle, "type": type, "client_id": self.ns_client_id,
                 "in_sizes": [len(v) for v in ins], "out_sizes": sizes}
        self.log.append(entry)
        reply = self._request(("call", handle, type, ins, sizes))
        if reply is None:
            entry["status"] = psa.PSA_ERROR_COMMUNICATION_FAILURE
            return psa.PSA_ERROR_COMMUNICATION_FAILURE
        try:
            status, outs = self._unwrap(reply)
        except PSAProgrammerError as e:
            entry["status"] = "programmer error"
            entry["partition"] = e.partition
            raise
        written = []
        for i, data in enumerate(outs):
            if len(data) > sizes[i]:
                self.violations.append("secure world wrote %d bytes into a %d-byte out-vector" % (len(data), sizes[i]))
                raise SecureWorldError(self.violations[-1])
            out_vec[i].base[: len(data)] = data
            out_vec[i].len = len(data)
            written.append(len(data))
        entry["written"] = written
        entry["status"] = status
        return status

    def close(self, handle):
        if handle == psa.PSA_NULL_HANDLE:
            return
        if isinstance(handle, int) and handle > 0 and handle & _STATIC:
            self._violation("psa_close: stateless handle 0x%x" % handle)
        self._check_handle(handle, "psa_close")
        self._handles.discard(handle)
        reply = self._request(("close", handle))
        self.log.append({"op": "close", "handle": handle, "client_id": self.ns_client_id})
        if reply is not None:
            self._unwrap(reply)

    # --- fault injection and secure-side operations ---
    def _oob(self, req):
        reply = self._request(req)
        if reply is None:
            raise SecureWorldError("the secure world is not running")
        self.log.append({"op": req[0], "what": req[1]})
        return self._unwrap(reply)

    def fail_next_its_write(self):
        """The next ITS asset write stops half-way; that call answers PSA_ERROR_STORAGE_FAILURE."""
        self._oob(("fault", "fail_next_its_write"))

    def corrupt_asset(self, uid, client_id=None):
        """Flip a byte of a stored ITS asset (of the NS client by default); returns its file path."""
        return self._oob(("fault", "corrupt_asset", self.ns_client_id if client_id is None else client_id, uid))

    def delay_calls(self, seconds):
        """Make the secure world wait `seconds` before handling each client request (0 to stop)."""
        self._oob(("fault", "delay", seconds))

    def secure_exec(self, target, *args, run_as=None):
        """Run "module:function"(*args) inside the secure world (e.g. factory provisioning), as partition
        pid `run_as` if given. Arguments and result cross as copies."""
        return self._oob(("exec", target, args, run_as))
