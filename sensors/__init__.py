"""I2C sensor drivers and a byte-exact simulator. Knows nothing of crypto or networks.

The ``Sensor`` protocol -- what the telemetry partition needs from a sensor object:

- ``measure()`` -> ``(temperature_c, humidity_pct)``: one fresh reading, floats; raises
  ``sensors.sht31.SensorError`` (an ``OSError``) when the chip cannot be read.
- ``serial_number`` -> int: the chip's identity (stable across readings).

Implemented by ``sensors.sht31.SHT31`` (MicroPython machine.I2C/SoftI2C, CircuitPython
busio.I2C) and by ``sensors.adafruit.AdafruitSHT31D`` (wraps a user's existing
``adafruit_sht31d.SHT31D`` object). Modules: ``sensors.sht31`` (driver), ``sensors.sim``
(simulator), ``sensors.adafruit`` (adapter).
"""


def is_sensor(obj):
    """True when ``obj`` offers the Sensor protocol: a callable ``measure`` and a
    ``serial_number`` (checked without reading it, so no bus traffic)."""
    if not callable(getattr(obj, "measure", None)):
        return False
    return hasattr(type(obj), "serial_number") or "serial_number" in getattr(obj, "__dict__", {})
