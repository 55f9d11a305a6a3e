"""Helpers for the attestation and telemetry tests (not a test module itself)."""

import hashlib

from device.psa import spm
from tests.device import tmpdir as _tmpdir

IAK = bytes(range(0x40, 0x60))  # 32 bytes
CHALLENGE = bytes(range(32))


def boot(provisioned=True, iak=IAK, lifecycle=0x3000, kid=None, storage_root=None, **config):
    """A fresh in-process secure world on a new temporary ITS (unless storage_root), provisioned.

    Returns the storage root; remove it with done(root).
    """
    root = storage_root or temp_root()
    spm.configure(storage_root=root, **config)
    if provisioned:
        from device.partitions import attest

        attest.provision_iak(iak, lifecycle, kid=kid)
    return root


def temp_root():
    return _tmpdir.temp_root("attest-test-")


def done(root):
    """Remove a folder made by temp_root(), quietly (called from `finally:` blocks)."""
    try:
        _tmpdir.remove_tree(root)
    except OSError:
        pass


def hmac_sha256(key, msg):
    """RFC 2104, written out here so the tests do not lean on the crypto partition's own HMAC."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = bytes(key) + bytes(64 - len(key))
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + msg).digest()
    return hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).digest()


def raises_status(fn, *args):
    """The PSA status of the PSAError fn(*args) raises (AssertionError when it raises none)."""
    from device.psa import PSAError

    try:
        fn(*args)
    except PSAError as e:
        return e.status
    raise AssertionError("no PSAError raised")
