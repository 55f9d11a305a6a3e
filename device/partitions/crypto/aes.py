"""AES block cipher behind one interface, three backends (S side of the crypto partition).

    from device.partitions.crypto import aes
    c = aes.new(key)                 # best backend of this runtime
    c = aes.new(key, "pure")         # or a named one: "cryptolib", "aesio", "pure"
    c.ecb_encrypt(data)              # len(data) a multiple of 16; many blocks in ONE call
    c.ecb_decrypt(data)
    c.cbc_encrypt(iv, data)          # no padding
    c.cbc_decrypt(iv, data)
    c.cbc_mac(data)                  # last block of CBC(iv=0, data): one CBC call
    c.ecb_encrypt_into(buf)          # in place in a bytearray (no allocation on cryptolib)
    c.ecb_encrypt_to(src, dst)       # from one buffer into another at least as long (no allocation)
    c.cbc_mac_into(buf)              # CBC-MAC of a bytearray/memoryview in place: the MAC is its last block

Backends:
- ``cryptolib`` (MicroPython): ECB and CBC in C; everything else (CTR, CCM, GCM) is built on them.
  AES-128 and AES-256 only (its mbedTLS/axTLS glue rejects 24-byte keys).
- ``aesio`` (CircuitPython): ECB one block per call, CBC in one call.
- ``pure``: a table-driven pure-Python AES (T-tables as Python ints), works everywhere. It lives in
  ``aes_pure`` and is imported on first use: with cryptolib or aesio present its code never loads.
  The aesio adapter lives in ``aes_aesio`` for the same reason (its code never loads on MicroPython).

``BACKENDS`` lists the backends importable on this runtime, best first. Also the helpers the
modes share: ``xor(a, b)`` (one int XOR, no per-byte loop) and ``compare_digest(a, b)``.
"""

try:
    import cryptolib as _cryptolib
except ImportError:
    _cryptolib = None
try:
    import aesio as _aesio
except ImportError:
    _aesio = None

BLOCK = 16
_ZERO_IV = bytes(16)


def xor(a, b):
    """a XOR b for equal-length bytes-likes, through one big-int XOR."""
    n = len(a)
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(n, "big")


def compare_digest(a, b):
    """Constant-time equality of two bytes-likes (the time depends only on the lengths)."""
    if len(a) != len(b):
        return False
    if not len(a):
        return True
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")) == 0


class InvalidTag(ValueError):
    """An AEAD tag or MAC did not verify (the partition maps it to PSA_ERROR_INVALID_SIGNATURE)."""


def ctr_blocks(cipher, prefix, start, count):
    """`count` keystream blocks E(prefix || counter) in ONE ECB call.

    The counter occupies the last 16 - len(prefix) bytes, starts at `start` and wraps modulo
    its width (CCM counts in L bytes, GCM in the low 32 bits).
    """
    width = 16 - len(prefix)
    mask = (1 << (8 * width)) - 1
    buf = bytearray(16 * count)
    off = 0
    for i in range(count):
        buf[off: off + 16 - width] = prefix
        buf[off + 16 - width: off + 16] = ((start + i) & mask).to_bytes(width, "big")
        off += 16
    return cipher.ecb_encrypt(buf)


def _check_key(key):
    if len(key) not in (16, 24, 32):
        raise ValueError("AES key must be 16, 24 or 32 bytes")


def _check_blocks(data):
    if len(data) % BLOCK:
        raise ValueError("AES input must be a multiple of 16 bytes")


def _check_to(src, dst):
    if len(src) % BLOCK or len(dst) != len(src):
        raise ValueError("AES input must be a multiple of 16 bytes, the output as long")


