"""The TLS 1.2 key schedule and record protection, through the crypto partition.

This module (with device.tls.cbc, its CBC half) is the only one of device/tls that touches key
material, and it never holds any:
the PSK, the master secret and the session keys are key ids of the crypto partition
(device.psa.crypto, the NS wrappers in the style of TF-M's interface/src/tfm_crypto_api.c).

- PSK: a provisioned key id (KEY_ID_PSK), or raw bytes imported here as a volatile,
  non-exportable DERIVE key (destroyed when the connection ends).
- Master secret: PSA_ALG_TLS12_PSK_TO_MS(SHA-256) inside the partition, output as a volatile
  DERIVE key (RFC 4279 premaster built there; "extended master secret" over the session hash
  when RFC 7627 is agreed, else "master secret" over the randoms).
- Key block: PSA_ALG_TLS12_PRF(SHA-256) keyed by the master-secret key; the write keys come
  out as volatile AES / HMAC keys (output_key); only the AEAD fixed IVs (public salts) and the
  Finished verify_data leave the partition (output_bytes).
- Records: psa_aead_encrypt/decrypt (CCM, CCM_8, GCM) here; psa_cipher_* + psa_mac_* for
  AES-128-CBC-HMAC-SHA256 (encrypt_then_mac, RFC 7366, or classic MAC-then-encrypt) in
  device.tls.cbc, imported only when that suite is negotiated.
"""

import struct

from device.psa import crypto as _c
from device.psa import PSAError, PSA_ERROR_INVALID_SIGNATURE
from device.tls import suites as _suites
from device.tls.alerts import TLSError, BAD_RECORD_MAC, INTERNAL_ERROR

_pack = struct.pack

PRF_ALG = _c.PSA_ALG_TLS12_PRF(_c.PSA_ALG_SHA_256)
PSK_TO_MS_ALG = _c.PSA_ALG_TLS12_PSK_TO_MS(_c.PSA_ALG_SHA_256)
HMAC_ALG = _c.PSA_ALG_HMAC(_c.PSA_ALG_SHA_256)
CBC_ALG = _c.PSA_ALG_CBC_NO_PADDING
AEAD_ALG = {
    _suites.CCM: _c.PSA_ALG_CCM,
    _suites.CCM_8: _c.PSA_ALG_AEAD_WITH_SHORTENED_TAG(_c.PSA_ALG_CCM, 8),
    _suites.GCM: _c.PSA_ALG_GCM,
}
TAG_LEN = {_suites.CCM: 16, _suites.CCM_8: 8, _suites.GCM: 16}


def _attributes(key_type, bits, usage, alg):
    a = _c.KeyAttributes()
    a.type = key_type
    a.bits = bits
    a.usage = usage
    a.alg = alg
    a.lifetime = _c.PSA_KEY_LIFETIME_VOLATILE
    return a


class _PackedAttributes(_c.KeyAttributes):
    """Volatile-key attributes that every handshake asks for again (the master secret, the session
    keys of a suite): made and packed once, then reused; psa_*_key packs attributes on each call."""

    def __init__(self, key_type, bits, usage, alg):
        _c.KeyAttributes.__init__(self, key_type, bits, usage, alg, _c.PSA_KEY_LIFETIME_VOLATILE)
        self._packed = _c.KeyAttributes.pack(self)

    def pack(self):
        return self._packed


_fixed = {}  # alg -> _PackedAttributes: the master secret's (TLS12_PRF) and each AEAD suite's session keys'


def _fixed_attributes(key_type, bits, usage, alg):
    a = _fixed.get(alg)
    if a is None:
        a = _fixed[alg] = _PackedAttributes(key_type, bits, usage, alg)
    return a


def _internal(e):
    return TLSError(INTERNAL_ERROR, "crypto partition: %r" % (e,))


def check_psk(raw):
    """ValueError unless `raw` is a PSK this engine takes (1..64 bytes)."""
    if not 1 <= len(raw) <= 64:
        raise ValueError("PSK must be 1..64 bytes")


def import_psk(raw):
    """Import raw PSK bytes as a volatile DERIVE key usable only for TLS12_PSK_TO_MS; never exportable.
    A crypto partition failure is a TLSError (internal_error)."""
    check_psk(raw)
    a = _attributes(_c.PSA_KEY_TYPE_DERIVE, 8 * len(raw), _c.PSA_KEY_USAGE_DERIVE, PSK_TO_MS_ALG)
    try:
        return _c.psa_import_key(a, bytes(raw))
    except PSAError as e:
        raise _internal(e)


