"""The one place where MicroPython, CircuitPython and CPython differ.

Everything else in device/ imports what it needs from here instead of testing
``sys.implementation`` itself. (sensors/ keeps its own two-line fallbacks so that it
depends on nothing of ours.)

    from device.compat import const, ticks_ms, ticks_diff, sleep_ms, collect_garbage
"""

import sys

try:
    from micropython import const
except ImportError:  # CPython, and CircuitPython builds without the micropython module

    def const(x):
        return x


RUNTIME = sys.implementation.name  # "micropython", "circuitpython" or "cpython"
MICROPYTHON = RUNTIME == "micropython"
CIRCUITPYTHON = RUNTIME == "circuitpython"

import time

if hasattr(time, "ticks_ms"):  # MicroPython
    ticks_ms = time.ticks_ms
    ticks_diff = time.ticks_diff
    ticks_us = time.ticks_us
    sleep_ms = time.sleep_ms
else:  # CPython and CircuitPython: monotonic_ns exists on both
    _PERIOD = const(1 << 29)  # the same wrap-around as MicroPython's ticks

    def ticks_ms():
        return (time.monotonic_ns() // 1000000) & (_PERIOD - 1)

    def ticks_us():
        return (time.monotonic_ns() // 1000) & (_PERIOD - 1)

    def ticks_diff(end, start):
        d = (end - start) & (_PERIOD - 1)
        if d >= _PERIOD // 2:
            d -= _PERIOD
        return d

    def sleep_ms(ms):
        time.sleep(ms / 1000)


try:
    from os import urandom  # urandom(n): n bytes from the runtime's entropy source
except ImportError:  # pragma: no cover - a port without a hardware RNG

    def urandom(n):
        raise OSError("no entropy source on this runtime (os.urandom is missing)")


if MICROPYTHON or CIRCUITPYTHON:
    from gc import collect as collect_garbage  # noqa: E402
else:

    def collect_garbage():
        """A no-op on CPython: its allocator does not fragment a small fixed heap (see the MicroPython branch)."""


# collect_garbage() is for the few moments when a burst of loading has just left dead objects all over
# MicroPython's heap (one fixed block, first-fit, collected only when an allocation fails) and long-lived
# state is about to be allocated: collecting first keeps that state packed at the bottom of the heap
# instead of scattered between the dead objects, whose holes then cannot serve a larger allocation.
# On a small heap this decides whether a TLS connection fits (docs/tls.md, "Performance").
