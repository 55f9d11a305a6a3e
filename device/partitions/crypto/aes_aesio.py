"""The ``aesio`` backend of ``aes`` (CircuitPython): imported by ``aes.new`` on first use only, so its
code never loads on runtimes without aesio. aesio.AES(key, mode, iv); encrypt_into(src, dest); ECB
takes one block per call, CBC a whole buffer.
"""

from device.partitions.crypto import aes as _aes
from device.partitions.crypto.aes import _check_key, _check_blocks, _check_to


class AesioAES:
    name = "aesio"

    def __init__(self, key):
        _check_key(key)
        self._key = bytes(key)
        self._mod = m = _aes._aesio
        self._ecb = m.AES(self._key, m.MODE_ECB)

    def _ecb_blocks(self, data, decrypt):
        _check_blocks(data)
        out = bytearray(len(data))
        src = memoryview(data)
        dst = memoryview(out)
        f = self._ecb.decrypt_into if decrypt else self._ecb.encrypt_into
        for off in range(0, len(data), 16):
            f(src[off: off + 16], dst[off: off + 16])
        return bytes(out)

    def ecb_encrypt(self, data):
        return self._ecb_blocks(data, False)

    def ecb_decrypt(self, data):
        return self._ecb_blocks(data, True)

    def _cbc(self, iv, data, decrypt):
        _check_blocks(data)
        if not data:
            return b""
        out = bytearray(len(data))
        c = self._mod.AES(self._key, self._mod.MODE_CBC, bytes(iv))
        (c.decrypt_into if decrypt else c.encrypt_into)(bytes(data), out)
        return bytes(out)

    def cbc_encrypt(self, iv, data):
        return self._cbc(iv, data, False)

    def cbc_decrypt(self, iv, data):
        return self._cbc(iv, data, True)

    def cbc_mac(self, data):
        if not data:
            return bytes(16)
        return self._cbc(bytes(16), data, False)[-16:]

    def cbc_mac_into(self, buf):
        if buf:
            buf[-16:] = self.cbc_mac(buf)

    def ecb_encrypt_into(self, buf):
        self.ecb_encrypt_to(buf, buf)

    def ecb_encrypt_to(self, src, dst):
        _check_to(src, dst)
        s = memoryview(src)
        d = memoryview(dst)
        f = self._ecb.encrypt_into
        for off in range(0, len(src), 16):
            f(bytes(s[off: off + 16]), d[off: off + 16])
