"""Raspberry Pi Pico W (MicroPython, rp2 port): SHT31-D on I2C0, GP4 = SDA, GP5 = SCL.

SENSOR_ADDRESS, make_i2c() and make_sensor() are what main.py and the telemetry
partition use (see boards/README.md).
"""

from machine import I2C, Pin

from sensors.sht31 import SHT31

BOARD = "pico_w"
RUNTIME = "micropython"
MPY_ARCH = "armv6m"  # RP2040: Cortex-M0+ (`sensorkit deploy --native` compiles with mpy-cross -march=armv6m)
SENSOR_ADDRESS = 0x44  # ADDR pin low/open; 0x45 with ADDR high
I2C_ID = 0
SDA_PIN = 4  # GP4, physical pin 6
SCL_PIN = 5  # GP5, physical pin 7
I2C_FREQ = 400000


def make_i2c():
    return I2C(I2C_ID, scl=Pin(SCL_PIN), sda=Pin(SDA_PIN), freq=I2C_FREQ)


def make_sensor(i2c=None):
    return SHT31(make_i2c() if i2c is None else i2c, SENSOR_ADDRESS)
