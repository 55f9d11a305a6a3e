"""Adafruit's own adafruit_sht31d.SHT31D against SimI2C reads what our driver reads.

Proof that the simulator behaves like the chip as a driver we did not write expects:
Adafruit's driver (and adafruit_bus_device's I2CDevice, which probes the address and
locks the bus) runs unmodified against the busio view of SimI2C. It sleeps with the real
time.sleep, so the chip uses a RealClock (advance_us skips long waits).
"""

import adafruit_sht31d  # the test extra installs it; missing it is a failure, not a skip
import pytest

from sensors.adafruit import AdafruitSHT31D
from sensors.sht31 import (
    REPEATABILITY_HIGH,
    REPEATABILITY_LOW,
    REPEATABILITY_MEDIUM,
    SHT31,
    SensorError,
)
from sensors.sim import RealClock, SimI2C, SimulatedSHT31

REPS = (
    (adafruit_sht31d.REP_HIGH, REPEATABILITY_HIGH),
    (adafruit_sht31d.REP_MED, REPEATABILITY_MEDIUM),
    (adafruit_sht31d.REP_LOW, REPEATABILITY_LOW),
)
QUANTUM_T = 175 / 65535  # one raw step; equal raw words give readings far closer than this


def rig(temperature=23.456, humidity=56.789, serial=0x0BADCAFE):
    clock = RealClock()
    chip = SimulatedSHT31(temperature=temperature, humidity=humidity, serial=serial, clock=clock)
    bus = SimI2C([chip])
    ada = adafruit_sht31d.SHT31D(bus.as_busio_i2c())  # probes, breaks, soft-resets
    ours = SHT31(bus.as_busio_i2c())
    return clock, chip, bus, ada, ours


def same(a, b):
    return abs(a - b) < 1e-9


def test_adafruit_constructor_talks_to_the_sim():
    clock, chip, bus, ada, ours = rig()
    # probe (empty write), break, soft reset -- all acknowledged
    assert [e[:2] for e in bus.log[:3]] == [("write", 0x44)] * 3
    assert bus.log[0][2] == b"" and chip.commands == [0x3093, 0x30A2]


@pytest.mark.parametrize("stretch", [False, True])
@pytest.mark.parametrize("ada_rep,our_rep", REPS)
def test_single_shot_same_values(ada_rep, our_rep, stretch):
    clock, chip, bus, ada, ours = rig()
    ada.repeatability = ada_rep
    ada.clock_stretching = stretch
    ours.repeatability = our_rep
    ours.clock_stretching = stretch
    t_ada, rh_ada = ada._read()
    t, rh = ours.measure()
    assert same(t, t_ada) and same(rh, rh_ada), (t, t_ada, rh, rh_ada)
    assert same(ada.temperature, t) and same(ada.relative_humidity, rh)
    assert abs(t - 23.456) <= QUANTUM_T and abs(rh - 56.789) <= 100 / 65535
    singles = [c for c in chip.commands if c >> 8 in (0x24, 0x2C)]
    assert len(set(singles)) == 1  # both drivers sent the same single-shot command


def test_periodic_same_values():
    clock, chip, bus, ada, ours = rig()
    ada.frequency = adafruit_sht31d.FREQUENCY_10
    ada.mode = adafruit_sht31d.MODE_PERIODIC
    assert chip.commands[-1] == 0x2737
    clock.advance_us(20000)  # the first sample is ready after 15.5 ms
    t_ada, rh_ada = ada.temperature, ada.relative_humidity  # one fetch (48-byte read), then cached
    reads = [e for e in bus.log if e[0] == "read"]
    assert len(reads[-1][2]) == 48 and reads[-1][2][6:] == b"\xff" * 42  # beyond the data: 0xFF
    ada.mode = adafruit_sht31d.MODE_SINGLE  # break
    ours.start_periodic(10)
    clock.advance_us(20000)
    t, rh = ours.fetch()
    assert same(t, t_ada) and same(rh, rh_ada), (t, t_ada)
    assert ours.fetch() is None  # no new data until the next period
    ours.stop_periodic()


def test_art_command_same_as_adafruit():
    clock, chip, bus, ada, ours = rig()
    ada.art = True
    ada.mode = adafruit_sht31d.MODE_PERIODIC
    # Adafruit sends ART, then (its loop also matches 4 Hz/high) 0x2334 after it
    assert 0x2B32 in chip.commands
    ada.mode = adafruit_sht31d.MODE_SINGLE
    ours.start_periodic(art=True)
    assert chip.commands[-1] == 0x2B32


def test_heater_same_values_and_status():
    clock, chip, bus, ada, ours = rig()
    t0, _ = ours.measure()
    ada.heater = True
    assert ada.heater is True and ours.heater is True
    clock.advance_us(5000000)  # the heater's plateau (+3 degC): a stable reading
    t_ada, rh_ada = ada._read()
    t, rh = ours.measure()
    assert same(t, t_ada) and same(rh, rh_ada)
    assert 2.9 < t - t0 < 3.1
    ours.heater = False
    assert ada.heater is False and ours.heater is False


def test_status_same_word():
    clock, chip, bus, ada, ours = rig()
    assert ada.status == ours.read_status() == 0x8010  # after Adafruit's soft reset
    ours.clear_status()
    assert ada.status == ours.read_status() == 0x0000
    ada.heater = True
    assert ada.status == ours.read_status() == 0x2000
    assert ours.status.heater


def test_serial_number_same():
    clock, chip, bus, ada, ours = rig(serial=0xDEADBEEF)
    assert ada.serial_number == ours.serial_number == 0xDEADBEEF


def test_adafruit_sees_sim_crc_faults_and_absent_device():
    clock, chip, bus, ada, ours = rig()
    chip.corrupt_next_crcs(1)
    with pytest.raises(RuntimeError, match="CRC"):
        ada._read()
    chip.present = False
    with pytest.raises(ValueError, match="No I2C device"):
        adafruit_sht31d.SHT31D(bus.as_busio_i2c())


def test_adapter_serves_as_sensor():
    from sensors import is_sensor

    clock, chip, bus, ada, ours = rig(serial=0x01020304)
    sensor = AdafruitSHT31D(ada)
    assert is_sensor(sensor)
    t, rh = sensor.measure()
    assert same((t, rh)[0], ours.measure()[0])
    assert sensor.serial_number == 0x01020304
    chip.corrupt_next_crcs(2)
    with pytest.raises(SensorError, match="0x44"):
        sensor.measure()
    # periodic: Adafruit returns its newest reading; the adapter passes it on
    ada.mode = adafruit_sht31d.MODE_PERIODIC
    clock.advance_us(300000)
    t2, rh2 = sensor.measure()
    assert same(t2, t)


def test_adapter_turns_an_empty_adafruit_reading_into_sensor_error():
    class Empty:  # what adafruit_sht31d hands back from an empty periodic fetch or an unfilled cache
        def __init__(self, value):
            self.value = value

        def _read(self):
            return self.value, self.value

    for value in ([], None):
        with pytest.raises(SensorError, match="no reading"):
            AdafruitSHT31D(Empty(value)).measure()
