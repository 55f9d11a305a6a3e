"""Telemetry partition (SENSORKIT_SP_TELEMETRY, APPLICATION-ROT, pid 444, SID 0xFFFFF001).

The secure partition of the seed demo that owns the SHT31-D: it alone talks to the I2C
bus, and hands non-secure code finished SenML-CBOR records (device/senml.py), never raw
bus access. Stateless service, version 1, STRICT, stateless handle index 5.

Calls (device/psa/telemetry.py has the NS wrappers):

- TELEMETRY_READ (1001): out_vec[0] <- one reading, a SenML pack (RFC 8428 §6):
  ``[{-2: "<instance id, base64url>:", -3: time, 0: "T", 1: "Cel", 2: t},
  {0: "RH", 1: "%RH", 2: rh}]`` (at most TELEMETRY_READING_MAX_SIZE bytes).
- TELEMETRY_SENSOR_INFO (1002): out_vec[0] <- CBOR map: model, address, serial, status
  word and its decoded bits, readings and failures counted since boot.
- TELEMETRY_GET_CONFIG (1003): out_vec[0] <- CBOR map of the sampling configuration.
- TELEMETRY_SET_CONFIG (1004): in_vec[0] = CBOR map of the keys to change; out_vec[0]
  (optional) <- the whole new configuration. Kept in ITS (this partition's namespace).

Sampling configuration: ``repeatability`` ("high" | "medium" | "low"), ``clock_stretching``
(bool), ``retries`` (0..5: extra attempts after the driver's own CRC/NACK retries),
``interval_s`` (1..86400: the schedule the app measures on).

Statuses: PSA_ERROR_HARDWARE_FAILURE when the sensor still fails after the retries (or
there is none) -- never a partial record; PSA_ERROR_BUFFER_TOO_SMALL; PSA_ERROR_INVALID_ARGUMENT
(bad configuration); PSA_ERROR_BAD_STATE when the device has no instance id yet (the base
name needs it: provision the device); PSA_ERROR_NOT_SUPPORTED for another call type.

Config keys (spm.configure): ``sensor`` (an object with the Sensor protocol: measure(),
serial_number; tests inject a simulated one), else ``board`` (its make_sensor()), else the
simulator (a host); ``clock`` (a function returning Unix seconds; default time.time(),
corrected on ports whose epoch is 2000); ``telemetry_base_name`` (overrides the base name).
"""

import time

from device import cbor, psa
from device.compat import const
from device.psa.service import psa_read, psa_write

TELEMETRY_SID = 0xFFFFF001
MANIFEST = {
    "name": "SENSORKIT_SP_TELEMETRY",
    "pid": 444,
    "type": "APPLICATION-ROT",
    "priority": "NORMAL",
    "model": "SFN",
    "services": [
        {
            "name": "SENSORKIT_TELEMETRY_SERVICE",
            "sid": TELEMETRY_SID,
            "non_secure_clients": True,
            "version": 1,
            "version_policy": "STRICT",
            "connection_based": False,
            "stateless_handle": 5,
        }
    ],
}

TELEMETRY_READ = const(1001)
TELEMETRY_SENSOR_INFO = const(1002)
TELEMETRY_GET_CONFIG = const(1003)
TELEMETRY_SET_CONFIG = const(1004)
TELEMETRY_READING_MAX_SIZE = const(128)

CONFIG_UID = const(0x544C4D43)  # "TLMC", in this partition's ITS namespace
_MAX_CONFIG_IN = const(128)
_EPOCH_2000 = const(946684800)  # seconds from 1970-01-01 to 2000-01-01
REPEATABILITY = ("high", "medium", "low")  # index = sensors.sht31.REPEATABILITY_*
DEFAULT_CONFIG = {"repeatability": "high", "clock_stretching": False, "retries": 1, "interval_s": 10}

_sensor = None
_sensor_error = None  # why there is no sensor
_clock = None
_base = None  # SenML base name, once known
_base_override = None
_settings = None
_config = {}
_counts = [0, 0]  # readings, failures since boot
_centi = [0, 0]
_buf = bytearray(TELEMETRY_READING_MAX_SIZE)
last_failure = None  # the last sensor error (S-side diagnostics)


