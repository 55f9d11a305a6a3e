"""boards/: every board.py offers the contract; boards/sim/main.py runs on CPython and MicroPython.

The real boards' board.py files need `machine` (MicroPython) or `board` (CircuitPython);
here those hardware modules are replaced by small stand-ins whose I2C constructors return
views of a SimI2C with a simulated chip, so make_i2c()/make_sensor() run for real through
our driver.
"""

import importlib.util
import os
import re
import subprocess
import sys
import types

import pytest

from sensors import is_sensor
from sensors.sht31 import SHT31
from sensors.sim import RealClock, SimI2C, SimulatedSHT31
from tests import micropython_lane as lane

ROOT = lane.ROOT
BOARDS = ("pico_w", "esp32_devkitc", "nucleo_f767zi", "feather_esp32s3", "sim")
READING = re.compile(r"^(-?\d+\.\d\d) C  (\d+\.\d\d) %RH$", re.M)


def _load(name, hardware):
    saved = {k: sys.modules.get(k) for k in hardware}
    sys.modules.update(hardware)
    try:
        spec = importlib.util.spec_from_file_location("board_" + name, os.path.join(ROOT, "boards", name, "board.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def _hardware(calls):
    clock = RealClock()  # the boards' drivers sleep for real (their default)
    bus = SimI2C([SimulatedSHT31(temperature=19.0, humidity=60.0, clock=clock)])

    class Pin:
        def __init__(self, n):
            self.n = n

    def I2C(id, scl=None, sda=None, freq=None):
        calls.append((id, scl and scl.n, sda and sda.n, freq))
        return bus.as_machine_i2c()

    machine = types.ModuleType("machine")
    machine.I2C, machine.Pin = I2C, Pin
    board = types.ModuleType("board")

    def STEMMA_I2C():
        calls.append("STEMMA_I2C")
        return bus.as_busio_i2c()

    board.STEMMA_I2C = STEMMA_I2C
    return {"machine": machine, "board": board}


@pytest.mark.parametrize("name", BOARDS)
def test_board_contract(name):
    calls = []
    mod = _load(name, _hardware(calls))
    assert mod.BOARD == name and mod.SENSOR_ADDRESS in (0x44, 0x45)
    sensor = mod.make_sensor()
    assert is_sensor(sensor) and isinstance(sensor, SHT31)
    assert sensor.address == mod.SENSOR_ADDRESS
    t, rh = sensor.measure()
    assert -45 <= t <= 130 and 0 <= rh <= 100
    for f in ("main.py", "README.md"):
        assert os.path.exists(os.path.join(ROOT, "boards", name, f))
    expected = {
        "pico_w": [(0, 5, 4, 400000)],
        "esp32_devkitc": [(0, 22, 21, 400000)],
        "nucleo_f767zi": [(1, None, None, 400000)],
        "feather_esp32s3": ["STEMMA_I2C"],
        "sim": [],
    }[name]
    assert calls == expected


def _check_output(out):
    readings = READING.findall(out)
    assert len(readings) == 2, out
    for t, rh in readings:
        assert 20.0 < float(t) < 24.0 and 39.0 < float(rh) < 51.0
    assert "sim: SHT31 at 0x44, serial 5117ab1e" in out


def test_sim_main_on_cpython():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "boards", "sim", "main.py"), "2", "0"],
                       capture_output=True, text=True, timeout=60, cwd="/")
    assert r.returncode == 0, r.stderr
    _check_output(r.stdout)


def test_sim_main_on_micropython():
    r = lane.run([os.path.join(ROOT, "boards", "sim", "main.py"), "2", "0"], cwd="/", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    _check_output(r.stdout)


def test_board_files_compile_for_micropython(tmp_path):
    cross = lane.mpy_cross()
    for name in BOARDS:
        for f in ("board.py", "main.py"):
            src = os.path.join(ROOT, "boards", name, f)
            r = subprocess.run([cross, "-o", str(tmp_path / (name + f + ".mpy")), src], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
