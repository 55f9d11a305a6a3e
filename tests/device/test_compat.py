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
