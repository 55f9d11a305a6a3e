"""The SHT31 driver against the byte-exact simulator, on both bus flavours (portable)."""

from sensors import is_sensor
from sensors.sht31 import (
    REPEATABILITY_HIGH,
    REPEATABILITY_LOW,
    REPEATABILITY_MEDIUM,
    RETRIES,
    SHT31,
    SensorError,
    crc8,
    humidity_centi,
    humidity_pct,
    temperature_c,
    temperature_centi,
)
from sensors.sim import SimClock, SimI2C, SimulatedSHT31

FLAVOURS = ("machine", "busio")


def _rig(flavour="machine", temperature=21.5, humidity=40.0, **kw):
    clock = SimClock()
    chip = SimulatedSHT31(temperature=temperature, humidity=humidity, clock=clock)
    bus = SimI2C([chip])
    view = bus.as_machine_i2c() if flavour == "machine" else bus.as_busio_i2c()
    sensor = SHT31(view, sleep_us=clock.sleep_us, **kw)
    return clock, chip, bus, sensor


def _raises(fn, exc=SensorError):
    try:
        fn()
    except exc as e:
        return e
    raise AssertionError("expected %s" % exc.__name__)


def test_crc8_reference_value():
    assert crc8(b"\xbe\xef") == 0x92
    assert crc8(b"\x00\x00") == 0x81


def test_conversions_at_the_ends_of_the_range():
    assert temperature_c(0) == -45.0 and temperature_c(65535) == 130.0
    assert humidity_pct(0) == 0.0 and humidity_pct(65535) == 100.0
    assert temperature_centi(0) == -4500 and temperature_centi(65535) == 13000
    assert humidity_centi(0) == 0 and humidity_centi(65535) == 10000
    for raw in (1, 999, 0x6147, 32768, 65534):
        assert abs(temperature_centi(raw) - temperature_c(raw) * 100) <= 0.5
        assert abs(humidity_centi(raw) - humidity_pct(raw) * 100) <= 0.5


def test_single_shot_every_repeatability_and_stretching_both_flavours():
    waits = {REPEATABILITY_HIGH: 15500, REPEATABILITY_MEDIUM: 6500, REPEATABILITY_LOW: 4500}
    for flavour in FLAVOURS:
        for rep in (REPEATABILITY_HIGH, REPEATABILITY_MEDIUM, REPEATABILITY_LOW):
            for stretch in (False, True):
                clock, chip, bus, s = _rig(flavour, repeatability=rep, clock_stretching=stretch)
                t, rh = s.measure()
                assert abs(t - 21.5) < 0.003 and abs(rh - 40.0) < 0.002, (t, rh)
                # the datasheet maximum, and no longer (stretching: the bus held it)
                assert clock.now == waits[rep], (flavour, rep, stretch, clock.now)
                assert bus.transactions == 2
                expected = (0x2C06, 0x2C0D, 0x2C10)[rep] if stretch else (0x2400, 0x240B, 0x2416)[rep]
                assert chip.commands == [expected]


def test_transaction_bytes_are_the_datasheet_bytes():
    clock, chip, bus, s = _rig("machine")
    s.measure()
    (op1, a1, d1, r1), (op2, a2, d2, r2) = bus.log
    assert (op1, a1, d1, r1) == ("write", 0x44, b"\x24\x00", "ack")
    assert op2 == "read" and a2 == 0x44 and len(d2) == 6 and r2 == "ack"
    assert crc8(d2, 0, 2) == d2[2] and crc8(d2, 3, 5) == d2[5]


def test_measure_into_gives_centi_units():
    clock, chip, bus, s = _rig("busio", temperature=-10.25, humidity=99.5)
    out = [0, 0]
    assert s.measure_into(out) is out
    assert out == [-1025, 9950], out
    assert s.measure_raw() == (chip.raw_at(0)[0], chip.raw_at(0)[1])


def test_humidity_is_clamped_and_extremes_decode():
    clock, chip, bus, s = _rig("machine", temperature=200.0, humidity=150.0)
    t, rh = s.measure()
    assert t == 130.0 and rh == 100.0
    chip.temperature, chip.humidity = -80.0, -5.0
    t, rh = s.measure()
    assert t == -45.0 and rh == 0.0


def test_temperature_as_function_of_time():
    clock, chip, bus, s = _rig("machine", temperature=lambda ts: 20.0 + ts, humidity=lambda ts: 30.0)
    clock.sleep_us(2000000)
    t, _ = s.measure()  # completes at 2.0155 s
    assert abs(t - 22.0155) < 0.003, t


