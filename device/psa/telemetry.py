"""NS wrappers for the telemetry partition (SID 0xFFFFF001), one psa_call each.

    from device.psa import telemetry
    pack = telemetry.telemetry_read()          # bytes: one reading as SenML-CBOR
    n = telemetry.telemetry_read_into(buf)     # the same into a reused bytearray; -> size
    telemetry.telemetry_sensor_info()          # {"model": "SHT3x-DIS", "serial": ..., ...}
    telemetry.telemetry_get_config()           # {"repeatability": "high", "interval_s": 10, ...}
    telemetry.telemetry_set_config({"interval_s": 30})   # -> the whole new configuration

Non-secure code never touches the I2C bus: the partition owns the sensor. Failures raise
PSAError with .status: PSA_ERROR_HARDWARE_FAILURE (the sensor failed after the retries;
no record is returned), PSA_ERROR_BAD_STATE (not provisioned: no instance id for the
base name), PSA_ERROR_INVALID_ARGUMENT (bad configuration), PSA_ERROR_BUFFER_TOO_SMALL.
The record layout and the batch format are in docs/telemetry.md (device/senml.py).
"""

from device import cbor, psa
from device.psa import PSAError, psa_outvec

TELEMETRY_SID = 0xFFFFF001
TELEMETRY_VERSION = 1
TELEMETRY_HANDLE = 0x40000104  # (1 << 30) | (1 << 8) | (5 - 1)
TELEMETRY_READ = 1001
TELEMETRY_SENSOR_INFO = 1002
TELEMETRY_GET_CONFIG = 1003
TELEMETRY_SET_CONFIG = 1004
TELEMETRY_READING_MAX_SIZE = 128
_MAP_MAX = 256

_H = TELEMETRY_HANDLE
_DETAIL = {
    psa.PSA_ERROR_HARDWARE_FAILURE: "the sensor failed (after retries); no reading",
    psa.PSA_ERROR_BAD_STATE: "no instance id for the SenML base name: provision the device (sensorkit provision)",
    psa.PSA_ERROR_INVALID_ARGUMENT: "invalid sampling configuration",
    psa.PSA_ERROR_BUFFER_TOO_SMALL: "buffer too small for the reply",
}


def _check(status):
    if status != psa.PSA_SUCCESS:
        raise PSAError(status, _DETAIL.get(status))


def telemetry_read_into(buf):
    """Take a reading; its SenML pack goes into `buf` (bytearray). Returns its size."""
    out = psa_outvec(buf)
    _check(psa.psa_call(_H, TELEMETRY_READ, (), (out,)))
    return out.len


def telemetry_read():
    """Take a reading: one SenML-CBOR pack (bytes) with temperature and humidity."""
    buf = bytearray(TELEMETRY_READING_MAX_SIZE)
    n = telemetry_read_into(buf)
    return bytes(memoryview(buf)[:n])


def _map_call(type, in_vec=()):
    out = psa_outvec(_MAP_MAX)
    _check(psa.psa_call(_H, type, in_vec, (out,)))
    try:
        return cbor.loads(bytes(memoryview(out.base)[: out.len]))
    except ValueError:
        raise PSAError(psa.PSA_ERROR_COMMUNICATION_FAILURE, "malformed reply from the telemetry service")


def telemetry_sensor_info():
    """Sensor info (dict): model, address, serial, status word and bits, reading/failure counts."""
    return _map_call(TELEMETRY_SENSOR_INFO)


def telemetry_get_config():
    """The sampling configuration (dict): repeatability, clock_stretching, retries, interval_s."""
    return _map_call(TELEMETRY_GET_CONFIG)


def telemetry_set_config(changes):
    """Change some of the sampling configuration (a dict); returns the whole new configuration."""
    if not isinstance(changes, dict):
        raise PSAError(psa.PSA_ERROR_INVALID_ARGUMENT, "changes must be a dict")
    return _map_call(TELEMETRY_SET_CONFIG, (cbor.dumps(changes),))
