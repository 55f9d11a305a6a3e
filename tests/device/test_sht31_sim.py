"""The simulator on its own: bytes on the wire, timing, faults, bus flavours (portable).

These drive SimI2C with raw transactions (no driver) and check the bytes against values
computed by hand from the datasheet formulas.
"""

from sensors.sim import (
    STATUS_AFTER_RESET,
    SimClock,
    SimI2C,
    SimulatedSHT31,
    alert_limit_word,
    crc_word,
)


def _rig(**kw):
    clock = SimClock()
    chip = SimulatedSHT31(clock=clock, **kw)
    return clock, chip, SimI2C([chip])


def _oserror(fn):
    try:
        fn()
    except OSError as e:
        return e.args[0]
    raise AssertionError("expected OSError")


def _word(buf, i):
    return (buf[i] << 8) | buf[i + 1]


def test_crc_table_matches_reference():
    assert crc_word(0xBEEF) == 0x92
    assert crc_word(0x0000) == 0x81


def test_single_shot_bytes_by_hand():
    # 25.0 degC -> raw round((25 + 45) * 65535 / 175) = 26214 = 0x6666;
    # 50 %RH -> round(50 * 65535 / 100) = 32768 = 0x8000 (32767.5 rounds up)
    clock, chip, bus = _rig(temperature=25.0, humidity=50.0)
    bus.writeto(0x44, b"\x2c\x06")  # stretching on: the read waits for the data
    data = bus.readfrom(0x44, 6)
    assert data == bytes([0x66, 0x66, crc_word(0x6666), 0x80, 0x00, crc_word(0x8000)]), data
    assert clock.now == 15500  # the clock advanced while SCL was held


def test_read_longer_than_data_gives_ff_and_shorter_is_fine():
    clock, chip, bus = _rig()
    bus.writeto(0x44, b"\x37\x80")
    data = bus.readfrom(0x44, 9)
    assert data[6:] == b"\xff\xff\xff"
    assert _word(data, 0) << 16 | _word(data, 3) == chip.serial
    bus.writeto(0x44, b"\xf3\x2d")
    assert bus.readfrom(0x44, 2) == b"\x80\x10"


def test_data_is_consumed_by_a_read():
    clock, chip, bus = _rig()
    bus.writeto(0x44, b"\xf3\x2d")
    bus.readfrom(0x44, 3)
    assert _oserror(lambda: bus.readfrom(0x44, 3)) == 19


def test_durations_without_stretching():
    for cmd, dur in ((b"\x24\x00", 15500), (b"\x24\x0b", 6500), (b"\x24\x16", 4500)):
        clock, chip, bus = _rig()
        bus.writeto(0x44, cmd)
        clock.sleep_us(dur - 1)
        assert _oserror(lambda: bus.readfrom(0x44, 6)) == 19
        assert _oserror(lambda: bus.writeto(0x44, b"\xf3\x2d")) == 19  # busy: no ACK at all
        clock.sleep_us(1)
        assert len(bus.readfrom(0x44, 6)) == 6


def test_periodic_schedule_and_fetch():
    clock, chip, bus = _rig(temperature=lambda ts: ts * 10, humidity=30.0)
    bus.writeto(0x44, b"\x21\x30")  # 1 mps, high repeatability
    clock.sleep_us(15499)
    bus.writeto(0x44, b"\xe0\x00")
    assert _oserror(lambda: bus.readfrom(0x44, 6)) == 19  # nothing completed yet
    clock.sleep_us(1)
    bus.writeto(0x44, b"\xe0\x00")
    first = bus.readfrom(0x44, 6)
    bus.writeto(0x44, b"\xe0\x00")
    assert _oserror(lambda: bus.readfrom(0x44, 6)) == 19  # cleared after the fetch
    clock.sleep_us(3000000)  # three more samples completed; a fetch gives the newest
    bus.writeto(0x44, b"\xe0\x00")
    newest = bus.readfrom(0x44, 6)
    # sample k completes at k s + 15.5 ms: T = 10 * t
    t_first = -45 + 175 * _word(first, 0) / 65535
    t_newest = -45 + 175 * _word(newest, 0) / 65535
    assert abs(t_first - 0.155) < 0.01 and abs(t_newest - 30.155) < 0.01, (t_first, t_newest)


def test_periodic_mode_refuses_idle_commands():
    clock, chip, bus = _rig()
    bus.writeto(0x44, b"\x27\x37")
    for cmd in (b"\x24\x00", b"\x2c\x06", b"\x30\xa2", b"\x37\x80"):
        assert _oserror(lambda: bus.writeto(0x44, cmd)) == 5
    bus.writeto(0x44, b"\xf3\x2d")  # status is still served
    st = _word(bus.readfrom(0x44, 3), 0)
    assert st & 0x0002  # the refused command set the command-status bit
    bus.writeto(0x44, b"\x30\x93")  # break
    bus.writeto(0x44, b"\x30\xa2")  # now the reset is accepted
    bus.writeto(0x44, b"\xf3\x2d")
    assert _word(bus.readfrom(0x44, 3), 0) == STATUS_AFTER_RESET