def test_non_blocking_pair():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour, repeatability=REPEATABILITY_MEDIUM)
        wait = s.start_measurement()
        assert wait == 6500 and clock.now == 0
        clock.sleep_us(wait - 1)
        e = _raises(lambda: s.read_measurement())  # one microsecond early: NACK
        assert "NACK" in e.reason
        clock.sleep_us(1)  # the chip ignores commands until that measurement ends
        s.start_measurement()
        clock.sleep_us(wait)
        out = s.read_measurement_into([0, 0])
        assert out == [2150, 4000], out
        s.start_measurement()
        clock.sleep_us(wait)
        t, rh = s.read_measurement()
        assert abs(t - 21.5) < 0.003


def test_reading_early_without_stretching_is_nacked_by_the_chip():
    clock, chip, bus, s = _rig("machine")
    buf = bytearray(6)
    bus.writeto(0x44, b"\x24\x00")
    clock.sleep_us(15499)
    e = _raises(lambda: bus.readfrom_into(0x44, buf), OSError)
    assert e.args[0] == 19
    clock.sleep_us(1)
    bus.readfrom_into(0x44, buf)
    assert crc8(buf, 0, 2) == buf[2]


def test_periodic_mode_fetch_break_and_rates():
    for flavour in FLAVOURS:
        for mps, period in ((0.5, 2000000), (1, 1000000), (2, 500000), (4, 250000), (10, 100000)):
            clock, chip, bus, s = _rig(flavour, temperature=lambda ts: 10.0 + ts, humidity=lambda ts: 50.0)
            s.start_periodic(mps)
            assert s.periodic and s.period_us() == period
            assert s.fetch() is None  # first sample not complete yet: fetch read NACKed
            clock.sleep_us(15500)
            t, rh = s.fetch()
            assert abs(t - 10.0155) < 0.003, (mps, t)
            assert s.fetch() is None  # data cleared after the fetch
            clock.sleep_us(period)
            out = [0, 0]
            assert s.fetch_into(out) is True
            assert abs(out[0] - (10.0155 + period / 1e6) * 100) <= 1, (mps, out)
            assert s.fetch_into(out) is False
            s.stop_periodic()
            assert not s.periodic
            assert chip.commands[-1] == 0x3093
            s.measure()  # single shot works again after break


def test_periodic_commands_follow_repeatability():
    for rep, cmd in ((REPEATABILITY_HIGH, 0x2737), (REPEATABILITY_MEDIUM, 0x2721), (REPEATABILITY_LOW, 0x272A)):
        clock, chip, bus, s = _rig("machine", repeatability=rep)
        s.start_periodic(10)
        assert chip.commands == [cmd]


def test_measure_in_periodic_mode_returns_newest():
    clock, chip, bus, s = _rig("busio", temperature=lambda ts: 10.0 + ts, humidity=lambda ts: 50.0)
    s.start_periodic(2)
    t1, _ = s.measure()  # waits for the first sample: one measurement time, no more
    assert abs(t1 - 10.0155) < 0.003, t1
    assert clock.now == 15500
    t2, _ = s.measure()  # no new sample: the last reading again
    assert t2 == t1
    clock.sleep_us(500000)
    t3, _ = s.measure()
    assert abs(t3 - 10.5155) < 0.003, t3


def test_art_mode():
    clock, chip, bus, s = _rig("machine")
    s.start_periodic(art=True)
    assert chip.commands == [0x2B32] and s.period_us() == 250000
    clock.sleep_us(15500)
    assert s.fetch() is not None
    s.stop_periodic()


def test_periodic_rejects_bad_rate_and_fetch_in_idle():
    clock, chip, bus, s = _rig("machine")
    _raises(lambda: s.start_periodic(3), ValueError)
    _raises(lambda: s.fetch())
    _raises(lambda: s.fetch_into([0, 0]))


def test_heater_warms_the_reading_and_shows_in_status():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour)
        assert s.heater is False
        t0, rh0 = s.measure()
        s.heater = True
        assert s.heater is True and s.status.heater
        clock.sleep_us(2000000)
        t1, rh1 = s.measure()
        assert 1.9 < t1 - t0 < 2.1, (t0, t1)
        assert rh1 < rh0
        s.heater = False
        assert not s.status.heater
        clock.sleep_us(10000000)
        t2, _ = s.measure()
        assert abs(t2 - t0) < 0.003


