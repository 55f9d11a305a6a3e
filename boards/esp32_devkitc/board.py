"""Espressif ESP32-DevKitC (MicroPython, esp32 port): SHT31-D on hardware I2C0,
GPIO21 = SDA, GPIO22 = SCL (the usual ESP32 I2C pins).
"""

from machine import I2C, Pin

from sensors.sht31 import SHT31

BOARD = "esp32_devkitc"
RUNTIME = "micropython"
MPY_ARCH = "xtensawin"  # ESP32: Xtensa LX6, windowed ABI as ESP-IDF builds it (`sensorkit deploy --native`)
SENSOR_ADDRESS = 0x44
I2C_ID = 0
SDA_PIN = 21
SCL_PIN = 22
I2C_FREQ = 400000


def make_i2c():
    return I2C(I2C_ID, scl=Pin(SCL_PIN), sda=Pin(SDA_PIN), freq=I2C_FREQ)


def make_sensor(i2c=None):
    return SHT31(make_i2c() if i2c is None else i2c, SENSOR_ADDRESS)
