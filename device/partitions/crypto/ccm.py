"""AES-CCM (RFC 3610, NIST SP 800-38C) on any backend of ``aes``: CBC-MAC + CTR.

    from device.partitions.crypto import aes, ccm
    c = aes.new(key)
    ct_tag = ccm.encrypt(c, nonce, aad, plaintext, tag_len=16)
    plaintext = ccm.decrypt(c, nonce, aad, ct_tag, tag_len=16)   # aes.InvalidTag on a bad tag
    ct_tag = ccm.seal(c, na, nonce_len, plaintext, 16)          # na = nonce || aad in one bytes-like
    plaintext = ccm.unseal(c, na, nonce_len, ct_tag, 16)

Nonce 7..13 bytes (TLS CCM suites use 12), tag 4..16 bytes, even (TLS: 16 or 8).

The record path of TLS, so it is built to allocate little (on MicroPython an allocation costs more than
the AES of a 64-byte record) and to run few Python statements. Scratch buffers of this module are reused
by every call (the crypto partition is never re-entered, so one call owns them from start to end); they
grow on demand up to SCRATCH_MAX message bytes and AAD_MAX bytes of additional data (a TLS record: 13),
longer inputs use temporary buffers:
- ``_stage``: the call's nonce || additional data, copied in with one slice store.
- ``_tmpl``: the counter blocks A0, A1, ... (flags || nonce || i, block i carries counter i). Flags and
  counters are written when the buffer is (re)built; per call only the nonce is written into each block.
- ``_ks``: ONE ECB call encrypts _tmpl into it (the keystream E(A0), E(A1), ...); E(A0)[:tag] is then
  copied right after the message's keystream so that message and tag are XORed with it as one big int.
- ``_mac``: B0 || encoded AAD || zero-padded message, CBC-MAC'ed in place by ONE CBC call; afterwards it
  holds plaintext || tag for that XOR.
Every byte a call uses is written by that call first, so nothing of one record reaches the next (tests
interleave keys, nonces and lengths). The memoryviews of these buffers one shape of call needs (message
length, tag length, nonce length, AAD length) are made once and kept in ``_plans`` (a few shapes: TLS
records of one size all share one), so that a call slices nothing: what is left to allocate is the
big-int XOR and its result.
"""

from device.compat import const
from device.partitions.crypto.aes import InvalidTag

SCRATCH_MAX = const(1024)  # message bytes a call handles in the reused buffers
AAD_MAX = const(30)  # additional-data bytes a call handles in the reused buffers
_MAX_PLANS = const(4)

_tmpl = None  # memoryview of a bytearray: counter blocks for nonces of 15 - _q bytes
_ks = None
_mac = None
_stage = None  # bytearray: nonce || aad
_q = 0  # L (counter bytes) of the blocks in _tmpl
_cap = 0  # message bytes the scratch buffers hold
_plans = {}  # shape key -> plan (see _plan) on the current scratch buffers
_ZERO = memoryview(bytes(16))
_from_bytes = int.from_bytes  # (module-level aliases: a builtin costs two lookups, and its method a third)
_len = len


def _check(nonce_len, tag_len):
    if not 7 <= nonce_len <= 13:
        raise ValueError("CCM nonce must be 7..13 bytes")
    if tag_len < 4 or tag_len > 16 or tag_len & 1:
        raise ValueError("CCM tag must be 4, 6, ..., 16 bytes")