def test_status_decoded_and_cleared():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour)
        st = s.status
        assert st.raw == 0x8010 and st.alert_pending and st.reset_detected
        assert not (st.heater or st.rh_alert or st.t_alert or st.command_failed or st.write_crc_failed)
        s.clear_status()
        assert s.read_status() == 0x0000
        s.soft_reset()
        assert s.read_status() == 0x8010


def test_command_status_bit_after_a_rejected_command():
    clock, chip, bus, s = _rig("machine")
    _raises(lambda: bus.writeto(0x44, b"\x12\x34"), OSError)
    assert s.status.command_failed
    assert not s.status.command_failed  # the status read itself succeeded


def test_soft_reset_stops_periodic_and_heater():
    clock, chip, bus, s = _rig("machine")
    s.heater = True
    s.start_periodic(1)
    s.soft_reset()
    assert not s.periodic
    assert chip.commands[-2:] == [0x3093, 0x30A2]
    assert not s.status.heater


def test_serial_number_read_once_and_cached():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour)
        chip.serial = 0x89ABCDEF
        assert s.serial_number == 0x89ABCDEF
        n = bus.transactions
        assert s.serial_number == 0x89ABCDEF and bus.transactions == n
        assert chip.commands == [0x3780]
        assert is_sensor(s)


def test_crc_error_retries_then_succeeds():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour)
        chip.corrupt_next_crcs(2 * RETRIES)  # both words of the first RETRIES attempts
        t, rh = s.measure()
        assert abs(t - 21.5) < 0.003
        assert chip.commands == [0x2400] * (RETRIES + 1)


def test_crc_error_exhausts_retries_and_names_address():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour)
        chip.corrupt_next_crcs(100)
        e = _raises(s.measure)
        assert e.address == 0x44 and "CRC" in e.reason and "0x44" in str(e), str(e)
        assert chip.commands == [0x2400] * (RETRIES + 1)
        e = _raises(s.read_status)  # the status word's CRC is checked too
        assert "CRC" in e.reason
        chip.corrupt_next_crcs(100)
        _raises(lambda: s.serial_number)


def test_retries_is_configurable():
    clock, chip, bus, s = _rig("machine", retries=0)
    chip.corrupt_next_crcs(1)
    _raises(s.measure)
    assert len(chip.commands) == 1


def test_absent_device_names_address_and_bus():
    for flavour in FLAVOURS:
        clock, chip, bus, s = _rig(flavour)
        chip.present = False
        e = _raises(s.measure)
        assert isinstance(e, OSError)
        assert "0x44" in e.reason and "SimI2C" in e.reason and "no answer" in e.reason, e.reason
        assert bus.transactions == RETRIES + 1
    clock, chip, bus, s = _rig("machine", address=0x45)
    e = _raises(s.measure)  # the chip answers at 0x44, nothing at 0x45
    assert e.address == 0x45 and "0x45" in e.reason


def test_transient_nack_is_retried():
    clock, chip, bus, s = _rig("busio")
    bus.nack_next(1)
    s.measure()
    assert bus.log[0][3] == "nack" and bus.transactions == 3


def test_bus_error_becomes_sensor_error():
    clock, chip, bus, s = _rig("machine")
    bus.bus_error_next(RETRIES + 1)
    e = _raises(s.measure)
    assert e.address == 0x44


def test_nack_while_measuring_without_stretching():
    # A driver that reads too early gets NACKs; ours waits, so force it with sleep_us=noop.
    clock = SimClock()
    chip = SimulatedSHT31(clock=clock)
    bus = SimI2C([chip])
    s = SHT31(bus.as_machine_i2c(), sleep_us=lambda us: None)
    e = _raises(s.measure)
    assert "0x44" in str(e)
    # while the chip is measuring it also NACKs a new command
    assert bus.log[-1][3] == "nack"


def test_bad_arguments():
    bus = SimI2C()
    _raises(lambda: SHT31(bus, address=0x40), ValueError)
    _raises(lambda: SHT31(bus, repeatability=7), ValueError)
    s = SHT31(bus)
    def set_rep():
        s.repeatability = 3
    _raises(set_rep, ValueError)
    _raises(lambda: SHT31(bus, retries=-1), ValueError)


def test_idle_only_operations_refused_in_periodic_mode():
    clock, chip, bus, s = _rig("machine")
    s.start_periodic(1)
    _raises(s.start_measurement)
    _raises(lambda: s.serial_number)
