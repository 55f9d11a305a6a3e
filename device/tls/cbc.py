"""AES-128-CBC + HMAC-SHA256 record protection (TLS_PSK_WITH_AES_128_CBC_SHA256), through the crypto partition.

Split from device.tls.keys and imported only when the CBC suite is negotiated: the AEAD suites
(CCM first) are the usual case, and this code would otherwise sit in RAM for nothing. Like keys,
it holds key ids only (psa_cipher_* and psa_mac_* with volatile keys from the key block).
"""

import struct

from device.compat import const
from device.psa import crypto as _c
from device.psa import PSAError, PSA_ERROR_INVALID_SIGNATURE
from device.tls.alerts import TLSError
from device.tls.keys import _internal, destroy

_pack = struct.pack
_MAC_LEN = const(32)
_BLOCK = const(16)
_BAD_RECORD_MAC = const(20)  # alert (device.tls.alerts)
CBC_ALG = const(0x04404000)  # PSA_ALG_CBC_NO_PADDING
HMAC_ALG = const(0x03800009)  # PSA_ALG_HMAC(PSA_ALG_SHA_256)


def _header(seq, ctype, length):
    """seq_num || type || version || length: the MAC header (RFC 5246 §6.2.3.1)."""
    return _pack(">QBHH", seq, ctype, 0x0303, length)


def cbc_records(op, keys, etm):
    """The CBC suite's part of device.tls.keys.record_protection: from the key-block derivation `op` (RFC 5246
    §6.3), two HMAC-SHA256 and two AES-128-CBC volatile keys, each appended to `keys` as it is made (so that
    record_protection destroys them if a later step fails), in a CBCRecords."""
    ha = _c.KeyAttributes(_c.PSA_KEY_TYPE_HMAC, 256,
                          _c.PSA_KEY_USAGE_SIGN_MESSAGE | _c.PSA_KEY_USAGE_VERIFY_MESSAGE, HMAC_ALG)
    keys.append(_c.psa_key_derivation_output_key(ha, op))  # client_write_MAC_key
    keys.append(_c.psa_key_derivation_output_key(ha, op))  # server_write_MAC_key
    aa = _c.KeyAttributes(_c.PSA_KEY_TYPE_AES, 128, _c.PSA_KEY_USAGE_ENCRYPT | _c.PSA_KEY_USAGE_DECRYPT, CBC_ALG)
    keys.append(_c.psa_key_derivation_output_key(aa, op))  # client_write_key
    keys.append(_c.psa_key_derivation_output_key(aa, op))  # server_write_key
    return CBCRecords(keys[2], keys[3], keys[0], keys[1], etm)


class CBCRecords:
    """AES-128-CBC + HMAC-SHA256 records (RFC 5246 §6.2.3.2; RFC 7366 when `etm`)."""

    def __init__(self, write_key, read_key, write_mac, read_mac, etm):
        self.write_key = write_key
        self.read_key = read_key
        self.write_mac = write_mac
        self.read_mac = read_mac
        self.etm = etm
        self.overhead = _BLOCK + _MAC_LEN + _BLOCK  # IV + MAC + worst-case padding
        self.min_fragment = _BLOCK + (_MAC_LEN if etm else 2 * _BLOCK + _BLOCK)
        self.write_seq = 0
        self.read_seq = 0

    @staticmethod
    def _pad(n):
        p = (_BLOCK - (n + 1) % _BLOCK) % _BLOCK
        return bytes((p,)) * (p + 1)

    def seal_record(self, ctype, plaintext):
        """The whole record: header || fragment."""
        frag = self.seal(ctype, plaintext)
        return _pack(">BHH", ctype, 0x0303, len(frag)) + frag

    def seal(self, ctype, plaintext):
        plaintext = bytes(plaintext)  # the engine may pass a memoryview slice of a long write
        try:
            if self.etm:
                ivct = _c.psa_cipher_encrypt(self.write_key, CBC_ALG, plaintext + self._pad(len(plaintext)))
                mac = _c.psa_mac_compute(self.write_mac, HMAC_ALG, _header(self.write_seq, ctype, len(ivct)) + ivct)
                out = ivct + mac
            else:
                mac = _c.psa_mac_compute(self.write_mac, HMAC_ALG,
                                         _header(self.write_seq, ctype, len(plaintext)) + plaintext)
                body = plaintext + mac
                out = _c.psa_cipher_encrypt(self.write_key, CBC_ALG, body + self._pad(len(body)))
        except PSAError as e:
            raise _internal(e)
        self.write_seq += 1
        return out

    def _unpad(self, padded):
        # constant-shape check of the padding bytes; every failure is the same bad_record_mac
        n = len(padded)
        p = padded[n - 1]
        bad = 0 if p + 1 <= n else 1
        for i in range(min(p + 1, n)):
            bad |= padded[n - 1 - i] ^ p
        return bad, n - 1 - p if not bad else 0

    def open(self, ctype, fragment):
        n = len(fragment)
        try:
            if self.etm:
                if n < _BLOCK * 2 + _MAC_LEN or (n - _MAC_LEN) % _BLOCK:
                    raise TLSError(_BAD_RECORD_MAC, "CBC record length")
                mv = memoryview(fragment)
                ivct = bytes(mv[:n - _MAC_LEN])
                try:
                    _c.psa_mac_verify(self.read_mac, HMAC_ALG, _header(self.read_seq, ctype, len(ivct)) + ivct,
                                      bytes(mv[n - _MAC_LEN:]))
                except PSAError as e:
                    if e.status == PSA_ERROR_INVALID_SIGNATURE:
                        raise TLSError(_BAD_RECORD_MAC, "record MAC failed")
                    raise e
                padded = _c.psa_cipher_decrypt(self.read_key, CBC_ALG, ivct)
                bad, end = self._unpad(padded)
                if bad:
                    raise TLSError(_BAD_RECORD_MAC, "CBC padding")
                pt = padded[:end]
            else:
                if n < _BLOCK * 3 or n % _BLOCK:
                    raise TLSError(_BAD_RECORD_MAC, "CBC record length")
                padded = _c.psa_cipher_decrypt(self.read_key, CBC_ALG, bytes(fragment))
                bad, end = self._unpad(padded)
                if end < _MAC_LEN:
                    bad = 1
                    end = _MAC_LEN
                pt = padded[:end - _MAC_LEN]
                try:
                    _c.psa_mac_verify(self.read_mac, HMAC_ALG, _header(self.read_seq, ctype, len(pt)) + pt,
                                      bytes(padded[end - _MAC_LEN:end]))
                except PSAError as e:
                    if e.status != PSA_ERROR_INVALID_SIGNATURE:
                        raise e
                    bad = 1
                if bad:
                    raise TLSError(_BAD_RECORD_MAC, "record MAC or padding failed")
        except PSAError as e:
            raise _internal(e)
        self.read_seq += 1
        return bytes(pt)

    def destroy(self):
        for k in (self.write_key, self.read_key, self.write_mac, self.read_mac):
            destroy(k)
        self.write_key = self.read_key = self.write_mac = self.read_mac = None
