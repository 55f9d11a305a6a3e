"""Telemetry partition (both lanes): SenML records, sensor info, configuration, faults.

These boot only ITS and telemetry (with a fixed base name) to keep the MicroPython heap
small; test_telemetry_attested.py boots the whole set (base name from the instance id).
"""

import time

from sensors.sht31 import SHT31
from sensors.sim import SimClock, SimI2C, SimulatedSHT31
from device import cbor, psa, senml
from device.psa import telemetry as TL
from device.psa import spm
from device.partitions import telemetry as tp
from tests.device import attest_fixtures as af

NOW = 1764160000


def _sim(temperature=21.37, humidity=55.55):
    clock = SimClock()
    chip = SimulatedSHT31(temperature=temperature, humidity=humidity, serial=0xC0FFEE01, clock=clock)
    bus = SimI2C([chip], log=False)
    return chip, bus, SHT31(bus, sleep_us=clock.sleep_us)


BASE = "urn:dev:ow:10e2073a01080063:"


def _boot(**config):
    """ITS + telemetry only, with a fixed base name (no attestation needed)."""
    chip, bus, sensor = _sim()
    config.setdefault("clock", lambda: NOW)
    config.setdefault("telemetry_base_name", BASE)
    root = af.boot(False, sensor=sensor, partitions=["its", "telemetry"], **config)
    return root, chip, bus, sensor


def test_reading_is_senml_with_the_documented_shape():
    root, chip, bus, sensor = _boot()
    try:
        pack = TL.telemetry_read()
        recs = cbor.loads(pack)
        assert isinstance(recs, list) and len(recs) == 2
        t, h = recs
        assert sorted(t.keys()) == [-3, -2, 0, 1, 2] and sorted(h.keys()) == [0, 1, 2]
        assert t[-2] == BASE
        assert t[-3] == NOW
        assert (t[0], t[1], h[0], h[1]) == ("T", "Cel", "RH", "%RH")
        want_t, want_h = chip.expected()
        assert abs(t[2] - want_t) <= 0.01 and abs(h[2] - want_h) <= 0.01
        # resolved (RFC 8428 §4.6): base name + name, base time
        r = senml.resolve(pack)
        assert [x["n"] for x in r] == [t[-2] + "T", t[-2] + "RH"]
        assert [x["t"] for x in r] == [NOW, NOW]
        assert len(pack) <= TL.TELEMETRY_READING_MAX_SIZE
    finally:
        af.done(root)


def test_base64url_is_rfc_4648_section_5():
    assert tp.base64url(b"") == ""
    assert tp.base64url(b"f") == "Zg"
    assert tp.base64url(b"foobar") == "Zm9vYmFy"
    assert tp.base64url(b"\xfb\xff\xbf") == "-_-_"


def test_values_follow_the_sensor():
    root, chip, bus, sensor = _boot()
    try:
        for temp, hum in ((-12.5, 3.2), (0.0, 100.0), (84.99, 0.0), (25.03, 47.77)):
            chip.temperature = temp
            chip.humidity = hum
            base, rs = senml.readings(TL.telemetry_read())
            want_t, want_h = chip.expected()
            assert abs(rs[0][1] / 100 - want_t) <= 0.01, (rs, want_t)
            assert abs(rs[0][2] / 100 - want_h) <= 0.01, (rs, want_h)
    finally:
        af.done(root)


def test_default_clock_is_unix_time():
    root, chip, bus, sensor = _boot(clock=None)
    try:
        del_t = senml.resolve(TL.telemetry_read())[0]["t"]
        now = time.time()
        if time.gmtime(0)[0] == 2000:
            now += 946684800
        assert abs(del_t - now) < 5 and del_t > 1700000000
    finally:
        af.done(root)


def test_transient_fault_is_retried_persistent_fault_is_hardware_failure():
    root, chip, bus, sensor = _boot()
    try:
        # a reading checks 2 CRCs; the driver makes 3 attempts, the partition asks it twice:
        # 8 bad CRCs in a row (4 failed attempts) still give a reading
        chip.corrupt_next_crcs(8)
        TL.telemetry_read()
        chip.corrupt_next_crcs(100)
        assert af.raises_status(TL.telemetry_read) == psa.PSA_ERROR_HARDWARE_FAILURE
        assert "CRC" in tp.last_failure
        chip.corrupt_next_crcs(0)
        chip.present = False
        buf = bytearray(TL.TELEMETRY_READING_MAX_SIZE)
        assert af.raises_status(TL.telemetry_read_into, buf) == psa.PSA_ERROR_HARDWARE_FAILURE
        assert buf == bytearray(len(buf))  # never a partial record
        assert af.raises_status(TL.telemetry_sensor_info) == psa.PSA_ERROR_HARDWARE_FAILURE
        chip.present = True
        n = TL.telemetry_read_into(buf)
        assert senml.readings(bytes(buf[:n]))[1][0][0] == NOW
        info = TL.telemetry_sensor_info()
        assert info["failures"] == 2 and info["readings"] == 2
        bus.bus_error_next(50)
        assert af.raises_status(TL.telemetry_read) == psa.PSA_ERROR_HARDWARE_FAILURE
    finally:
        af.done(root)


