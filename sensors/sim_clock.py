"""Clocks for the simulator: ``SimClock`` (manual, deterministic) and ``RealClock``.

Both count integer microseconds and offer ``now_us()``, ``sleep_us(us)``, ``sleep_ms(ms)``,
``advance_us(us)`` and ``wait_until(t_us)`` (used by a chip that stretches the clock).
"""

import time


class SimClock:
    """Simulated time in integer microseconds. ``sleep_us`` advances it; nothing sleeps."""

    def __init__(self, start_us=0):
        self.now = start_us

    def now_us(self):
        return self.now

    def sleep_us(self, us):
        self.now += us

    def sleep_ms(self, ms):
        self.now += ms * 1000

    def advance_us(self, us):
        self.now += us

    def wait_until(self, t_us):
        if t_us > self.now:
            self.now = t_us


class RealClock:
    """The runtime's monotonic clock in microseconds since construction (wrap-safe as
    long as it is read at least every few minutes). ``advance_us`` jumps it forward, so a
    test driving a third-party driver that sleeps for real can still skip long waits."""

    def __init__(self):
        if hasattr(time, "ticks_us"):
            self._ticks = time.ticks_us
            self._diff = time.ticks_diff
        else:
            self._ticks = lambda: time.monotonic_ns() // 1000
            self._diff = lambda a, b: a - b
        self._last = self._ticks()
        self._total = 0

    def now_us(self):
        t = self._ticks()
        self._total += self._diff(t, self._last)
        self._last = t
        return self._total

    def advance_us(self, us):
        self._total += us

    def sleep_us(self, us):
        if hasattr(time, "sleep_us"):
            time.sleep_us(us)
        else:
            time.sleep(us / 1000000)

    def sleep_ms(self, ms):
        self.sleep_us(ms * 1000)

    def wait_until(self, t_us):
        d = t_us - self.now_us()
        if d > 0:
            self.sleep_us(d)
