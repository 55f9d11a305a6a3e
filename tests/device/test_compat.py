from device import compat


def test_ticks_diff_wraps_around():
    t0 = compat.ticks_ms()
    compat.sleep_ms(2)
    assert compat.ticks_diff(compat.ticks_ms(), t0) >= 1


def test_urandom_length_and_variety():
    a = compat.urandom(16)
    b = compat.urandom(16)
    assert len(a) == 16 and a != b


def test_const_is_identity():
    assert compat.const(0x2C06) == 0x2C06


def test_collect_garbage_frees_dead_objects_on_micropython():
    compat.collect_garbage()
    if compat.RUNTIME == "cpython":
        return  # a no-op there (CPython's allocator does not fragment a fixed heap)
    import gc

    gc.disable()  # no automatic collection while the garbage is made
    try:
        for _ in range(50):
            bytearray(256)  # garbage
        before = gc.mem_free()
        compat.collect_garbage()
        assert gc.mem_free() >= before + 50 * 256
    finally:
        gc.enable()