def _unix_time():
    try:
        epoch_2000 = time.gmtime(0)[0] == 2000
    except (AttributeError, OverflowError, OSError):
        epoch_2000 = False
    offset = _EPOCH_2000 if epoch_2000 else 0

    def now():
        return int(time.time()) + offset

    return now


def _make_sensor(config):
    s = config.get("sensor")
    if s is not None:
        return s
    board = config.get("board")
    if board is not None and hasattr(board, "make_sensor"):
        return board.make_sensor()
    from sensors.sht31 import SHT31
    from sensors.sim import SimI2C, SimulatedSHT31

    chip = SimulatedSHT31()
    chip.record_commands = False  # the partition runs for ever: no list of every command word
    return SHT31(SimI2C([chip], log=False))


def init(config):
    """Boot: make the sensor (no bus traffic yet), load the sampling configuration."""
    global _sensor, _sensor_error, _clock, _base, _base_override, _settings, _config, last_failure
    _counts[0] = _counts[1] = 0
    _base = None
    _base_override = config.get("telemetry_base_name")
    _clock = config.get("clock") or _unix_time()
    last_failure = None
    _sensor = None  # made on first use: no imports or bus traffic at boot
    _sensor_error = None
    _config = config
    _settings = dict(DEFAULT_CONFIG)
    if not _have_its():
        return  # a partition set without ITS: the defaults, not kept
    from device.psa import its

    try:
        stored = cbor.loads(its.psa_its_get(CONFIG_UID))
        if _validate(stored) is None:
            _settings.update(stored)
    except (psa.PSAError, ValueError):
        pass  # nothing stored (or unreadable): the defaults


def _have_its():
    return psa.psa_version(0x70) != psa.PSA_VERSION_NONE


def _get_sensor():
    """The sensor, made on first use (None when it cannot be made: _sensor_error says why)."""
    global _sensor, _sensor_error
    if _sensor is None and _sensor_error is None:
        try:
            _sensor = _make_sensor(_config)
        except (OSError, ImportError, ValueError) as e:
            _sensor_error = "no sensor: %r" % (e,)
        else:
            _apply(_sensor)
    return _sensor


def _validate(changes):
    """None when `changes` is a valid partial configuration, else the reason (str)."""
    if not isinstance(changes, dict):
        return "configuration must be a map"
    for k in changes:
        v = changes[k]
        if k == "repeatability":
            if v not in REPEATABILITY:
                return "repeatability must be high, medium or low"
        elif k == "clock_stretching":
            if not isinstance(v, bool):
                return "clock_stretching must be a bool"
        elif k == "retries":
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 5:
                return "retries must be 0..5"
        elif k == "interval_s":
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 86400:
                return "interval_s must be 1..86400"
        else:
            return "unknown configuration key %r" % (k,)
    return None


def _apply(s):
    """The sampling configuration onto the driver (what it has of it)."""
    if s is None:
        return
    if hasattr(s, "repeatability"):
        s.repeatability = REPEATABILITY.index(_settings["repeatability"])
    if hasattr(s, "clock_stretching"):
        s.clock_stretching = _settings["clock_stretching"]


def _base_name():
    """The base name "<instance id, base64url>:" (from an attestation token, once per boot)."""
    global _base
    if _base_override is not None:
        return _base_override
    if _base is None:
        from device.psa import attest

        if psa.psa_version(attest.TFM_ATTESTATION_SERVICE_SID) == psa.PSA_VERSION_NONE:
            return None  # no attestation service in this partition set
        from device.partitions.attest.token import CLAIM_KEYS

        try:
            tok = attest.psa_initial_attest_get_token(bytes(32))
            payload = cbor.loads(cbor.loads(tok).value[2])
        except (psa.PSAError, ValueError, AttributeError, IndexError, TypeError):
            return None
        iid = payload.get(CLAIM_KEYS["instance_id"][0])
        if iid is None:
            iid = payload.get(CLAIM_KEYS["instance_id"][1])
        if not isinstance(iid, bytes):
            return None
        _base = base64url(iid) + ":"
    return _base


