"""ST NUCLEO-F767ZI (MicroPython, stm32 port, board NUCLEO_F767ZI): SHT31-D on I2C1,
PB9 = SDA (Arduino D14), PB8 = SCL (Arduino D15). stm32's hardware I2C takes its pins
from the board definition, so only the bus id is given here.
"""

from machine import I2C

from sensors.sht31 import SHT31

BOARD = "nucleo_f767zi"
RUNTIME = "micropython"
MPY_ARCH = "armv7emdp"  # STM32F767: Cortex-M7 with double-precision FPU (`sensorkit deploy --native`)
SENSOR_ADDRESS = 0x44
I2C_ID = 1
SDA_PIN = "PB9"  # documentation: fixed by the board definition for I2C1
SCL_PIN = "PB8"
I2C_FREQ = 400000


def make_i2c():
    return I2C(I2C_ID, freq=I2C_FREQ)


def make_sensor(i2c=None):
    return SHT31(make_i2c() if i2c is None else i2c, SENSOR_ADDRESS)