def destroy(key):
    """Destroy a volatile key; errors are ignored (the connection is ending anyway)."""
    if key is None:
        return
    try:
        _c.psa_destroy_key(key)
    except Exception:  # noqa: a destroy that fails must not mask the error being reported
        pass


def master_secret(psk_key, client_random, server_random, session_hash=None):
    """Volatile DERIVE key holding the 48-byte master secret (RFC 5246 §8.1, RFC 7627 §4)."""
    if session_hash is None:
        seed, label = client_random + server_random, b"master secret"
    else:
        seed, label = session_hash, b"extended master secret"
    try:
        op = _c.psa_key_derivation_setup(PSK_TO_MS_ALG)
        try:
            _c.psa_key_derivation_input_bytes(op, _c.PSA_KEY_DERIVATION_INPUT_SEED, seed)
            _c.psa_key_derivation_input_key(op, _c.PSA_KEY_DERIVATION_INPUT_SECRET, psk_key)
            _c.psa_key_derivation_input_bytes(op, _c.PSA_KEY_DERIVATION_INPUT_LABEL, label)
            a = _fixed_attributes(_c.PSA_KEY_TYPE_DERIVE, 384, _c.PSA_KEY_USAGE_DERIVE, PRF_ALG)
            return _c.psa_key_derivation_output_key(a, op)
        finally:
            _c.psa_key_derivation_abort(op)
    except PSAError as e:
        raise _internal(e)


def _prf_op(ms_key, label, seed):
    op = _c.psa_key_derivation_setup(PRF_ALG)
    try:
        _c.psa_key_derivation_input_bytes(op, _c.PSA_KEY_DERIVATION_INPUT_SEED, seed)
        _c.psa_key_derivation_input_key(op, _c.PSA_KEY_DERIVATION_INPUT_SECRET, ms_key)
        _c.psa_key_derivation_input_bytes(op, _c.PSA_KEY_DERIVATION_INPUT_LABEL, label)
    except Exception as e:
        _c.psa_key_derivation_abort(op)
        raise e
    return op


def verify_data(ms_key, label, transcript_hash):
    """PRF(master_secret, label, Hash(handshake_messages))[0:12] -- the Finished contents (public)."""
    try:
        op = _prf_op(ms_key, label, transcript_hash)
        try:
            return _c.psa_key_derivation_output_bytes(op, 12)
        finally:
            _c.psa_key_derivation_abort(op)
    except PSAError as e:
        raise _internal(e)


def record_protection(ms_key, suite, client_random, server_random, etm=False):
    """Expand the key block (RFC 5246 §6.3) into the client's record protection object."""
    kind = _suites.KIND[suite]
    try:
        op = _prf_op(ms_key, b"key expansion", server_random + client_random)
        keys = []
        try:
            if kind == _suites.CBC:
                ha = _attributes(_c.PSA_KEY_TYPE_HMAC, 256,
                                 _c.PSA_KEY_USAGE_SIGN_MESSAGE | _c.PSA_KEY_USAGE_VERIFY_MESSAGE, HMAC_ALG)
                keys.append(_c.psa_key_derivation_output_key(ha, op))  # client_write_MAC_key
                keys.append(_c.psa_key_derivation_output_key(ha, op))  # server_write_MAC_key
                aa = _attributes(_c.PSA_KEY_TYPE_AES, 128,
                                 _c.PSA_KEY_USAGE_ENCRYPT | _c.PSA_KEY_USAGE_DECRYPT, CBC_ALG)
                keys.append(_c.psa_key_derivation_output_key(aa, op))  # client_write_key
                keys.append(_c.psa_key_derivation_output_key(aa, op))  # server_write_key
                from device.tls.cbc import CBCRecords  # loaded only for the CBC suite (saves heap)

                return CBCRecords(keys[2], keys[3], keys[0], keys[1], etm)
            alg = AEAD_ALG[kind]
            aa = _fixed_attributes(_c.PSA_KEY_TYPE_AES, 128, _c.PSA_KEY_USAGE_ENCRYPT | _c.PSA_KEY_USAGE_DECRYPT, alg)
            keys.append(_c.psa_key_derivation_output_key(aa, op))  # client_write_key
            keys.append(_c.psa_key_derivation_output_key(aa, op))  # server_write_key
            ivs = _c.psa_key_derivation_output_bytes(op, 8)  # client_write_IV[4] || server_write_IV[4]
            return AEADRecords(keys[0], keys[1], alg, ivs[:4], ivs[4:], TAG_LEN[kind])
        except Exception as e:
            for k in keys:
                destroy(k)
            raise e
        finally:
            _c.psa_key_derivation_abort(op)
    except PSAError as e:
        raise _internal(e)


