"""Telemetry with the whole default partition set (both lanes): the SenML base name carries
the instance id the attestation partition reports."""

# every partition's modules first, while the heap is in one piece (the .py lane compiles them);
# senml too, which the telemetry partition imports on its first reading
from device.psa import spm as _spm
from device.partitions.crypto import service as _crypto_service  # noqa: F401
from device.partitions.attest import measure as _measure  # noqa: F401
from device import senml as _senml  # noqa: F401

_spm.default_partitions()
from sensors.sht31 import SHT31
from sensors.sim import SimClock, SimI2C, SimulatedSHT31
from device import cbor, psa
from device.psa import telemetry as TL
from device.partitions import telemetry as tp
from device.partitions.attest.token import instance_id_from_iak
from tests.device import attest_fixtures as af

NOW = 1764160000


def _boot_attested(provisioned=True, iak=af.IAK):
    clock = SimClock()
    chip = SimulatedSHT31(temperature=21.37, humidity=55.55, serial=0xC0FFEE01, clock=clock)
    sensor = SHT31(SimI2C([chip], log=False), sleep_us=clock.sleep_us)
    return af.boot(provisioned, iak=iak, sensor=sensor, clock=lambda: NOW)


def test_the_base_name_carries_the_instance_id_from_attestation():
    root = _boot_attested(iak=b"\x5a" * 32)  # real software measurements too
    try:
        pack = TL.telemetry_read()
        want = tp.base64url(instance_id_from_iak(b"\x5a" * 32)) + ":"
        assert cbor.loads(pack)[0][-2] == want and len(want) == 45
        assert len(pack) <= TL.TELEMETRY_READING_MAX_SIZE
        # the base name is learnt once per boot: a second reading asks for no new token
        assert cbor.loads(TL.telemetry_read())[0][-2] == want
    finally:
        af.done(root)


def test_not_provisioned_is_bad_state():
    root = _boot_attested(provisioned=False)
    try:
        assert af.raises_status(TL.telemetry_read) == psa.PSA_ERROR_BAD_STATE
        assert TL.telemetry_sensor_info()["serial"] == 0xC0FFEE01
    finally:
        af.done(root)
