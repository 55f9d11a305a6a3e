"""The dual-image split: the secure world in its own micropython process, reached through
device.psa.mailbox (TF-M's dual-core mailbox) -- from CPython and from a second micropython process
that runs the TLS engine against a real openssl s_server."""

import socket

from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from device import psa
from device.psa import crypto as C
from device.psa.mailbox import MailboxClient
from tests import micropython_lane as lane
from tests.interop import peers
from tools.bench_tls import SecureImage, compile_tree


def _secure_image():
    """`tools/tls_mp_bench.py secure PORT` on micropython, from this checkout's sources (the bench's SPE)."""
    lane.micropython()  # fails the test loudly, with the install hint, when the command is missing
    return SecureImage(peers.ROOT)


def test_cpython_ns_side_uses_a_micropython_secure_world():
    spe = _secure_image()
    sock = socket.create_connection(("127.0.0.1", spe.port), timeout=peers.WAIT)
    prev = psa.set_backend(MailboxClient(sock))
    try:
        key_bytes = bytes(range(16))
        key = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128,
                                               C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT, C.PSA_ALG_CCM),
                               key_bytes)
        nonce, aad, pt = bytes(range(12)), b"header", b"a record across two processes"
        sealed = C.psa_aead_encrypt(key, C.PSA_ALG_CCM, nonce, aad, pt)
        assert sealed == AESCCM(key_bytes, tag_length=16).encrypt(nonce, pt, aad)  # sealed by micropython
        try:
            C.psa_export_key(key)
            assert False, "exported"
        except psa.PSAError as e:
            assert e.status == psa.PSA_ERROR_NOT_PERMITTED
        C.psa_destroy_key(key)
    finally:
        psa.set_backend(prev)
        sock.close()
        spe.stop()


def test_tls_engine_in_a_small_ns_heap_with_the_secure_world_elsewhere(tmp_path):
    """The non-secure image as a board runs it -- the library compiled to .mpy (bench_tls.compile_tree), the
    secure world reached only through the mailbox -- does a handshake and 20 echoed records in a 96 KB heap
    (its measured floor is in docs/benchmarks.md; 96 KB leaves room for the layout to move between versions)."""
    tree = str(tmp_path / "tree")
    compile_tree(tree)
    spe = _secure_image()
    try:
        with peers.openssl("ccm", identity="bench-device") as server:
            r = lane.run(["-m", "tools.tls_mp_floor", "127.0.0.1", str(server.port), "bench-device", peers.PSK_HEX,
                          "ccm", "engine", "20", "mailbox:%d" % spe.port], cwd=tree, timeout=120, heapsize="96k")
        assert r.returncode == 0 and r.stdout.strip().endswith("OK"), (r.stdout, r.stderr)
        spe.proc.wait(timeout=peers.WAIT)  # the NS side closed the mailbox: the secure image ends
        assert spe.proc.returncode == 0
    finally:
        spe.stop()