def test_no_retries_when_configured_so():
    root, chip, bus, sensor = _boot()
    try:
        TL.telemetry_set_config({"retries": 0})
        chip.corrupt_next_crcs(6)  # the driver's own 3 attempts all fail
        assert af.raises_status(TL.telemetry_read) == psa.PSA_ERROR_HARDWARE_FAILURE
        TL.telemetry_read()
    finally:
        af.done(root)


def test_sensor_info():
    root, chip, bus, sensor = _boot()
    try:
        info = TL.telemetry_sensor_info()
        assert info["model"] == "SHT3x-DIS" and info["serial"] == 0xC0FFEE01 and info["address"] == 0x44
        assert info["status"] == 0x8010 and info["alert_pending"] and info["reset_detected"]
        assert not info["heater"] and info["readings"] == 0 and info["failures"] == 0
    finally:
        af.done(root)


def test_sampling_config_validated_applied_and_kept():
    root, chip, bus, sensor = _boot()
    try:
        assert TL.telemetry_get_config() == tp.DEFAULT_CONFIG
        new = TL.telemetry_set_config({"repeatability": "low", "interval_s": 60})
        assert new["repeatability"] == "low" and new["interval_s"] == 60 and new["retries"] == 1
        assert sensor.repeatability == 2  # REPEATABILITY_LOW reached the driver
        for bad in ({"repeatability": "best"}, {"interval_s": 0}, {"interval_s": True}, {"retries": 9},
                    {"clock_stretching": 1}, {"colour": "red"}):
            assert af.raises_status(TL.telemetry_set_config, bad) == psa.PSA_ERROR_INVALID_ARGUMENT
        assert TL.telemetry_get_config() == new
        out = psa.psa_outvec(64)
        for raw in (b"", b"\xff", cbor.dumps([1, 2]), bytes(200)):
            st = psa.psa_call(TL.TELEMETRY_HANDLE, TL.TELEMETRY_SET_CONFIG, (raw,), (out,))
            assert st == psa.PSA_ERROR_INVALID_ARGUMENT
        # kept in ITS: a reboot with the same storage keeps the configuration
        spm.configure(storage_root=root, partitions=["its", "telemetry"], sensor=sensor, clock=lambda: NOW,
                      telemetry_base_name=BASE)
        assert TL.telemetry_get_config() == new
    finally:
        af.done(root)


def test_no_attestation_service_is_bad_state():
    root, chip, bus, sensor = _boot(telemetry_base_name=None)
    try:
        assert af.raises_status(TL.telemetry_read) == psa.PSA_ERROR_BAD_STATE
        # info and configuration need no identity
        assert TL.telemetry_sensor_info()["serial"] == 0xC0FFEE01
    finally:
        af.done(root)


def test_small_buffer_and_bad_call():
    root, chip, bus, sensor = _boot()
    try:
        pack = TL.telemetry_read()
        assert af.raises_status(TL.telemetry_read_into, bytearray(len(pack) - 1)) == psa.PSA_ERROR_BUFFER_TOO_SMALL
        out = psa.psa_outvec(8)
        assert psa.psa_call(TL.TELEMETRY_HANDLE, 1999, (), (out,)) == psa.PSA_ERROR_NOT_SUPPORTED
        assert psa.psa_call(TL.TELEMETRY_HANDLE, TL.TELEMETRY_GET_CONFIG, (), (out,)) == psa.PSA_ERROR_BUFFER_TOO_SMALL
    finally:
        af.done(root)


def test_works_without_its_or_attestation():
    chip, bus, sensor = _sim()
    spm.configure(storage_root="/tmp/psa-unused", partitions=["telemetry"], sensor=sensor, clock=lambda: NOW,
                  telemetry_base_name=BASE)
    assert senml.readings(TL.telemetry_read())[0] == BASE
    assert TL.telemetry_set_config({"retries": 3})["retries"] == 3  # kept for this boot only
