"""SenML-CBOR (RFC 8428 §6) for temperature and humidity readings: encode, batch, resolve.

Used by the telemetry partition (one reading per call) and by the non-secure app (many
readings in one batch). Integer labels (RFC 8428 Table 4): bn -2, bt -3, bu -4, bv -5,
n 0, u 1, v 2, t 6. Units "Cel" and "%RH". Names: ``<base>T`` and ``<base>RH``, where the
base carries the device's instance id (see docs/telemetry.md), e.g. ``"AYa9...Qk:"``.

One reading (what the telemetry partition returns)::

    [{-2: "<id>:", -3: 1764170000, 0: "T", 1: "Cel", 2: 22.45},
     {0: "RH", 1: "%RH", 2: 45.1}]

A batch of readings (``encode_batch``), grouped by quantity so that each record carries
only a relative time and a small value relative to a base value::

    [{-2: "<id>:T", -3: bt, -4: "Cel", -5: 22.45, 6: -40, 2: 0},
     {6: -30, 2: 0.03125}, ...                           # one per further reading
     {-2: "<id>:RH", -4: "%RH", -5: 45.1, 6: -40, 2: 0},
     {6: -30, 2: -0.0625}, ...]

bt is the time of the reading that makes the relative times t cheapest to encode (for
evenly spaced readings: the middle one); bv is each quantity's first value.

Both resolve (``resolve``, RFC 8428 §4.6) to the same records: name, unit, value, time.

Values are kept to the SHT31's 0.01 resolution exactly: a reading is given as ints in
hundredths (centi-degC, centi-%RH, as ``SHT31.measure_into`` gives them) and each value is
written as the shortest CBOR number (int, half, single or double float) whose resolved
value ``bv + v`` lies within 0.004 of ``centi / 100`` -- so ``round(value * 100)`` always
gives the reading back. Times are integer seconds (Unix time).
"""

import struct
from math import frexp, ldexp

from device import cbor
from device.compat import const

BN = const(-2)
BT = const(-3)
BU = const(-4)
BV = const(-5)
N = const(0)
U = const(1)
V = const(2)
T = const(6)

NAME_TEMPERATURE = "T"
NAME_HUMIDITY = "RH"
UNIT_TEMPERATURE = "Cel"
UNIT_HUMIDITY = "%RH"

_TOL = 0.004  # |resolved - centi/100| allowed: rounding back to hundredths stays exact
_LABELS = (BN, BT, BU, BV, N, U, V, T, -1, 3, 4, 5, 7, 8)  # the RFC 8428 labels we understand


class SenMLError(ValueError):
    """A pack that is not valid SenML of the shape this module reads."""


def _half(x):
    """x rounded to the nearest IEEE half float (a float), or None when out of half's range."""
    if x == 0:
        return 0.0
    m, e = frexp(x)  # x = m * 2**e, 0.5 <= |m| < 1
    if e < -13 or e > 16:  # below the normal range or above 65504
        return None
    return ldexp(round(m * 2048), e - 11)


def _single(x):
    return struct.unpack(">f", struct.pack(">f", x))[0]


def _number(centi, base):
    """The shortest number v with base + v within _TOL of centi/100 (base is a float or 0)."""
    want = centi / 100
    x = want - base
    if centi % 100 == 0 and base == 0:
        return centi // 100
    if x == 0:
        return 0
    for v in (_half(x), _single(x)):
        if v is not None and abs(base + v - want) <= _TOL:
            return v
    return x


def _int_centi(c, what):
    if not isinstance(c, int) or isinstance(c, bool):
        raise TypeError("%s must be an int (hundredths), not %r" % (what, c))
    return c


def _base_name(base):
    if not isinstance(base, str):
        raise TypeError("base name must be a str")
    return base


def _field(buf, off, key, value):
    return cbor.encode_into(value, buf, cbor.encode_into(key, buf, off))


def _map(buf, off, n):
    if off >= len(buf):
        raise cbor.CBOREncodeError("SenML pack does not fit the buffer")
    buf[off] = 0xA0 | n  # n <= 6 here
    return off + 1


