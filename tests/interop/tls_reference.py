"""An independent TLS 1.2 PSK reference for the host tests (hmac + `cryptography`): PRF, key
block, record sealing/opening. Lets a test decrypt and re-encrypt recorded real server flights
(e.g. a server Finished with a wrong verify_data, a HelloRequest after the handshake)."""

import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM


def p_sha256(secret, seed, n):
    out, a = b"", seed
    while len(out) < n:
        a = hmac.new(secret, a, hashlib.sha256).digest()
        out += hmac.new(secret, a + seed, hashlib.sha256).digest()
    return out[:n]


def prf(secret, label, seed, n):
    return p_sha256(secret, label + seed, n)


def premaster(psk):
    n = len(psk)
    return n.to_bytes(2, "big") + bytes(n) + n.to_bytes(2, "big") + psk


def records(data):
    """Split a byte stream into (type, fragment) records."""
    out, i = [], 0
    while i + 5 <= len(data):
        n = int.from_bytes(data[i + 3:i + 5], "big")
        out.append((data[i], bytes(data[i + 5:i + 5 + n])))
        i += 5 + n
    assert i == len(data), "trailing partial record"
    return out


def frame(ctype, fragment):
    return bytes((ctype, 3, 3)) + len(fragment).to_bytes(2, "big") + fragment


def handshake_messages(recs):
    buf = b"".join(f for t, f in recs if t == 22)
    msgs, i = [], 0
    while i + 4 <= len(buf):
        n = int.from_bytes(buf[i + 1:i + 4], "big")
        msgs.append(buf[i:i + 4 + n])
        i += 4 + n
    return msgs


class Session:
    """Keys of one recorded session, computed independently from the PSK and the messages."""

    def __init__(self, suite, psk, client_hello, server_plain_msgs, cke):
        self.suite = suite
        ch_random = client_hello[6:38]
        sh = server_plain_msgs[0]
        sr = sh[6:38]
        transcript = client_hello + b"".join(server_plain_msgs) + cke
        ems = b"\x00\x17" in _extension_types(sh)
        if ems:
            self.ms = prf(premaster(psk), b"extended master secret", hashlib.sha256(transcript).digest(), 48)
        else:
            self.ms = prf(premaster(psk), b"master secret", ch_random + sr, 48)
        self.etm = suite == 0x00AE and b"\x00\x16" in _extension_types(sh)
        if suite == 0x00AE:
            kb = prf(self.ms, b"key expansion", sr + ch_random, 96)
            self.cmac, self.smac, self.ckey, self.skey = kb[:32], kb[32:64], kb[64:80], kb[80:96]
        else:
            kb = prf(self.ms, b"key expansion", sr + ch_random, 40)
            self.ckey, self.skey, self.civ, self.siv = kb[:16], kb[16:32], kb[32:36], kb[36:40]
        self.transcript = transcript

    def _aead(self, key):
        if self.suite == 0x00A8:
            return AESGCM(key)
        return AESCCM(key, 8 if self.suite == 0xC0A8 else 16)

    def seal(self, key, iv, seq, ctype, pt, mackey=None):
        aad = seq.to_bytes(8, "big") + bytes((ctype, 3, 3))
        if self.suite == 0x00AE and not self.etm:  # MAC-then-encrypt
            body = pt + hmac.new(mackey, aad + len(pt).to_bytes(2, "big") + pt, hashlib.sha256).digest()
            p = 15 - len(body) % 16
            e = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).encryptor()
            return bytes(16) + e.update(body + bytes((p,)) * (p + 1)) + e.finalize()
        if self.suite == 0x00AE:
            p = 15 - len(pt) % 16
            iv16 = bytes(16)
            e = Cipher(algorithms.AES(key), modes.CBC(iv16)).encryptor()
            ivct = iv16 + e.update(pt + bytes((p,)) * (p + 1)) + e.finalize()
            return ivct + hmac.new(mackey, aad + len(ivct).to_bytes(2, "big") + ivct, hashlib.sha256).digest()
        explicit = seq.to_bytes(8, "big")
        return explicit + self._aead(key).encrypt(iv + explicit, pt, aad + len(pt).to_bytes(2, "big"))

    def open(self, key, iv, seq, ctype, frag, mackey=None):
        aad = seq.to_bytes(8, "big") + bytes((ctype, 3, 3))
        if self.suite == 0x00AE and not self.etm:  # MAC-then-encrypt
            d = Cipher(algorithms.AES(key), modes.CBC(frag[:16])).decryptor()
            padded = d.update(frag[16:]) + d.finalize()
            body = padded[:-(padded[-1] + 1)]
            pt, mac = body[:-32], body[-32:]
            assert hmac.compare_digest(mac, hmac.new(mackey, aad + len(pt).to_bytes(2, "big") + pt,
                                                     hashlib.sha256).digest())
            return pt
        if self.suite == 0x00AE:
            ivct = frag[:-32]
            assert hmac.compare_digest(frag[-32:], hmac.new(mackey, aad + len(ivct).to_bytes(2, "big") + ivct,
                                                            hashlib.sha256).digest())
            d = Cipher(algorithms.AES(key), modes.CBC(ivct[:16])).decryptor()
            padded = d.update(ivct[16:]) + d.finalize()
            return padded[:-(padded[-1] + 1)]
        tag = 16 if self.suite != 0xC0A8 else 8
        return self._aead(key).decrypt(iv + frag[:8], frag[8:], aad + (len(frag) - 8 - tag).to_bytes(2, "big"))

    def server_seal(self, seq, ctype, pt):
        return self.seal(self.skey, getattr(self, "siv", None), seq, ctype, pt, getattr(self, "smac", None))

    def server_open(self, seq, ctype, frag):
        return self.open(self.skey, getattr(self, "siv", None), seq, ctype, frag, getattr(self, "smac", None))

    def client_open(self, seq, ctype, frag):
        return self.open(self.ckey, getattr(self, "civ", None), seq, ctype, frag, getattr(self, "cmac", None))


def _extension_types(sh):
    body = sh[4:]
    i = 2 + 32
    i += 1 + body[i]
    i += 3  # suite + compression
    types = []
    if i + 2 <= len(body):
        end = i + 2 + int.from_bytes(body[i:i + 2], "big")
        i += 2
        while i + 4 <= end:
            types.append(body[i:i + 2])
            i += 4 + int.from_bytes(body[i + 2:i + 4], "big")
    return types
