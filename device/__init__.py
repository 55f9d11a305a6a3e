"""psa-sensorkit device side: runs unchanged on MicroPython, CircuitPython and CPython."""