# ---------------------------------------------------------------------------------------------
# MicroPython cryptolib: mode 1 = ECB, 2 = CBC; an object either encrypts or decrypts
class _CryptolibAES:
    name = "cryptolib"

    def __init__(self, key):
        _check_key(key)
        self._key = bytes(key)
        self._enc = _cryptolib.aes(self._key, 1)
        self._dec = None
        self._mac = None  # one CBC context for every CBC-MAC of this key (see cbc_mac_into)
        # ecb_encrypt_to is cryptolib's own encrypt(src, dst) (which raises ValueError for a src that is
        # not whole blocks or a dst shorter than src): CCM calls it twice per record, and a C method
        # stored on the instance costs no Python frame
        self.ecb_encrypt_to = self._enc.encrypt

    def ecb_encrypt(self, data):
        _check_blocks(data)
        return self._enc.encrypt(data)

    def ecb_encrypt_into(self, buf):
        """Encrypt the blocks of the bytearray `buf` in place (no allocation)."""
        _check_blocks(buf)
        self._enc.encrypt(buf, buf)


    def ecb_decrypt(self, data):
        _check_blocks(data)
        if self._dec is None:
            self._dec = _cryptolib.aes(self._key, 1)
        return self._dec.decrypt(data)

    def cbc_encrypt(self, iv, data):
        _check_blocks(data)
        if not data:
            return b""
        return _cryptolib.aes(self._key, 2, bytes(iv)).encrypt(data)

    def cbc_decrypt(self, iv, data):
        _check_blocks(data)
        if not data:
            return b""
        return _cryptolib.aes(self._key, 2, bytes(iv)).decrypt(data)

    def cbc_mac(self, data):
        _check_blocks(data)
        if not data:
            return bytes(16)
        b = bytearray(data)
        self.cbc_mac_into(b)
        return bytes(b[-16:])

    def cbc_mac_into(self, buf):
        """CBC-MAC (IV 0) of the bytearray/memoryview `buf`, encrypting it in place: afterwards its last
        block is the MAC (and the rest is lost).

        One CBC context serves every MAC of this key (no new context and key expansion per MAC), but
        cryptolib's CBC object carries its chaining value c (the last MAC) from call to call. Two
        blocks bring it back to zero without any arithmetic in Python: c itself (E(c ^ c) = E(0)),
        then W = D(0) ^ E(0) (E(W ^ E(0)) = E(D(0)) = 0); W is computed once per key.
        """
        if len(buf) & 15:  # (_check_blocks inline)
            _check_blocks(buf)
        if not buf:
            return
        m = self._mac
        self._mac = None  # should encrypt fail below, the chaining value is unknown: start over
        if m is None:  # a fresh context (chain zero), and W
            m = _cryptolib.aes(self._key, 2, _ZERO_IV)
            z = int.from_bytes(self._enc.encrypt(_ZERO_IV), "big")
            d = int.from_bytes(_cryptolib.aes(self._key, 1).decrypt(_ZERO_IV), "big")
            self._restart = bytearray(16) + (z ^ d).to_bytes(16, "big")  # [chaining value | W]
            self._spill = bytearray(32)
        else:
            m.encrypt(self._restart, self._spill)  # chain: c -> E(0) -> 0
        m.encrypt(buf, buf)
        self._restart[:16] = buf[-16:]
        self._mac = m


_CLASSES = {}  # aes_pure and aes_aesio are imported only when asked for or needed
BACKENDS = []
if _cryptolib is not None:
    _CLASSES["cryptolib"] = _CryptolibAES
    BACKENDS.append("cryptolib")
if _aesio is not None:
    BACKENDS.append("aesio")
BACKENDS.append("pure")
DEFAULT = BACKENDS[0]


def new(key, backend=None):
    """An AES object for `key` (16, 24 or 32 bytes) on `backend` (default: the best available)."""
    name = backend or DEFAULT
    cls = _CLASSES.get(name)
    if cls is None and name == "pure":
        from device.partitions.crypto.aes_pure import PureAES

        cls = _CLASSES["pure"] = PureAES
    elif cls is None and name == "aesio" and _aesio is not None:
        from device.partitions.crypto.aes_aesio import AesioAES

        cls = _CLASSES["aesio"] = AesioAES
    if cls is None:
        raise ValueError("AES backend not available here: %r" % (backend,))
    return cls(key)
