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
    except Exception:
        _c.psa_key_derivation_abort(op)
        raise
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
        except Exception:
            for k in keys:
                destroy(k)
            raise
        finally:
            _c.psa_key_derivation_abort(op)
    except PSAError as e:
        raise _internal(e)


def _header(seq, ctype, length):
    """seq_num || type || version || length: the AEAD additional data / MAC header (RFC 5246 §6.2.3)."""
    return _pack(">QBHH", seq, ctype, 0x0303, length)


class AEADRecords:
    """Seal/open records with an AEAD suite (RFC 5288 / RFC 6655 nonce = salt || explicit seq).

    The record path is hot (one seal and one open per echoed record), so it allocates little:
    one struct.pack each for the nonce, the additional data and the record header, the
    ciphertext passed to the partition as a memoryview of the caller's buffer (the SPM copies
    it once, as it must), and no intermediate bytes otherwise."""

    def __init__(self, write_key, read_key, alg, write_iv, read_iv, tag_len):
        self.write_key = write_key
        self.read_key = read_key
        self.alg = alg
        self.write_iv = bytes(write_iv)
        self.read_iv = bytes(read_iv)
        self._read_nonce = bytearray(12)  # read_iv || the record's explicit nonce, refilled per record
        self._read_nonce[:4] = self.read_iv
        self.overhead = 8 + tag_len  # explicit nonce + tag
        self.min_fragment = self.overhead
        self.write_seq = 0
        self.read_seq = 0

    def seal_record(self, ctype, plaintext):
        """The whole record for `plaintext`: header || explicit nonce || ciphertext || tag (one bytes)."""
        seq = self.write_seq
        try:
            ct = _c.psa_aead_encrypt(self.write_key, self.alg, _pack(">4sQ", self.write_iv, seq),
                                     _pack(">QBHH", seq, ctype, 0x0303, len(plaintext)), plaintext)
        except PSAError as e:
            raise _internal(e)
        self.write_seq = seq + 1
        # the explicit nonce is the sequence number: header and nonce in one pack
        return _pack(">BHHQ", ctype, 0x0303, 8 + len(ct), seq) + ct

    def seal(self, ctype, plaintext):
        """The record fragment (explicit nonce || ciphertext || tag), without the 5-byte header."""
        return self.seal_record(ctype, plaintext)[5:]

    def open(self, ctype, fragment):
        """Plaintext (bytes) of `fragment` (any bytes-like: the engine passes a memoryview of its input buffer)."""
        n = len(fragment) - self.overhead
        if n < 0:
            raise TLSError(BAD_RECORD_MAC, "record shorter than nonce + tag")
        nonce = self._read_nonce
        nonce[4:] = fragment[:8]
        try:
            pt = _c.psa_aead_decrypt(self.read_key, self.alg, nonce,
                                     _pack(">QBHH", self.read_seq, ctype, 0x0303, n), fragment[8:])
        except PSAError as e:
            if e.status == PSA_ERROR_INVALID_SIGNATURE:
                raise TLSError(BAD_RECORD_MAC, "record authentication failed")
            raise _internal(e)
        self.read_seq += 1
        return pt

    def destroy(self):
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
