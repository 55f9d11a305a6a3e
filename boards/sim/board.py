"""The `sim` board: runs on a host (CPython or the micropython unix port) with the
simulated SHT31-D on a simulated I2C bus, in real time.

    python boards/sim/main.py 2 0        # two readings, no pause between them
    micropython boards/sim/main.py 2 0

The simulated room follows a slow 10-minute cycle around 22 degC / 45 %RH.

Pointed at a gateway (the device application instead of measure-and-print), with the
environment, as a host board is configured:

    SENSORKIT_GATEWAY=127.0.0.1:8443 SENSORKIT_ITS=./its micropython main.py [COUNT [INTERVAL_S]]

SENSORKIT_ITS is the secure storage a `sensorkit provision --store DIR` made (the SPM's
storage root; default: a fresh temporary folder, i.e. an unprovisioned device). The same
works in the tree `sensorkit deploy --board sim --stage DIR [--mpy]` builds (library in lib/).
"""

import math
import os
import sys

_here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
for _p in (_here + "/lib", _here + "/../.."):  # a deployed tree: lib/; a clone: two folders up
    if _p not in sys.path:
        sys.path.append(_p)

from sensors.sht31 import SHT31  # noqa: E402
from sensors.sim import RealClock, SimI2C, SimulatedSHT31  # noqa: E402

BOARD = "sim"
RUNTIME = "host"  # CPython or the micropython unix port
SENSOR_ADDRESS = 0x44
I2C_ID = "sim"
SDA_PIN = None  # no pins: the bus is simulated
SCL_PIN = None
SERIAL = 0x5117AB1E

_gw = os.getenv("SENSORKIT_GATEWAY")
if _gw:
    _host, _, _port = _gw.rpartition(":")
    GATEWAY = (_host or "127.0.0.1", int(_port))  # main.py starts the device application
if os.getenv("SENSORKIT_ITS"):
    QUEUE_CAPACITY = 64
    # the queue lives in ITS too: room for it beside identity, keys and records
    PSA_CONFIG = {"storage_root": os.getenv("SENSORKIT_ITS"), "its_max_assets": QUEUE_CAPACITY + 8}


def _temperature(t_s):
    return 22.0 + 1.5 * math.sin(2 * math.pi * t_s / 600)


def _humidity(t_s):
    return 45.0 - 5.0 * math.sin(2 * math.pi * t_s / 600)


def make_chip(clock=None):
    chip = SimulatedSHT31(SENSOR_ADDRESS, _temperature, _humidity, SERIAL, RealClock() if clock is None else clock)
    chip.record_commands = False  # a board runs for ever: no growing list of every command word
    return chip


def make_i2c():
    return SimI2C([make_chip()], log=False, name="sim-i2c")


def make_sensor(i2c=None):
    return SHT31(make_i2c() if i2c is None else i2c, SENSOR_ADDRESS)
