"""Properties of driver + simulator under random readings and random faults (hypothesis).

Whatever the bus does, the driver either returns the chip's reading (within one raw
step) or raises SensorError -- never IndexError, never a wrong value.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from sensors.sht31 import RETRIES, SHT31, SensorError, humidity_centi, temperature_centi
from sensors.sim import SimClock, SimI2C, SimulatedSHT31

QT = 175 / 65535
QH = 100 / 65535


def _rig(flavour, t, h, **kw):
    clock = SimClock()
    chip = SimulatedSHT31(temperature=t, humidity=h, clock=clock)
    bus = SimI2C([chip])
    view = bus.as_machine_i2c() if flavour == "machine" else bus.as_busio_i2c()
    return clock, chip, bus, SHT31(view, sleep_us=clock.sleep_us, **kw)


@settings(max_examples=200, deadline=None)
@given(
    flavour=st.sampled_from(["machine", "busio"]),
    t=st.floats(-45, 130),
    h=st.floats(0, 100),
    stretch=st.booleans(),
    rep=st.integers(0, 2),
)
def test_reading_matches_chip(flavour, t, h, stretch, rep):
    clock, chip, bus, s = _rig(flavour, t, h, clock_stretching=stretch, repeatability=rep)
    got_t, got_h = s.measure()
    assert abs(got_t - t) <= QT / 2 + 1e-9 and abs(got_h - h) <= QH / 2 + 1e-9
    out = s.measure_into([0, 0])
    assert abs(out[0] - got_t * 100) <= 0.5 + 1e-9 and abs(out[1] - got_h * 100) <= 0.5 + 1e-9


@given(raw=st.integers(0, 65535))
def test_centi_conversions_are_rounded_exactly(raw):
    from fractions import Fraction

    exact_t = Fraction(17500 * raw, 65535) - 4500
    exact_h = Fraction(10000 * raw, 65535)
    assert abs(temperature_centi(raw) - exact_t) <= Fraction(1, 2)
    assert abs(humidity_centi(raw) - exact_h) <= Fraction(1, 2)


@settings(max_examples=300, deadline=None)
@given(
    flavour=st.sampled_from(["machine", "busio"]),
    crc=st.integers(0, 8),
    nack=st.integers(0, 5),
    bus_error=st.integers(0, 5),
    op=st.sampled_from(["measure", "status", "serial", "pair", "periodic"]),
)
def test_faults_give_the_value_or_sensor_error(flavour, crc, nack, bus_error, op):
    clock, chip, bus, s = _rig(flavour, 21.5, 40.0)
    chip.corrupt_next_crcs(crc)
    bus.nack_next(nack)
    bus.bus_error_next(bus_error)
    try:
        if op == "measure":
            t, h = s.measure()
            assert abs(t - 21.5) < QT and abs(h - 40.0) < QH
        elif op == "status":
            assert s.read_status() == 0x8010
        elif op == "serial":
            assert s.serial_number == chip.serial
        elif op == "pair":
            clock.sleep_us(s.start_measurement())
            assert s.read_measurement_into([0, 0]) == [2150, 4000]
        else:
            s.start_periodic(10)
            clock.sleep_us(20000)
            r = s.fetch()
            assert r is None or abs(r[0] - 21.5) < QT
    except SensorError as e:
        assert e.address == 0x44 and "0x44" in str(e)
        # each injected fault spoils at most one attempt: with no more faults than
        # RETRIES the retried operations must succeed
        assert crc or nack or bus_error
        assert not (op in ("measure", "status", "serial") and crc + nack + bus_error <= RETRIES), e
