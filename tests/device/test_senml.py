"""device.senml (both lanes): reading and batch packs, resolution, exactness, bad packs."""

from device import cbor, senml

BASE = "AVlCDTa4A1PtWlgiykZMyb_7ir6c1jlZZR082FqCUtg_:"  # a 33-byte instance id, base64url
T0 = 1764160000


def _drift(n=10, step=10):
    """Readings a real room gives: slow drift, a little noise (deterministic)."""
    out = []
    for i in range(n):
        out.append((T0 + step * i, 2245 + 3 * i - (7 * i * i) % 5, 4510 - 11 * i + (i % 3)))
    return out


def test_single_reading_layout():
    pack = senml.encode_reading(BASE, T0, 2245, 4510)
    recs = cbor.loads(pack)
    assert recs == [{-2: BASE, -3: T0, 0: "T", 1: "Cel", 2: recs[0][2]}, {0: "RH", 1: "%RH", 2: recs[1][2]}]
    assert abs(recs[0][2] - 22.45) <= 0.004 and abs(recs[1][2] - 45.10) <= 0.004
    assert senml.readings(pack) == (BASE, [(T0, 2245, 4510)])
    # whole degrees and percent are written as integers (1 byte)
    assert cbor.loads(senml.encode_reading(BASE, T0, 2200, 10000)) [0][2] == 22
    assert cbor.loads(senml.encode_reading(BASE, T0, 2200, 10000))[1][2] == 100


def test_single_reading_into_a_buffer():
    buf = bytearray(128)
    n = senml.encode_reading(BASE, T0, -1234, 0, buf, 3)
    assert bytes(buf[3:n]) == senml.encode_reading(BASE, T0, -1234, 0)
    one = senml.encode_reading(BASE, T0, 1, 1)
    for n in (0, 1, 20, len(one) - 1):
        try:
            senml.encode_reading(BASE, T0, 1, 1, bytearray(n))
            raise AssertionError("wrote past a %d-byte buffer" % n)
        except ValueError:
            pass


def test_values_are_exact_to_the_hundredth():
    # every value from -45.00 to 130.00 degC (the SHT31's range) in steps of 0.37 survives,
    # as do extremes of humidity; round(value * 100) gives back the reading
    c = -4500
    while c <= 13000:
        back = senml.readings(senml.encode_reading(BASE, T0, c, (c + 4500) % 10001))[1][0]
        assert back == (T0, c, (c + 4500) % 10001), (c, back)
        c += 37


def test_batch_resolves_like_single_readings():
    rs = _drift()
    batch = senml.encode_batch(BASE, rs)
    singles = [senml.encode_reading(BASE, t, tc, hc) for (t, tc, hc) in rs]
    rb = senml.resolve(batch)
    rsingle = []
    for p in singles:
        rsingle.extend(senml.resolve(p))
    key = lambda r: (r["n"], r["t"])
    rb.sort(key=key)
    rsingle.sort(key=key)
    assert [(r["n"], r["u"], r["t"]) for r in rb] == [(r["n"], r["u"], r["t"]) for r in rsingle]
    for a, b in zip(rb, rsingle):
        assert abs(a["v"] - b["v"]) <= 0.008
    assert senml.readings(batch) == (BASE, rs)
    # merging the single packs gives the same batch
    assert senml.batch(singles) == batch


def test_batch_layout_and_size():
    rs = _drift()
    batch = senml.encode_batch(BASE, rs)
    recs = cbor.loads(batch)
    assert len(recs) == 20
    assert recs[0][-2] == BASE + "T" and recs[0][-4] == "Cel" and recs[0][2] == 0
    bt = recs[0][-3]
    assert bt in (T0 + 20, T0 + 30, T0 + 40)  # a middle reading's time: short relative times
    assert recs[10][-2] == BASE + "RH" and recs[10][-4] == "%RH" and -3 not in recs[10]
    for r in recs[1:10] + recs[11:]:
        assert sorted(r.keys()) in ([2, 6], [2])  # a relative time and a value, nothing else
    assert [bt + recs[i].get(6, 0) for i in range(10)] == [r[0] for r in rs]
    assert [bt + recs[10 + i].get(6, 0) for i in range(10)] == [r[0] for r in rs]
    # the target: <= 28 bytes per reading in a batch of 10
    assert len(batch) <= 280, len(batch)
    buf = bytearray(400)
    assert senml.encode_batch(BASE, rs, buf) == len(batch) and bytes(buf[: len(batch)]) == batch
    for n in (0, 1, 2, 50, len(batch) - 1):  # a short buffer: ValueError, never IndexError
        try:
            senml.encode_batch(BASE, rs, bytearray(n))
            raise AssertionError("a %d-byte buffer held a %d-byte batch" % (n, len(batch)))
        except ValueError:
            pass


def test_batch_with_big_jumps_stays_exact():
    rs = [(T0, 2245, 4510), (T0 + 5, -3000, 100), (T0 + 9, 8000, 9999), (T0 + 9, 2245, 4510)]
    assert senml.readings(senml.encode_batch(BASE, rs))[1] == rs


def test_bad_packs_raise_senml_error():
    bad = [
        b"",
        b"\xff",
        cbor.dumps({"a": 1}),
        cbor.dumps([]),
        cbor.dumps([1]),
        cbor.dumps([{2: 1.0}]),  # no name
        cbor.dumps([{0: "x"}]),  # no value
        cbor.dumps([{0: "x", 2: "hot"}]),
        cbor.dumps([{0: "_x", 2: 1}]),  # a name must start with a letter or digit
        cbor.dumps([{-2: 5, 0: "x", 2: 1}]),
        cbor.dumps([{0: "x", 2: 1, 99: 1}]),
    ]
    for b in bad:
        try:
            senml.resolve(b)
            raise AssertionError("accepted %r" % b)
        except senml.SenMLError:
            pass
    inf = float("inf")
    rh = {0: "RH", 1: "%RH", 2: 50.0}
    for b in (cbor.dumps([{-2: BASE, 0: "T", 1: "Cel", 2: 20}]),  # temperature without humidity
              cbor.dumps([{-2: BASE, 0: "P", 1: "Pa", 2: 1}]),
              cbor.dumps([{-2: BASE, 0: "T", 1: "Cel", 2: inf}, rh]),  # well-formed SenML, no reading
              cbor.dumps([{-2: BASE, 0: "T", 1: "Cel", 2: inf - inf}, {0: "RH", 1: "%RH", 2: inf - inf}]),
              cbor.dumps([{-2: BASE, -3: inf, 0: "T", 1: "Cel", 2: 1.0}, rh])):
        try:
            senml.readings(b)
            raise AssertionError("accepted %r" % b)
        except senml.SenMLError:
            pass
    try:
        senml.encode_batch(BASE, [])
        raise AssertionError("empty batch")
    except ValueError:
        pass
    try:
        senml.encode_reading(BASE, T0, 22.45, 4510)
        raise AssertionError("float accepted as hundredths")
    except TypeError:
        pass
    try:
        senml.batch([senml.encode_reading("A:", T0, 1, 1), senml.encode_reading("B:", T0, 1, 1)])
        raise AssertionError("two devices in one batch")
    except senml.SenMLError:
        pass
