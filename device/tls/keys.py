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

from struct import pack as _pack, pack_into as _pack_into

from device.compat import const
from device.psa import crypto as _c
from device.psa import PSAError
from device.tls.alerts import TLSError, reason_text

# (constants here, not imports: device.psa's status names and device.tls.alerts' alert names are made on
# first use, by loading the tables, which a non-secure image does not want in its heap)
PSA_ERROR_INVALID_SIGNATURE = const(-149)
BAD_RECORD_MAC = const(20)  # alert numbers
INTERNAL_ERROR = const(80)

# The PSA values this module uses, as private constants (folded at compile time: no module dict entry,
# no qstr, no lookup; the non-secure image's heap floor). The public names are device.psa.crypto's;
# tests/device/test_psa_crypto_names.py checks that the values match. PRF_ALG, PSK_TO_MS_ALG, HMAC_ALG,
# CBC_ALG, AEAD_ALG and TAG_LEN, this module's public names for some of them, come from __getattr__ below.
_PRF_ALG = const(0x08000209)  # PSA_ALG_TLS12_PRF(PSA_ALG_SHA_256)
_PSK_TO_MS_ALG = const(0x08000309)  # PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_256)
_ALG_CCM = const(0x05500100)  # PSA_ALG_CCM
_ALG_CCM_8 = const(0x05480100)  # PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 8)
_ALG_GCM = const(0x05500200)  # PSA_ALG_GCM
_KEY_TYPE_DERIVE = const(0x1200)
_KEY_TYPE_AES = const(0x2400)
_USAGE_ENCRYPT_DECRYPT = const(0x0300)  # PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT
_USAGE_DERIVE = const(0x4000)
_INPUT_SECRET = const(0x0101)  # PSA_KEY_DERIVATION_INPUT_SECRET
_INPUT_LABEL = const(0x0201)
_INPUT_SEED = const(0x0204)
_R_CRYPTO = const(40)  # TLSError reason (device.tls.reasons): "crypto partition: %r"
_R_PSK_LENGTH = const(41)  # TLSError reason (device.tls.reasons): "PSK must be 1..64 bytes"
# the AEAD suites (device.tls.suites' IANA numbers); TLS_PSK_WITH_AES_128_CBC_SHA256 goes to device.tls.cbc
_SUITE_CCM = const(0xC0A4)
_SUITE_CCM_8 = const(0xC0A8)
_SUITE_GCM = const(0x00A8)


class _PackedAttributes(_c.KeyAttributes):
    """Volatile-key attributes that every handshake asks for again (the master secret, the session
    keys of a suite): made and packed once, then reused; psa_*_key packs attributes on each call."""

    def __init__(self, key_type, bits, usage, alg):
        _c.KeyAttributes.__init__(self, key_type, bits, usage, alg, 0)  # (lifetime 0: PSA_KEY_LIFETIME_VOLATILE)
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
    return TLSError(INTERNAL_ERROR, (_R_CRYPTO, e))


def check_psk(raw):
    """ValueError unless `raw` is a PSK this engine takes (1..64 bytes)."""
    if not 1 <= len(raw) <= 64:
        raise ValueError(reason_text(_R_PSK_LENGTH))


def import_psk(raw):
    """Import raw PSK bytes as a volatile DERIVE key usable only for TLS12_PSK_TO_MS; never exportable.
    A crypto partition failure is a TLSError (internal_error)."""
    check_psk(raw)
    a = _c.KeyAttributes(_KEY_TYPE_DERIVE, 8 * len(raw), _USAGE_DERIVE, _PSK_TO_MS_ALG)  # (volatile)
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
        op = _c.psa_key_derivation_setup(_PSK_TO_MS_ALG)
        try:
            _c.psa_key_derivation_input_bytes(op, _INPUT_SEED, seed)
            _c.psa_key_derivation_input_key(op, _INPUT_SECRET, psk_key)
            _c.psa_key_derivation_input_bytes(op, _INPUT_LABEL, label)
            a = _fixed_attributes(_KEY_TYPE_DERIVE, 384, _USAGE_DERIVE, _PRF_ALG)
            return _c.psa_key_derivation_output_key(a, op)
        finally:
            _c.psa_key_derivation_abort(op)
    except PSAError as e:
        raise _internal(e)


def _prf_op(ms_key, label, seed):
    op = _c.psa_key_derivation_setup(_PRF_ALG)
    try:
        _c.psa_key_derivation_input_bytes(op, _INPUT_SEED, seed)
        _c.psa_key_derivation_input_key(op, _INPUT_SECRET, ms_key)
        _c.psa_key_derivation_input_bytes(op, _INPUT_LABEL, label)
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
    if suite == _SUITE_CCM:
        alg, tag_len = _ALG_CCM, 16
    elif suite == _SUITE_CCM_8:
        alg, tag_len = _ALG_CCM_8, 8
    elif suite == _SUITE_GCM:
        alg, tag_len = _ALG_GCM, 16
    else:  # TLS_PSK_WITH_AES_128_CBC_SHA256 (the only other suite parse_suites lets through)
        alg = None
    try:
        op = _prf_op(ms_key, b"key expansion", server_random + client_random)
        keys = []  # the keys derived so far: destroyed if a later step fails
        try:
            if alg is None:
                from device.tls.cbc import cbc_records  # loaded only for the CBC suite (saves heap)

                return cbc_records(op, keys, etm)
            aa = _fixed_attributes(_KEY_TYPE_AES, 128, _USAGE_ENCRYPT_DECRYPT, alg)
            keys.append(_c.psa_key_derivation_output_key(aa, op))  # client_write_key
            keys.append(_c.psa_key_derivation_output_key(aa, op))  # server_write_key
            ivs = _c.psa_key_derivation_output_bytes(op, 8)  # client_write_IV[4] || server_write_IV[4]
            return AEADRecords(keys[0], keys[1], alg, ivs[:4], ivs[4:], tag_len)
        except Exception as e:
            for k in keys:
                destroy(k)
            raise e
        finally:
            _c.psa_key_derivation_abort(op)
    except PSAError as e:
        raise _internal(e)


_SCRATCH_MAX = 1024  # records up to this size are sealed in the reused record buffer
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
    # Names used by few (device.tls.cbc, tests), made on first use (PEP 562; MicroPython's module
    # __getattr__): CBCRecords lives in device.tls.cbc, and the algorithm names are values that this
    # module folds as private constants (see the top).
    if name == "CBCRecords":
        from device.tls.cbc import CBCRecords

        return CBCRecords
    v = {"PRF_ALG": _PRF_ALG, "PSK_TO_MS_ALG": _PSK_TO_MS_ALG, "HMAC_ALG": 0x03800009, "CBC_ALG": 0x04404000,
         "AEAD_ALG": {"ccm": _ALG_CCM, "ccm8": _ALG_CCM_8, "gcm": _ALG_GCM},
         "TAG_LEN": {"ccm": 16, "ccm8": 8, "gcm": 16}}.get(name)
    if v is None:
        raise AttributeError(name)
    return v