def base64url(data):
    """RFC 4648 §5 base64url without padding (SenML names allow "-" and "_", not "+/=")."""
    import binascii

    s = binascii.b2a_base64(data).decode().strip().rstrip("=")
    return s.replace("+", "-").replace("/", "_")


def _measure():
    """Fill _centi from the sensor with retries: PSA_SUCCESS or PSA_ERROR_HARDWARE_FAILURE."""
    global last_failure
    s = _get_sensor()
    if s is None:
        last_failure = _sensor_error
        _counts[1] += 1
        return psa.PSA_ERROR_HARDWARE_FAILURE
    for _ in range(_settings["retries"] + 1):
        try:
            if hasattr(s, "measure_into"):
                s.measure_into(_centi)
            else:
                t, rh = s.measure()
                _centi[0] = int(round(t * 100))
                _centi[1] = int(round(rh * 100))
            _counts[0] += 1
            return psa.PSA_SUCCESS
        except OSError as e:  # SensorError is an OSError; so are bus errors
            last_failure = "%r" % (e,)
    _counts[1] += 1
    return psa.PSA_ERROR_HARDWARE_FAILURE


def _read(msg):
    base = _base_name()
    if base is None:
        return psa.PSA_ERROR_BAD_STATE
    status = _measure()
    if status != psa.PSA_SUCCESS:
        return status
    from device import senml  # imported on first reading: a boot without readings never loads it

    try:
        n = senml.encode_reading(base, int(_clock()), _centi[0], _centi[1], _buf)
    except ValueError:  # a base name too long for the buffer
        return psa.PSA_ERROR_INSUFFICIENT_MEMORY
    if msg.out_size[0] < n:
        return psa.PSA_ERROR_BUFFER_TOO_SMALL
    psa_write(msg, 0, memoryview(_buf)[:n])
    return psa.PSA_SUCCESS


def _info():
    s = _get_sensor()
    if s is None:
        return None
    try:
        info = {"model": "SHT3x-DIS", "serial": s.serial_number, "readings": _counts[0], "failures": _counts[1]}
        if hasattr(s, "address"):
            info["address"] = s.address
        if hasattr(s, "read_status"):
            from sensors.sht31 import Status  # the driver's own decoding of the status word

            st = Status(s.read_status())
            info["status"] = st.raw
            info["alert_pending"] = st.alert_pending
            info["heater"] = st.heater
            info["rh_alert"] = st.rh_alert
            info["t_alert"] = st.t_alert
            info["reset_detected"] = st.reset_detected
        return info
    except OSError as e:
        global last_failure
        last_failure = "%r" % (e,)
        return None


def _reply(msg, obj):
    data = cbor.dumps(obj)
    if msg.out_size[0] < len(data):
        return psa.PSA_ERROR_BUFFER_TOO_SMALL
    psa_write(msg, 0, data)
    return psa.PSA_SUCCESS


def _set_config(msg):
    n = msg.in_size[0]
    if n == 0 or n > _MAX_CONFIG_IN:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    try:
        changes = cbor.loads(psa_read(msg, 0, n))
    except ValueError:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    if _validate(changes) is not None:
        return psa.PSA_ERROR_INVALID_ARGUMENT
    new = dict(_settings)
    new.update(changes)
    if _have_its():
        from device.psa import its

        try:
            its.psa_its_set(CONFIG_UID, cbor.dumps(new))
        except psa.PSAError as e:
            return e.status
    _settings.update(new)
    _apply(_get_sensor())
    if msg.out_size[0]:
        return _reply(msg, _settings)
    return psa.PSA_SUCCESS


def sensorkit_telemetry_service_sfn(msg):
    t = msg.type
    if t == TELEMETRY_READ:
        return _read(msg)
    if t == TELEMETRY_SENSOR_INFO:
        info = _info()
        if info is None:
            return psa.PSA_ERROR_HARDWARE_FAILURE
        return _reply(msg, info)
    if t == TELEMETRY_GET_CONFIG:
        return _reply(msg, _settings)
    if t == TELEMETRY_SET_CONFIG:
        return _set_config(msg)
    return psa.PSA_ERROR_NOT_SUPPORTED
