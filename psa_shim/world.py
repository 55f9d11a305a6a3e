"""The secure side of the host shim: runs in the child process, owns the SPM and the partitions.

serve(conn, options) answers requests from psa_shim.SecureWorld over a multiprocessing pipe.
Everything crossing the pipe is pickled, i.e. copied: the NS process never shares an object
with the secure world.

Requests -> replies ("ok", value) | ("perr", text, partition pid) | ("err", text):
  ("version", sid) ("connect", sid, version) ("call", handle, type, [bytes...], [out sizes...])
  ("close", handle) ("fault", kind, args...) ("exec", "module:function", args, run_as_pid) ("stop",)
"""

import time

from device import psa


def _resolve(spec):
    """"its" -> device.partitions.its; "pkg.mod:name" -> that attribute (a class is instantiated)."""
    if ":" not in spec:
        return spec
    modname, attr = spec.split(":", 1)
    mod = __import__(modname, None, None, [attr])
    obj = getattr(mod, attr)
    if isinstance(obj, type):
        obj = obj()
    return obj


def _corrupt(client_id, uid):
    from device.partitions import its

    path = its.asset_path(client_id, uid)
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    if not raw:
        raise ValueError("asset file is empty")
    at = 12 if len(raw) > 12 else 0  # the first data byte (or the header of an empty asset)
    raw[at] ^= 0xFF
    with open(path, "wb") as f:
        f.write(raw)
    return path


def serve(conn, options):
    from device.psa import spm

    parts = options.get("partitions")
    if parts is not None:
        parts = [_resolve(p) for p in parts]
    config = dict(options.get("config") or {})
    world = spm.configure(storage_root=options["storage_root"], partitions=parts,
                          ns_client_id=options["ns_client_id"], **config)
    delay = 0.0
    conn.send(("ok", "ready"))
    while True:
        try:
            req = conn.recv()
        except EOFError:
            return
        op = req[0]
        try:
            if op in ("version", "connect", "call", "close") and delay:
                time.sleep(delay)
            if op == "version":
                value = world.version(req[1])
            elif op == "connect":
                value = world.connect(req[1], req[2])
            elif op == "call":
                outs = [psa.psa_outvec(n) for n in req[4]]
                status = world.call(req[1], req[2], req[3], outs)
                value = (status, [bytes(o.base[: o.len]) for o in outs])
            elif op == "close":
                value = world.close(req[1])
            elif op == "fault":
                kind = req[1]
                if kind == "fail_next_its_write":
                    from device.partitions import its

                    its.inject_fault("fail_next_write")
                    value = None
                elif kind == "corrupt_asset":
                    value = _corrupt(req[2], req[3])
                elif kind == "delay":
                    delay = req[2]
                    value = None
                else:
                    raise ValueError("unknown fault %r" % (kind,))
            elif op == "exec":
                fn = _resolve(req[1])
                value = fn(*req[2]) if req[3] is None else world.run_as(req[3], fn, *req[2])
            elif op == "stop":
                conn.send(("ok", None))
                return
            else:
                raise ValueError("unknown request %r" % (op,))
            reply = ("ok", value)
        except psa.PSAProgrammerError as e:
            reply = ("perr", str(e), e.partition)
        except Exception as e:  # reported to the NS side, the secure world keeps running
            reply = ("err", "%s: %s" % (e.__class__.__name__, e))
        conn.send(reply)
