"""The non-secure veneer: PSA Firmware Framework 1.1 client API, in the style of TF-M.

    from device import psa
    psa.psa_framework_version()            # 0x0101
    psa.psa_version(0x70)                  # 1 (ITS), PSA_VERSION_NONE when absent/forbidden
    h = psa.psa_connect(sid, 1)            # connection-based services; < 0 is an error status
    out = psa.psa_outvec(16)               # (or psa_outvec(bytearray(...)))
    status = psa.psa_call(h, psa.PSA_IPC_CALL, (b"in0", b"in1"), (out,))
    data = out.base[:out.len]              # .len = bytes the service wrote (TF-M psa_outvec.len)
    psa.psa_close(h)

The calls go to a *backend*: by default the in-process partition manager
(device.psa.spm), started on first use; the host test shim (psa_shim) switches the
very same API to a secure world in a child process with set_backend(). A
programmer error (invalid, closed or foreign handle, too many vectors, bad call
type, a non-bytes in-vector) raises PSAProgrammerError: the Python form of FF-M's
"the caller is panicked". The table of C signatures and their Python forms is in
docs/psa.md.
"""

# --- framework constants (TF-M interface/include/psa/client.h) ---
PSA_FRAMEWORK_VERSION = 0x0101
PSA_VERSION_NONE = 0
PSA_NULL_HANDLE = 0
PSA_MAX_IOVEC = 4
PSA_IPC_CALL = 0
PSA_IPC_CONNECT = -1
PSA_IPC_DISCONNECT = -2
PSA_CALL_TYPE_MAX = 0x7FFF  # INT16_MAX: call types are 0..INT16_MAX

# --- status codes: PSA_SUCCESS, PSA_ERROR_* (TF-M interface/include/psa/error.h) live in device.psa.error
# and resolve here through __getattr__ below (`psa.PSA_ERROR_DOES_NOT_EXIST`, `from device.psa import
# PSA_SUCCESS`): a non-secure TLS image never needs them by name, and 26 module names cost it a qstr and a
# dict slot each (its heap floor). The first lookup copies them all here, so later ones are direct.


def __getattr__(name):
    if name[:4] != "PSA_":
        if name[:1] == "_":  # dunder probes, private names
            raise AttributeError(name)
        # a submodule (`from device.psa import spm`): MicroPython asks a package's __getattr__ before its
        # submodules and does not fall back to them when it raises, so this imports the submodule itself
        try:
            return __import__(__name__ + "." + name, None, None, (name,))
        except ImportError as e:
            if name in str(e):  # no such submodule: a missing attribute, as on any module
                raise AttributeError(name)
            raise e  # (a submodule that exists but fails to import: its own error)
    from device.psa import error

    g = globals()
    for k in dir(error):  # (all at once; a later miss is an unknown name, rare)
        if k[:4] == "PSA_":
            g[k] = getattr(error, k)
    if name not in g:
        raise AttributeError(name)
    return g[name]


def status_name(status):
    """'PSA_ERROR_DOES_NOT_EXIST' for -140; the number as text when unknown."""
    from device.psa import error

    return error.status_name(status)


class PSAError(Exception):
    """A PSA service answered with an error status (raised by the NS wrappers). .status is the code."""

    def __init__(self, status, detail=None):
        self.status = status
        text = status_name(status)
        if detail:
            text = text + ": " + detail
        super().__init__(text)


class PSAProgrammerError(Exception):
    """FF-M "PROGRAMMER ERROR": the caller (or, with .partition set, that secure partition) is panicked."""

    partition = None  # pid of the secure partition that panicked; None: the NS caller did


class psa_outvec:
    """An out-vector: .base is the writable buffer, .len its size on the way in and, after
    psa_call, the number of bytes the service wrote (as TF-M updates psa_outvec.len).

    psa_outvec(16) allocates a bytearray(16); psa_outvec(buf, n) offers only buf[:n].
    """

    def __init__(self, base, len=None):
        if isinstance(base, int):
            base = bytearray(base)
        self.base = base
        self.len = _len(base) if len is None else len

    def value(self):
        """The bytes written by the last call: bytes(base[:len])."""
        return bytes(self.base[: self.len])


_len = len
_impl = None  # the backend: the in-process SPM (default) or the host shim's proxy


def _start():
    global _impl
    from device.psa import spm

    _impl = spm.get()
    return _impl


def set_backend(backend):
    """Route this process's client API to `backend` (None: the in-process SPM). Returns the previous one.

    Used by the host shim (psa_shim.SecureWorld); device code never needs it.
    """
    global _impl
    prev = _impl
    _impl = backend
    return prev


def backend():
    """The backend in use (starting the in-process SPM on first use)."""
    return _impl or _start()


def psa_framework_version():
    """The FF-M version implemented: 0x0101 (1.1)."""
    return PSA_FRAMEWORK_VERSION


def psa_version(sid):
    """The version of RoT service `sid`, or PSA_VERSION_NONE when it is absent or the caller may not use it."""
    return (_impl or _start()).version(sid)


def psa_connect(sid, version):
    """Connect to a connection-based service: a handle > 0, or an error status < 0
    (PSA_ERROR_CONNECTION_REFUSED / _BUSY). Connecting to a stateless service is a programmer error."""
    return (_impl or _start()).connect(sid, version)


def psa_call(handle, type, in_vec=(), out_vec=()):
    """Call a service: in_vec a tuple/list of bytes-like objects, out_vec of psa_outvec.
    Returns the service's status; each out_vec[i].len is set to the bytes written."""
    return (_impl or _start()).call(handle, type, in_vec, out_vec)


def psa_close(handle):
    """Close a connection (PSA_NULL_HANDLE: no-op). Closing a stateless, invalid or foreign handle is a
    programmer error."""
    (_impl or _start()).close(handle)