def _buffers(n, q, a):
    """(template, keystream, MAC buffer, stage) big enough for an n-byte message, L = q and a bytes of
    AAD: the module's scratch (grown if needed), or temporaries for a message or AAD beyond its limits."""
    global _tmpl, _ks, _mac, _stage, _q, _cap
    long = n > SCRATCH_MAX or a > AAD_MAX
    cap = n if long else max((n + 63) & ~63, _cap)  # grow in steps of 4 blocks
    blocks = (cap + 15) // 16 + 2  # A0..Am, and room for E(A0) moved after the message
    t = bytearray(16 * blocks)
    for i in range(blocks):
        t[16 * i] = q - 1
        t[16 * i + 16 - q: 16 * i + 16] = i.to_bytes(q, "big")
    t = memoryview(t)
    ks = memoryview(bytearray(16 * blocks))
    aad = a if long else AAD_MAX
    # B0, the encoded AAD (up to 10 bytes of length), the message, and room for the tag behind it
    mac = memoryview(bytearray(16 * (blocks + 1 + (aad + 25) // 16)))
    stage = bytearray(13 + aad)
    if not long:
        _tmpl, _ks, _mac, _stage, _q, _cap = t, ks, mac, stage, q, cap
        _plans.clear()  # (their views are of the old buffers)
    return t, ks, mac, stage


def _plan(n, t, q, a):
    """The views and constants one shape of call needs: from _plans, or made (and kept when the
    scratch serves). Two tuples, unpacked by the functions below:
    (mac[:end of the MAC input], flags, length field of B0, nonce view, aad header, aad view, pad after the aad,
    message offset, pad after the message, the whole MAC buffer, the MAC T's view mac[T:T + t], the int with
    the low 8 * t bits set), (tmpl, keystream blocks' end, tmpl[:end], ks[:end], ks[16 + n:16 + n + t], ks[:t],
    ks[16:16 + n + t], mac[T - n:T + t])."""
    if n > _cap or q != _q or a > AAD_MAX:
        tmpl, ks, mac, stage = _buffers(n, q, a)
        keep = tmpl is _tmpl
    else:
        tmpl, ks, mac, stage = _tmpl, _ks, _mac, _stage
        keep = True
    nl = 15 - q
    if a == 0:
        h = 0
        ahdr = b""
    elif a < 0xFF00:
        h = 2
        ahdr = a.to_bytes(2, "big")
    else:
        h = 6 if a >> 32 == 0 else 10
        ahdr = (b"\xff\xfe" if h == 6 else b"\xff\xff") + a.to_bytes(h - 2, "big")
    aend = 16 + h + a
    moff = (aend + 15) & ~15
    off = (moff + n + 15) & ~15  # the MAC input: B0 || encoded AAD || message, zero-padded
    tag_at = off - 16  # the MAC T: mac[tag_at:off]
    kend = (n + 31) & ~15  # blocks A0..Am
    st = memoryview(stage)
    # (two tuples, the MAC's views and the keystream's: unpacked as a nested target, the largest tuple
    # sets the stack depth of seal's and unseal's frames, which MicroPython takes from the heap)
    p = ((mac[:off], (0x40 if a else 0) | (((t - 2) // 2) << 3) | (q - 1), n.to_bytes(q, "big"), st[:nl],
          ahdr, st[nl:nl + a], _ZERO[:moff - aend], moff, _ZERO[:off - moff - n], mac, mac[tag_at:tag_at + t],
          (1 << (8 * t)) - 1),
         (tmpl, kend, tmpl[:kend], ks[:kend], ks[16 + n:16 + n + t], ks[:t], ks[16:16 + n + t],
          mac[tag_at - n:tag_at + t]))
    if keep:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[n | (t << 16) | (q << 21) | (a << 25)] = p
    return p, stage


def _shape(nonce_len, tag_len, n, na):
    """The plan for a call of this shape, made (or found) the slow way, with its checks; na copied into
    its stage."""
    q = 15 - nonce_len
    if q < 2 or q > 8 or tag_len < 4 or tag_len > 16 or tag_len & 1:
        _check(nonce_len, tag_len)  # (raises the specific ValueError)
    if n >> (8 * q):
        raise ValueError("CCM message too long for this nonce length")
    a = len(na) - nonce_len
    if a < 0:
        raise ValueError("CCM nonce longer than nonce || aad")
    p = _plans.get(n | (tag_len << 16) | (q << 21) | (a << 25)) if n <= SCRATCH_MAX and a <= AAD_MAX else None
    if p is None:
        p, stage = _plan(n, tag_len, q, a)
    else:
        stage = _stage
    stage[:len(na)] = na
    return p


# seal and unseal do all their work in one function each: on MicroPython, a function whose locals and
# value stack exceed 11 words gets its frame from the heap at every call (one allocation, the costliest
# kind), so one such frame per record beats several helpers with a frame each.
def seal(cipher, na, nonce_len, plaintext, tag_len=16):
    """ciphertext || tag (bytes); na: nonce || additional data in one bytes-like (the crypto
    partition's wire format), nonce_len: the nonce's share of it."""
    n = _len(plaintext)
    a = _len(na) - nonce_len
    # a plan of this shape (the checks passed when it was made), else the slow way with every check
    p = _plans.get(n | (tag_len << 16) | ((15 - nonce_len) << 21) | (a << 25)) if 0 <= a <= AAD_MAX else None
    if p is None or n > SCRATCH_MAX:
        p = _shape(nonce_len, tag_len, n, na)
    else:
        _stage[:_len(na)] = na
    (mac, flags, b0len, nonce, ahdr, aad, apad, moff, mpad, whole, tag_v, low), \
        (tmpl, kend, tmpl_v, ks_v, tag_dst, tag_src, ks_x, x_v) = p
    # B0 || encoded AAD || message, zero-padded, then CBC-MAC in place: T is at mac[tag_at:tag_at + 16]
    mac[0] = flags
    mac[1:nonce_len + 1] = nonce
    mac[nonce_len + 1:16] = b0len
    if a:
        mac[16:16 + _len(ahdr)] = ahdr
        a += 16 + _len(ahdr)
        mac[a - _len(aad):a] = aad
        mac[a:moff] = apad
    mac[moff:moff + n] = plaintext
    mac[moff + n:_len(mac)] = mpad
    cipher.cbc_mac_into(mac)
    x_v[:n] = plaintext  # plaintext || T (T is where the MAC left it): one int
    # keystream: the nonce into each counter block, ONE ECB call, E(A0) moved behind E(A1..Am)
    for a in range(1, kend, 16):
        tmpl[a:a + nonce_len] = nonce
    cipher.ecb_encrypt_to(tmpl_v, ks_v)
    tag_dst[:] = tag_src
    return (_from_bytes(x_v, "big") ^ _from_bytes(ks_x, "big")).to_bytes(n + tag_len, "big")


def unseal(cipher, na, nonce_len, data, tag_len=16):
    """The plaintext (bytes) of ciphertext || tag, with na and nonce_len as seal() takes them; raises
    aes.InvalidTag when it does not verify."""
    n = _len(data) - tag_len
    if n < 0:
        raise InvalidTag("CCM input shorter than its tag")
    a = _len(na) - nonce_len
    p = _plans.get(n | (tag_len << 16) | ((15 - nonce_len) << 21) | (a << 25)) if 0 <= a <= AAD_MAX else None
    if p is None or n > SCRATCH_MAX:
        p = _shape(nonce_len, tag_len, n, na)
    else:
        _stage[:_len(na)] = na
    (mac, flags, b0len, nonce, ahdr, aad, apad, moff, mpad, whole, tag_v, low), \
        (tmpl, kend, tmpl_v, ks_v, tag_dst, tag_src, ks_x, x_v) = p
    for i in range(1, kend, 16):
        tmpl[i:i + nonce_len] = nonce
    cipher.ecb_encrypt_to(tmpl_v, ks_v)
    tag_dst[:] = tag_src
    x = _from_bytes(data, "big") ^ _from_bytes(ks_x, "big")  # pt || T' as one int
    out = x.to_bytes(n + tag_len, "big")
    # the MAC input: B0 || encoded AAD || plaintext, zero-padded; plaintext || T' go in with one store,
    # and T' lies in the zero padding (overwritten by it) or beyond the MAC'ed blocks
    mac[0] = flags
    mac[1:nonce_len + 1] = nonce
    mac[nonce_len + 1:16] = b0len
    if a:
        mac[16:16 + _len(ahdr)] = ahdr
        a += 16 + _len(ahdr)
        mac[a - _len(aad):a] = aad
        mac[a:moff] = apad
    whole[moff:moff + n + tag_len] = out
    mac[moff + n:_len(mac)] = mpad
    cipher.cbc_mac_into(mac)
    # T against T' (x's low bits): XOR of two ints, then a test for zero -- every digit is XORed
    # (no early exit, constant time), and in C rather than a Python loop over the tag's bytes; T' is
    # masked out of x first, so that the XOR runs on tag-sized ints, not on the whole record
    if _from_bytes(tag_v, "big") ^ (x & low):
        raise InvalidTag("CCM tag mismatch")
    return out[:n]


def encrypt(cipher, nonce, aad, plaintext, tag_len=16):
    """ciphertext || tag (bytes)."""
    return seal(cipher, bytes(nonce) + bytes(aad or b""), len(nonce), plaintext, tag_len)


def decrypt(cipher, nonce, aad, data, tag_len=16):
    """The plaintext (bytes) of ciphertext || tag; raises aes.InvalidTag when it does not verify."""
    return unseal(cipher, bytes(nonce) + bytes(aad or b""), len(nonce), data, tag_len)
