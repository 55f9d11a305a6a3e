"""Allocation of the driver's measurement path on MicroPython (gc.mem_alloc deltas).

What is measured: the driver *and* the simulated chip and bus, configured so that their
own path allocates nothing (constant temperature/humidity, heater unused, bus log off,
command recording off, a SimClock). So a zero delta proves the driver itself allocates
nothing; a non-zero delta would be the driver's or the sim's. On CPython (no
gc.mem_alloc) these tests only check that the calls work.
"""

import gc

from sensors.sht31 import SHT31
from sensors.sim import SimClock, SimI2C, SimulatedSHT31

_N = 20


def _rig(flavour):
    clock = SimClock()
    chip = SimulatedSHT31(temperature=21.5, humidity=40.0, clock=clock)
    chip.record_commands = False
    bus = SimI2C([chip], log=False)
    view = bus.as_machine_i2c() if flavour == "machine" else bus.as_busio_i2c()
    return bus, SHT31(view, sleep_us=clock.sleep_us)


def allocated(fn, n=_N):
    """Bytes allocated by n calls of fn (after one warm-up call); None on CPython."""
    fn()
    if not hasattr(gc, "mem_alloc"):
        for _ in range(n):
            fn()
        return None
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(n):
            fn()
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def _calibrate():
    # The loop and call machinery of allocated() itself must be free, or deltas lie.
    return allocated(lambda: None)


def test_harness_allocates_nothing():
    assert _calibrate() in (0, None)


def test_measure_into_allocates_nothing_on_both_flavours():
    for flavour in ("machine", "busio"):
        bus, s = _rig(flavour)
        out = [0, 0]
        delta = allocated(lambda: s.measure_into(out))
        assert delta in (0, None), (flavour, delta)
        assert out == [2150, 4000]
        assert bus.transactions == 2 * (_N + 1)


def test_status_and_non_blocking_pair_allocate_nothing():
    bus, s = _rig("machine")
    out = [0, 0]

    def pair():
        s.start_measurement()
        s._sleep_us(15500)
        s.read_measurement_into(out)

    assert allocated(pair) in (0, None)
    assert allocated(s.read_status) in (0, None)


def test_measure_allocates_only_its_float_results():
    # measure() returns a new tuple of two floats: on MicroPython's default object
    # representation each float is a heap object. Nothing else may allocate: compare with
    # building the same result from fixed values.
    bus, s = _rig("machine")
    delta = allocated(s.measure)
    if delta is None:
        return
    t = s.measure()[0]
    boxed = allocated(lambda: (t * 1.0, t * 1.0))
    assert delta == boxed, (delta, boxed)


def test_clock_stretching_and_periodic_fetch_allocate_nothing():
    bus, s = _rig("busio")
    s.clock_stretching = True
    out = [0, 0]
    assert allocated(lambda: s.measure_into(out)) in (0, None)
    s.start_periodic(10)

    def fetch():
        s._sleep_us(100000)  # one period on the simulated clock
        assert s.fetch_into(out)

    assert allocated(fetch) in (0, None)
    assert out == [2150, 4000]