def test_fetch_in_idle_is_refused():
    clock, chip, bus = _rig()
    assert _oserror(lambda: bus.writeto(0x44, b"\xe0\x00")) == 5


def test_heater_warming_ramps_plateaus_and_cools():
    clock, chip, bus = _rig(temperature=20.0, humidity=50.0)
    bus.writeto(0x44, b"\x30\x6d")
    clock.sleep_us(1000000)
    assert abs(chip.heater_warming_c() - 1.0) < 1e-9
    clock.sleep_us(10000000)
    assert chip.heater_warming_c() == 3.0
    t, h = chip.expected()
    assert abs(t - 23.0) < 1e-9 and abs(h - 50.0 * (1 - 0.18)) < 1e-9
    bus.writeto(0x44, b"\x30\x66")
    clock.sleep_us(2000000)
    assert abs(chip.heater_warming_c() - 1.0) < 1e-9
    clock.sleep_us(2000000)
    assert chip.heater_warming_c() == 0.0


def test_alert_limits_read_write_and_tracking():
    clock, chip, bus = _rig(temperature=25.0, humidity=50.0)
    bus.writeto(0x44, b"\xe1\x1f")
    assert _word(bus.readfrom(0x44, 3), 0) == 0xCD33 == alert_limit_word(80.0, 60.0)
    w = alert_limit_word(80.0, 24.0)  # high set below the current temperature
    bus.writeto(0x44, bytes([0x61, 0x1D, w >> 8, w & 0xFF, crc_word(w)]))
    bus.writeto(0x44, b"\x2c\x06")
    bus.readfrom(0x44, 6)
    bus.writeto(0x44, b"\xf3\x2d")
    st = _word(bus.readfrom(0x44, 3), 0)
    assert st & 0x8400 == 0x8400 and not st & 0x0800  # T alert + alert pending, no RH alert
    bad = bytes([0x61, 0x1D, w >> 8, w & 0xFF, crc_word(w) ^ 1])
    assert _oserror(lambda: bus.writeto(0x44, bad)) == 5
    bus.writeto(0x44, b"\xf3\x2d")
    assert _word(bus.readfrom(0x44, 3), 0) & 0x0003 == 0x0003  # write checksum + command status


def test_general_call_reset():
    clock, chip, bus = _rig()
    bus.writeto(0x44, b"\x30\x41")  # clear status
    bus.writeto(0x44, b"\x27\x37")  # periodic
    bus.writeto(0x00, b"\x06")
    bus.writeto(0x44, b"\xf3\x2d")
    assert _word(bus.readfrom(0x44, 3), 0) == STATUS_AFTER_RESET
    bus.writeto(0x44, b"\x24\x00")  # idle again: single shot accepted


def test_unknown_command_nacked_and_flagged():
    clock, chip, bus = _rig()
    assert _oserror(lambda: bus.writeto(0x44, b"\xab\xcd")) == 5
    bus.writeto(0x44, b"\xf3\x2d")
    assert _word(bus.readfrom(0x44, 3), 0) & 0x0002


def test_faults_and_log():
    clock, chip, bus = _rig()
    assert bus.scan() == [0x44]
    bus.nack_next(1)
    assert _oserror(lambda: bus.writeto(0x44, b"\xf3\x2d")) == 19
    bus.bus_error_next(1)
    assert _oserror(lambda: bus.writeto(0x44, b"\xf3\x2d")) == 5
    bus.writeto(0x44, b"\xf3\x2d")
    chip.corrupt_next_crcs(1)
    data = bus.readfrom(0x44, 3)
    assert data[2] != crc_word(_word(data, 0))
    assert [e[3] for e in bus.log] == ["nack", "error", "ack", "ack"]
    assert bus.log[2] == ("write", 0x44, b"\xf3\x2d", "ack")
    assert bus.transactions == 4
    chip.present = False
    assert bus.scan() == []
    assert _oserror(lambda: bus.writeto(0x44, b"")) == 19  # probe of an absent device
    assert _oserror(lambda: bus.writeto(0x45, b"")) == 19


def test_busio_window_and_writeto_then_readfrom():
    clock, chip, bus = _rig()
    out = bytearray(b"xx\xf3\x2dyy")
    buf = bytearray(8)
    bus.writeto_then_readfrom(0x44, out, buf, out_start=2, out_end=4, in_start=1, in_end=4)
    assert buf[0] == 0 and _word(buf, 1) == STATUS_AFTER_RESET and buf[4:] == bytes(4)


def test_views_expose_one_flavour_each():
    clock, chip, bus = _rig()
    m = bus.as_machine_i2c()
    assert not hasattr(m, "try_lock") and m.scan() == [0x44]
    b = bus.as_busio_i2c()
    try:
        b.writeto(0x44, b"\xf3\x2d")
    except RuntimeError:
        pass
    else:
        raise AssertionError("busio view must require the lock")
    assert b.try_lock()
    assert not bus.as_busio_i2c().try_lock()  # someone else holds it
    b.writeto(0x44, b"\xf3\x2d")
    buf = bytearray(3)
    b.readfrom_into(0x44, buf, end=3)
    b.unlock()
    assert _word(buf, 0) == STATUS_AFTER_RESET
