"""Adafruit Feather ESP32-S3 (CircuitPython 9/10): SHT31-D on the STEMMA QT connector
(board.STEMMA_I2C(): SDA = IO3, SCL = IO4).

On the device copy this file as ``sensorkit_board.py``: CircuitPython's built-in
``board`` module shadows a user file named board.py. main.py imports it by that name.
``make_sensor(adafruit=True)`` wraps Adafruit's own adafruit_sht31d driver instead of
ours (through sensors.adafruit.AdafruitSHT31D).
"""

import board

from sensors.sht31 import SHT31

BOARD = "feather_esp32s3"
RUNTIME = "circuitpython"
SENSOR_ADDRESS = 0x44
SDA_PIN = "IO3"  # STEMMA QT / board.SDA
SCL_PIN = "IO4"  # STEMMA QT / board.SCL


def make_i2c():
    return board.STEMMA_I2C()


def make_sensor(i2c=None, adafruit=False):
    i2c = make_i2c() if i2c is None else i2c
    if adafruit:
        import adafruit_sht31d

        from sensors.adafruit import AdafruitSHT31D

        return AdafruitSHT31D(adafruit_sht31d.SHT31D(i2c, SENSOR_ADDRESS))
    return SHT31(i2c, SENSOR_ADDRESS)