def _header(seq, ctype, length):
    """seq_num || type || version || length: the AEAD additional data / MAC header (RFC 5246 §6.2.3)."""
    return _pack(">QBHH", seq, ctype, 0x0303, length)


_SCRATCH_MAX = 1024  # records up to this size are sealed in the reused record buffer
_pack_into = struct.pack_into
_psa = _c._psa  # seal_view/open_span call the backend's call() as psa.psa_call does (one Python call layer less)
_HANDLE = _c.TFM_CRYPTO_HANDLE
_outvec = _c._psa.psa_outvec


# The record path is hot (one seal and one open per echoed record), so AEADRecords allocates little
# (on MicroPython each allocation costs more than the AES of a 64-byte record):
# - the psa_call headers of both directions are packed once (crypto._aead_header), and seal_view /
#   open_into make the psa_call themselves (crypto's wire format: header, nonce || additional data,
#   data; one out-vector) with an out-vector object of their own: each is one function from the
#   record to the partition's answer (MicroPython takes the frame of a function this size from the
#   heap at every call: one such frame per record, not one per layer);
# - sealing: nonce || additional data in one struct.pack (the SPM passes bytes on as they are), and
#   the partition writes ciphertext || tag straight into a reused record buffer behind the header
#   and explicit nonce, which struct.pack_into writes: the record is one memoryview of that buffer,
#   and nothing of an earlier record is in it (every byte of buf[:length] is written by the seal
#   that returns it);
# - opening: the 25 bytes of nonce || additional data are refilled in one reused bytearray (the salt
#   stays, the explicit nonce and the additional data are overwritten), and the plaintext goes to the
#   caller's buffer (open_into) or one new buffer (open).
# (Comments rather than docstrings here: a board may compile this module from .py in a small heap.)
class AEADRecords:
    """Seal/open records with an AEAD suite (RFC 5288 / RFC 6655 nonce = salt || explicit seq)."""

    def __init__(self, write_key, read_key, alg, write_iv, read_iv, tag_len):
        self.write_key = write_key
        self.read_key = read_key
        self.alg = alg
        self.write_iv = bytes(write_iv)
        self.read_iv = bytes(read_iv)
        self._rna = bytearray(25)  # read_iv || the record's explicit nonce || additional data, per record
        self._rna[:4] = self.read_iv
        self.overhead = 8 + tag_len  # explicit nonce + tag
        self.min_fragment = self.overhead
        self.write_seq = 0
        self.read_seq = 0
        self._tag = tag_len
        # the packed psa_call headers of both directions (dropped with the keys: key ids may be reused)
        self._seal_hdr = _c._aead_header(_c.TFM_CRYPTO_AEAD_ENCRYPT, write_key, alg, 12)
        self._open_hdr = _c._aead_header(_c.TFM_CRYPTO_AEAD_DECRYPT, read_key, alg, 12)
        self._wbuf = None  # the record buffer (bytearray), grown to the largest record sealed (<= _SCRATCH_MAX)
        self._wmv = None  # memoryview of it
        self._wct = None  # memoryview of it from offset 13: where ciphertext || tag go
        self._wrec = None  # the last record view of it (see seal_view)
        self._ov = _outvec(bytearray(0), 0)  # the out-vector of both directions (.base set per call)
        self._ovs = (self._ov,)

    def seal_view(self, ctype, plaintext):
        # The whole record for `plaintext` (header || explicit nonce || ciphertext || tag) as a
        # memoryview of the record buffer: valid until the next seal (write it out before that).
        n = len(plaintext)
        size = 13 + n + self._tag
        buf = self._wbuf
        if buf is None or size > len(buf):
            buf = bytearray((size + 63) & ~63)
            mv = memoryview(buf)
            ct = mv[13:]
            if size <= _SCRATCH_MAX:  # kept for the next records; a bigger one is sealed in a temporary
                self._wbuf, self._wmv, self._wct, self._wrec = buf, mv, ct, None
        else:
            mv, ct = self._wmv, self._wct
        hdr = self._seal_hdr
        if hdr is None:
            raise TLSError(INTERNAL_ERROR, "record keys destroyed")
        seq = self.write_seq
        ov = self._ov
        ov.base = ct  # (our own record buffer: no try/finally to drop it, a smaller frame instead)
        ov.len = n + self._tag
        # nonce || additional data in one pack (bytes: the SPM passes it on as it is)
        status = (_psa._impl or _psa._start()).call(  # (psa.psa_call's body: a Python call layer less)
            _HANDLE, 0, (hdr, _pack(">4sQQBHH", self.write_iv, seq, seq, ctype, 0x0303, n), plaintext), self._ovs)
        got = ov.len
        ov.base = None
        if status:
            raise _internal(PSAError(status))
        self.write_seq = seq + 1
        # the explicit nonce is the sequence number: header and nonce in one pack
        _pack_into(">BHHQ", buf, 0, ctype, 0x0303, 8 + got, seq)
        got += 13
        v = self._wrec  # the last view handed out: records of one size (the usual case) share it
        if v is None or len(v) != got or buf is not self._wbuf:
            v = mv[:got]
            if buf is self._wbuf:
                self._wrec = v
        return v

    def seal_record(self, ctype, plaintext):
        """The whole record for `plaintext`: header || explicit nonce || ciphertext || tag (one bytes)."""
        return bytes(self.seal_view(ctype, plaintext))

    def seal(self, ctype, plaintext):
        """The record fragment (explicit nonce || ciphertext || tag), without the 5-byte header."""
        return bytes(self.seal_view(ctype, plaintext)[5:])

    def open_into(self, ctype, fragment, out):
        # Open `fragment` (explicit nonce || ciphertext || tag; any bytes-like) into the writable
        # buffer `out`, which must hold len(fragment) - overhead bytes (ValueError otherwise);
        # returns that count. On a bad tag nothing is written to `out` (TLSError bad_record_mac).
        return self.open_span(ctype, fragment, 0, len(fragment), out)

    def open_span(self, ctype, buf, start, end, out):
        # open_into() of the fragment buf[start:end] (buf: the engine's memoryview of its input
        # buffer), which is never sliced as a whole: a view per record is an allocation saved.
        n = end - start - self.overhead
        if n < 0:
            raise TLSError(BAD_RECORD_MAC, "record shorter than nonce + tag")
        if n > len(out):
            raise ValueError("plaintext buffer too small")
        hdr = self._open_hdr
        if hdr is None:
            raise TLSError(INTERNAL_ERROR, "record keys destroyed")
        na = self._rna
        start += 8
        na[4:12] = buf[start - 8:start]
        _pack_into(">QBHH", na, 12, self.read_seq, ctype, 0x0303, n)
        ov = self._ov
        ov.base = out
        ov.len = n
        # (bytes: the SPM passes them on; a memoryview it would copy the same way, at more cost)
        status = (_psa._impl or _psa._start()).call(_HANDLE, 0, (hdr, bytes(na), bytes(buf[start:end])), self._ovs)
        n = ov.len
        # no reference to the caller's buffer stays behind; no try/finally for it (a smaller heap
        # frame): should psa_call raise, the next seal/open or destroy() drops it
        ov.base = None
        if status:
            if status == PSA_ERROR_INVALID_SIGNATURE:
                raise TLSError(BAD_RECORD_MAC, "record authentication failed")
            raise _internal(PSAError(status))
        self.read_seq += 1
        return n

    def open(self, ctype, fragment):
        """Plaintext (bytes) of `fragment` (any bytes-like: the engine passes a memoryview of its input buffer)."""
        out = bytearray(max(len(fragment) - self.overhead, 0))
        n = self.open_into(ctype, fragment, out)
        return bytes(out) if n == len(out) else bytes(out[:n])

    def destroy(self):
        self._seal_hdr = self._open_hdr = None  # (they name the key ids, which may be reused)
        self._ov.base = None
        destroy(self.write_key)
        destroy(self.read_key)
        self.write_key = self.read_key = None


def __getattr__(name):
    # keys.CBCRecords still works: the class lives in device.tls.cbc, loaded on first use (PEP 562;
    # MicroPython's module __getattr__)
    if name == "CBCRecords":
        from device.tls.cbc import CBCRecords

        return CBCRecords
    raise AttributeError(name)