def encode_reading(base, time, temperature_centi, humidity_centi, buf=None, offset=0):
    """One reading as a SenML pack: bytes, or (with ``buf``, a bytearray) the end offset.

    ``base``: base name (ends with ":"); ``time``: int Unix seconds; the values in hundredths.
    """
    base = _base_name(base)
    tc = _int_centi(temperature_centi, "temperature")
    hc = _int_centi(humidity_centi, "humidity")
    if not isinstance(time, int):
        raise TypeError("time must be int seconds")
    out = buf if buf is not None else bytearray(96 + len(base))
    p = offset
    if p + 1 > len(out):
        raise cbor.CBOREncodeError("SenML pack does not fit the buffer")
    out[p] = 0x82
    p = _map(out, p + 1, 5)
    p = _field(out, p, BN, base)
    p = _field(out, p, BT, time)
    p = _field(out, p, N, NAME_TEMPERATURE)
    p = _field(out, p, U, UNIT_TEMPERATURE)
    p = _field(out, p, V, _number(tc, 0))
    p = _map(out, p, 3)
    p = _field(out, p, N, NAME_HUMIDITY)
    p = _field(out, p, U, UNIT_HUMIDITY)
    p = _field(out, p, V, _number(hc, 0))
    if buf is not None:
        return p
    return bytes(out[offset:p])


def _int_size(n):
    """Bytes of a CBOR integer (head included)."""
    if n < 0:
        n = -1 - n
    return 1 if n < 24 else (2 if n < 0x100 else (3 if n < 0x10000 else (5 if n < 0x100000000 else 9)))


def _base_time(readings):
    """The reading time that, as bt, makes the relative times t cheapest to encode."""
    best = None
    best_cost = 0
    for cand in readings:
        bt = cand[0]
        cost = 0
        for r in readings:
            if r[0] != bt:
                cost += 1 + _int_size(r[0] - bt)
        if best is None or cost < best_cost:
            best, best_cost = bt, cost
    return best


def _section(out, p, base, name, unit, bt, first_section, readings, index):
    bv = _number(readings[0][index], 0)
    bvf = float(bv)
    for i in range(len(readings)):
        r = readings[i]
        dt = r[0] - bt
        n = 1 + (1 if dt else 0)
        if i == 0:
            n += 4 if first_section else 3
        p = _map(out, p, n)
        if i == 0:
            p = _field(out, p, BN, base + name)
            if first_section:
                p = _field(out, p, BT, bt)
            p = _field(out, p, BU, unit)
            p = _field(out, p, BV, bv)
        if dt:
            p = _field(out, p, T, dt)
        p = _field(out, p, V, 0 if i == 0 else _number(r[index], bvf))
    return p


def encode_batch(base, readings, buf=None):
    """Readings [(time, temperature_centi, humidity_centi), ...] as one SenML pack.

    Returns bytes, or the length written when ``buf`` (a bytearray) is given.
    """
    base = _base_name(base)
    n = len(readings)
    if n == 0:
        raise ValueError("a batch needs at least one reading")
    for r in readings:
        if len(r) != 3 or not isinstance(r[0], int):
            raise TypeError("each reading is (int time, temperature_centi, humidity_centi)")
        _int_centi(r[1], "temperature")
        _int_centi(r[2], "humidity")
    out = buf if buf is not None else bytearray(64 + 2 * len(base) + 24 * n)
    items = 2 * n
    if len(out) < 2:
        raise cbor.CBOREncodeError("SenML pack does not fit the buffer")
    if items < 24:
        out[0] = 0x80 | items
        p = 1
    elif items < 256:
        out[0] = 0x98
        out[1] = items
        p = 2
    else:
        raise ValueError("at most 127 readings in one batch")
    bt = _base_time(readings)
    p = _section(out, p, base, NAME_TEMPERATURE, UNIT_TEMPERATURE, bt, True, readings, 1)
    p = _section(out, p, base, NAME_HUMIDITY, UNIT_HUMIDITY, bt, False, readings, 2)
    if buf is not None:
        return p
    return bytes(out[:p])


def _num(x, what):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise SenMLError("%s is not a number: %r" % (what, x))
    return x


