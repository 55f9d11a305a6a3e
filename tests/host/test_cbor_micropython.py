"""device.cbor behaves the same on the real MicroPython as on CPython, on valid and broken input.

The portable tests check fixed vectors on both lanes; this feeds a few thousand generated
inputs (cbor2 output of random values, the same mutated, and random bytes) to device.cbor
on both runtimes and requires identical outcomes: either both reject with CBORDecodeError
(and agree on whether it is a CBORTruncatedError), or both decode and re-encode to the same bytes.
"""

import random

import cbor2

from device import cbor
from tests.host.mutation import mutate
from tests.micropython_lane import run_code

SEED = 2026
N_VALUES = 400


def random_value(rnd, depth=0):
    kinds = ["int", "bigint", "float", "str", "bytes", "const"]
    if depth < 4:
        kinds += ["list", "dict", "tag"]
    kind = rnd.choice(kinds)
    if kind == "int":
        return rnd.choice([rnd.randint(-30, 30), rnd.randint(-(2**64), 2**64 - 1), rnd.randint(-300, 70000)])
    if kind == "bigint":
        return rnd.choice([1, -1]) * rnd.randint(2**64, 2**90)
    if kind == "float":
        return rnd.choice(
            [rnd.random() * 10 ** rnd.randint(-50, 50), float(rnd.randint(-70000, 70000)) / 4,
             struct_float(rnd), float("inf"), -0.0, 2.0 ** rnd.randint(-160, 130)]
        )
    if kind == "str":
        return "".join(rnd.choice("aZ09 ~\u00fc\u6c34\U00010151") for _ in range(rnd.randint(0, 30)))
    if kind == "bytes":
        return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 30)))
    if kind == "const":
        return rnd.choice([None, True, False, cbor2.undefined])
    if kind == "list":
        return [random_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]
    if kind == "dict":
        keys = [rnd.choice([rnd.randint(-500, 500), "k%d" % rnd.randint(0, 999)]) for _ in range(rnd.randint(0, 6))]
        return {k: random_value(rnd, depth + 1) for k in keys}
    return cbor2.CBORTag(rnd.randint(60000, 2**64 - 1), random_value(rnd, depth + 1))


def struct_float(rnd):
    import struct

    return struct.unpack(">f", struct.pack(">I", rnd.getrandbits(32) & 0x7F7FFFFF))[0]


def inputs():
    rnd = random.Random(SEED)
    out = []
    for _ in range(N_VALUES):
        data = cbor2.dumps(random_value(rnd))
        out.append(data)
        out.append(mutate(rnd, data, rnd.randint(1, 3)))
        out.append(mutate(rnd, data, rnd.randint(1, 3)))
        out.append(bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 24))))
    return out


def outcome(data):
    try:
        obj = cbor.loads(data)
    except cbor.CBORTruncatedError:
        return "T"
    except cbor.CBORDecodeError:
        return "E"
    return cbor.dumps(obj).hex() or "-"


MP_SNIPPET = """
from device import cbor
import binascii
for line in open(%r):
    data = binascii.unhexlify(line.strip())
    try:
        obj = cbor.loads(data)
    except cbor.CBORTruncatedError:
        print("T")
        continue
    except cbor.CBORDecodeError:
        print("E")
        continue
    except Exception as e:
        print("X", type(e).__name__, e)
        continue
    print(binascii.hexlify(cbor.dumps(obj)).decode() or "-")
"""


def test_micropython_agrees_with_cpython_on_generated_input(tmp_path):
    cases = inputs()
    path = tmp_path / "inputs.hex"
    path.write_text("".join(d.hex() + "\n" for d in cases))
    got = run_code(MP_SNIPPET % str(path)).split("\n")
    want = [outcome(d) for d in cases]
    assert len(got) >= len(want)
    mismatches = [(d.hex(), w, g) for d, w, g in zip(cases, want, got) if w != g]
    assert not mismatches, mismatches[:5]
    # the generated mix really exercises both sides
    assert sum(w == "E" or w == "T" for w in want) > len(cases) // 10
    assert sum(w not in ("E", "T") for w in want) > len(cases) // 3
