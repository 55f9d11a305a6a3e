"""Byte-level mutation of encoded inputs for the decoder robustness tests (not a test module itself)."""


def mutate(rnd, data, n):
    """`data` with n random edits: flip a bit, insert a byte, drop a byte, or cut the tail."""
    data = bytearray(data)
    for _ in range(n):
        op = rnd.randrange(4)
        pos = rnd.randrange(len(data) + 1)
        if op == 0 and pos < len(data):
            data[pos] ^= 1 << rnd.randrange(8)
        elif op == 1:
            data.insert(pos, rnd.randrange(256))
        elif op == 2 and pos < len(data):
            del data[pos]
        else:
            del data[pos:]
    return bytes(data)
