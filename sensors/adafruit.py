"""Adapter: a user's existing ``adafruit_sht31d.SHT31D`` object as a ``Sensor``.

On CircuitPython a project may already own an ``adafruit_sht31d.SHT31D``; wrap it so the
telemetry partition can use it like ``sensors.sht31.SHT31``::

    import board, adafruit_sht31d
    from sensors.adafruit import AdafruitSHT31D
    sensor = AdafruitSHT31D(adafruit_sht31d.SHT31D(board.STEMMA_I2C()))
    t, rh = sensor.measure()

``measure()`` takes one measurement for both values (Adafruit's ``temperature`` and
``relative_humidity`` properties each trigger their own in single mode, so the adapter
uses the driver's internal ``_read()`` when it exists and falls back to the two public
properties otherwise). In periodic mode Adafruit returns lists (newest first); the
adapter returns the newest. Errors from the Adafruit driver (``RuntimeError`` on a CRC
mismatch, ``OSError`` on a NACK) are re-raised as ``SensorError``. Adafruit's driver
allocates on every read and does not check the status word's CRC; use
``sensors.sht31.SHT31`` where that matters.
"""

from sensors.sht31 import SensorError


def _newest(value, address):
    """The newest of Adafruit's readings (a number, or a list newest first in periodic mode)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:  # an empty periodic fetch, or a cache Adafruit never filled
        raise SensorError(address, "adafruit_sht31d returned no reading")
    return value


class AdafruitSHT31D:
    """Wraps an ``adafruit_sht31d.SHT31D`` as a Sensor (``measure()``, ``serial_number``)."""

    def __init__(self, device):
        self.device = device
        self._serial = None
        self.address = getattr(getattr(device, "i2c_device", None), "device_address", 0x44)

    def measure(self):
        try:
            read = getattr(self.device, "_read", None)
            if read is not None:
                t, rh = read()
            else:
                t, rh = self.device.temperature, self.device.relative_humidity
        except (RuntimeError, OSError) as e:
            raise SensorError(self.address, "adafruit_sht31d: %s" % e)
        return _newest(t, self.address), min(100.0, max(0.0, _newest(rh, self.address)))

    @property
    def serial_number(self):
        if self._serial is None:
            try:
                self._serial = self.device.serial_number
            except (RuntimeError, OSError) as e:
                raise SensorError(self.address, "adafruit_sht31d serial number: %s" % e)
        return self._serial