def _text(x, what):
    if not isinstance(x, str):
        raise SenMLError("%s is not a text string: %r" % (what, x))
    return x


def _whole(x, scale, what):
    """round(x * scale) as an int; SenMLError for inf and NaN (never OverflowError/ValueError)."""
    try:
        return int(round(x * scale))
    except (OverflowError, ValueError):
        raise SenMLError("%s is not a finite number: %r" % (what, x))


def resolve(pack):
    """RFC 8428 §4.6 resolved records of a pack (bytes or already-decoded list).

    Returns a list of dicts {"n": name, "u": unit or None, "v": value, "t": time}.
    Raises SenMLError on anything that is not a SenML pack with numeric values.
    """
    if not isinstance(pack, list):
        try:
            pack = cbor.loads(pack)
        except (ValueError, TypeError) as e:
            raise SenMLError("not CBOR: %s" % e)
    if not isinstance(pack, list) or not pack:
        raise SenMLError("a SenML pack is a non-empty array")
    bn = ""
    bt = 0
    bu = None
    bv = 0
    out = []
    for rec in pack:
        if not isinstance(rec, dict):
            raise SenMLError("a SenML record is a map")
        for k in rec:
            if k not in _LABELS:
                raise SenMLError("unknown SenML label %r" % (k,))
        if BN in rec:
            bn = _text(rec[BN], "bn")
        if BT in rec:
            bt = _num(rec[BT], "bt")
        if BU in rec:
            bu = _text(rec[BU], "bu")
        if BV in rec:
            bv = _num(rec[BV], "bv")
        if V not in rec:
            raise SenMLError("record without a numeric value (v)")
        name = bn + _text(rec.get(N, ""), "n")
        if not name:
            raise SenMLError("record without a name")
        c = name[0]
        if not ("a" <= c <= "z" or "A" <= c <= "Z" or "0" <= c <= "9"):
            raise SenMLError("name %r must start with a letter or digit" % name)
        unit = _text(rec[U], "u") if U in rec else bu
        out.append({"n": name, "u": unit, "v": bv + _num(rec[V], "v"), "t": bt + _num(rec.get(T, 0), "t")})
    return out


def readings(pack):
    """(base, [(time, temperature_centi, humidity_centi), ...]) of a pack made by this module.

    The inverse of encode_reading/encode_batch (and of several single packs' records put
    together): pairs each "<base>T" record with the next "<base>RH" record of the same time.
    """
    recs = resolve(pack)
    temps = []
    hums = {}
    base = None
    for r in recs:
        name = r["n"]
        if name.endswith(NAME_HUMIDITY) and r["u"] == UNIT_HUMIDITY:
            b = name[: -len(NAME_HUMIDITY)]
            key = (b, r["t"])
            if key in hums:
                hums[key].append(r["v"])
            else:
                hums[key] = [r["v"]]
        elif name.endswith(NAME_TEMPERATURE) and r["u"] == UNIT_TEMPERATURE:
            b = name[: -len(NAME_TEMPERATURE)]
            temps.append((b, r["t"], r["v"]))
        else:
            raise SenMLError("record %r is neither temperature (Cel) nor humidity (%%RH)" % name)
        if base is None:
            base = b
        elif b != base:
            raise SenMLError("records of two devices in one pack: %r and %r" % (base, b))
    result = []
    for b, t, v in temps:
        key = (b, t)
        if not hums.get(key):
            raise SenMLError("temperature at %r has no humidity record" % (t,))
        h = hums[key].pop(0)
        if not isinstance(t, int):
            t = _whole(t, 1, "time")
        result.append((t, _whole(v, 100, "temperature"), _whole(h, 100, "humidity")))
    for key in hums:
        if hums[key]:
            raise SenMLError("humidity records without temperature")
    return base, result


def batch(packs, buf=None):
    """Several single-reading packs (bytes each) of one device merged into one batch pack."""
    base = None
    rs = []
    for p in packs:
        b, r = readings(p)
        if base is None:
            base = b
        elif b != base:
            raise SenMLError("packs of two devices cannot share a batch")
        rs.extend(r)
    return encode_batch(base, rs, buf)
