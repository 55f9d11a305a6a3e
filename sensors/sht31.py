"""Sensirion SHT31-D (SHT3x-DIS) temperature and humidity sensor over I2C.

Works unchanged with MicroPython ``machine.I2C`` / ``machine.SoftI2C`` (``writeto``,
``readfrom_into``) and CircuitPython ``busio.I2C`` (``try_lock`` / ``unlock``,
``start=``/``end=`` windows); the flavour is detected once, at construction.

Wiring: VIN to 3V3, GND to GND, SCL and SDA to the board's I2C pins (the breakout has
10k pull-ups), ADDR open or low for 0x44, high for 0x45. See boards/<name>/README.md.

Example::

    from machine import I2C, Pin
    from sensors.sht31 import SHT31
    sensor = SHT31(I2C(0, scl=Pin(5), sda=Pin(4), freq=400000))
    t, rh = sensor.measure()          # floats: degC, %RH (single shot, high repeatability)
    reading = [0, 0]
    sensor.measure_into(reading)      # ints: centi-degC, centi-%RH; allocates nothing

Every 16-bit word read from the chip is checked against its CRC-8 (status word too).
A CRC mismatch or a NACK is retried ``retries`` times (default ``RETRIES`` = 2, so up to
three attempts) by re-issuing the command, then ``SensorError`` is raised naming the
address and what failed. Periodic-mode data cannot be re-read (the chip clears it after
a fetch), so a corrupted fetch raises at once.

Allocation: one 6-byte buffer and its memoryviews are made at construction. On
MicroPython ``measure_into()``, ``start_measurement()``, ``read_measurement_into()`` and
``fetch_into()`` allocate nothing; ``measure()`` allocates only its result: the tuple and
the two float objects (floats are boxed on most ports). See docs/benchmarks.md.
"""

import time

try:
    from micropython import const
except ImportError:  # CPython, some CircuitPython builds

    def const(x):
        return x


# Repeatability: public values for the ``repeatability`` argument.
REPEATABILITY_HIGH = const(0)
REPEATABILITY_MEDIUM = const(1)
REPEATABILITY_LOW = const(2)

RETRIES = const(2)  # extra attempts after a CRC mismatch or NACK (3 attempts in all)

DEFAULT_ADDRESS = const(0x44)
ALTERNATE_ADDRESS = const(0x45)

# Single shot: [clock stretching off, on] x (high, medium, low)
_SINGLE_NO_STRETCH = (0x2400, 0x240B, 0x2416)
_SINGLE_STRETCH = (0x2C06, 0x2C0D, 0x2C10)
# Maximum measurement duration without stretching, microseconds (datasheet table 4)
_DURATION_US = (15500, 6500, 4500)
# Periodic: measurements per second -> (high, medium, low)
PERIODIC_RATES = (0.5, 1, 2, 4, 10)
_PERIODIC = (
    (0x2032, 0x2024, 0x202F),
    (0x2130, 0x2126, 0x212D),
    (0x2236, 0x2220, 0x222B),
    (0x2334, 0x2322, 0x2329),
    (0x2737, 0x2721, 0x272A),
)
_CMD_FETCH = const(0xE000)
_CMD_ART = const(0x2B32)
_CMD_BREAK = const(0x3093)
_CMD_SOFT_RESET = const(0x30A2)
_CMD_HEATER_ON = const(0x306D)
_CMD_HEATER_OFF = const(0x3066)
_CMD_READ_STATUS = const(0xF32D)
_CMD_CLEAR_STATUS = const(0x3041)
_CMD_SERIAL = const(0x3780)

_RESET_US = const(1500)  # soft reset time (max)
_COMMAND_US = const(1000)  # pause after a command before the next one (datasheet t_idle)

# Status register bits
STATUS_ALERT_PENDING = const(1 << 15)
STATUS_HEATER = const(1 << 13)
STATUS_RH_ALERT = const(1 << 11)
STATUS_T_ALERT = const(1 << 10)
STATUS_RESET_DETECTED = const(1 << 4)
STATUS_COMMAND_FAILED = const(1 << 1)
STATUS_WRITE_CRC_FAILED = const(1 << 0)

_MODE_IDLE = const(0)
_MODE_PERIODIC = const(1)


def crc8(data, start=0, end=None):
    """CRC-8 of ``data[start:end]``: poly 0x31, init 0xFF, no reflection (crc8(b'\\xbe\\xef') == 0x92)."""
    if end is None:
        end = len(data)
    crc = 0xFF
    for i in range(start, end):
        crc ^= data[i]
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _sleep_us_default():
    # The one place that knows how each runtime sleeps (sub-millisecond: 15.5 ms matters).
    if hasattr(time, "sleep_us"):
        return time.sleep_us
    return lambda us: time.sleep(us / 1000000)


class SensorError(OSError):
    """The SHT31 failed: ``.address`` (int), ``.reason`` (str). errno is EIO (5)."""

    def __init__(self, address, reason):
        super().__init__(5, "SHT31 at 0x%02x: %s" % (address, reason))
        self.address = address
        self.reason = reason


class Status:
    """The decoded status register (read with ``SHT31.status``)."""

    def __init__(self, word):
        self.raw = word
        self.alert_pending = bool(word & STATUS_ALERT_PENDING)
        self.heater = bool(word & STATUS_HEATER)
        self.rh_alert = bool(word & STATUS_RH_ALERT)
        self.t_alert = bool(word & STATUS_T_ALERT)
        self.reset_detected = bool(word & STATUS_RESET_DETECTED)
        self.command_failed = bool(word & STATUS_COMMAND_FAILED)  # last command not processed
        self.write_crc_failed = bool(word & STATUS_WRITE_CRC_FAILED)  # last write's checksum wrong

    def __repr__(self):
        return "Status(0x%04x)" % self.raw


def temperature_c(raw):
    """Float degrees Celsius from a raw 16-bit temperature word."""
    return (175 * raw - 2949075) / 65535  # -45 + 175 * raw / 65535, one rounding


def humidity_pct(raw):
    """Float %RH from a raw 16-bit humidity word, clamped to 0..100."""
    rh = 100 * raw / 65535
    return 0.0 if rh < 0 else (100.0 if rh > 100 else rh)


def temperature_centi(raw):
    """Hundredths of a degree Celsius (int, rounded) from a raw word; small-int arithmetic only."""
    x = 4375 * raw  # 17500 * raw would overflow a 31-bit small int; divmod would allocate
    q = x // 65535
    return 4 * q + (8 * (x - 65535 * q) + 65535) // 131070 - 4500


def humidity_centi(raw):
    """Hundredths of a percent RH (int, rounded, clamped to 0..10000) from a raw word."""
    h = (10000 * raw + 32767) // 65535
    return 0 if h < 0 else (10000 if h > 10000 else h)


class SHT31:
    """One SHT31-D on an I2C bus.

    ``SHT31(i2c, address=0x44, repeatability=REPEATABILITY_HIGH, clock_stretching=False,
    retries=RETRIES, sleep_us=None)``. ``sleep_us`` is the function used to wait
    (microseconds; default: the runtime's own sleep) -- tests pass a simulated clock's.
    No bus traffic happens at construction.
    """

    def __init__(self, i2c, address=DEFAULT_ADDRESS, repeatability=REPEATABILITY_HIGH,
                 clock_stretching=False, retries=RETRIES, sleep_us=None):
        if address not in (DEFAULT_ADDRESS, ALTERNATE_ADDRESS):
            raise ValueError("SHT31 address must be 0x44 or 0x45, not 0x%x" % address)
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._i2c = i2c
        self.address = address
        self.repeatability = repeatability  # validated by the property
        self.clock_stretching = bool(clock_stretching)
        self.retries = retries
        self._sleep_us = sleep_us if sleep_us is not None else _sleep_us_default()
        self._busio = hasattr(i2c, "try_lock")  # CircuitPython busio.I2C (or a look-alike)
        self._buf = bytearray(6)
        mv = memoryview(self._buf)
        self._cmd = mv[0:2]
        self._word = mv[0:3]
        self._mode = _MODE_IDLE
        self._rate_index = 0
        self._first_wait = 0  # periodic: the first sample's measurement time
        self._serial = None
        self._last_t = 0  # raw words of the last good reading (periodic cache)
        self._last_rh = 0
        self._have_last = False

    @property
    def repeatability(self):
        """REPEATABILITY_HIGH, _MEDIUM or _LOW (used by the next command that measures)."""
        return self._rep

    @repeatability.setter
    def repeatability(self, value):
        if value not in (REPEATABILITY_HIGH, REPEATABILITY_MEDIUM, REPEATABILITY_LOW):
            raise ValueError("repeatability must be REPEATABILITY_HIGH, _MEDIUM or _LOW")
        self._rep = value

    # -- bus primitives: one transaction each, no allocation ---------------------------
    def _write_command(self, command):
        buf = self._buf
        buf[0] = command >> 8
        buf[1] = command & 0xFF
        i2c = self._i2c
        if self._busio:
            while not i2c.try_lock():
                pass
            try:
                i2c.writeto(self.address, buf, end=2)
            finally:
                i2c.unlock()
        else:
            i2c.writeto(self.address, self._cmd)

    def _read(self, n):
        i2c = self._i2c
        if self._busio:
            while not i2c.try_lock():
                pass
            try:
                i2c.readfrom_into(self.address, self._buf, end=n)
            finally:
                i2c.unlock()
        else:
            i2c.readfrom_into(self.address, self._buf if n == 6 else self._word)

    def _crc_ok(self, nwords):
        buf = self._buf
        for i in range(0, 3 * nwords, 3):
            if crc8(buf, i, i + 2) != buf[i + 2]:
                return False
        return True

    def _bus_name(self):
        return repr(self._i2c)

    def _fail(self, what, err):
        # Error path only: allocation is fine here.
        if err == "nack":
            return SensorError(self.address, "%s: no answer from address 0x%02x on %s after %d attempts"
                               % (what, self.address, self._bus_name(), self.retries + 1))
        if err == "crc":
            return SensorError(self.address, "%s: CRC mismatch after %d attempts" % (what, self.retries + 1))
        return SensorError(self.address, "%s: %s" % (what, err))

    def _command(self, command, what):
        for _ in range(self.retries + 1):
            try:
                self._write_command(command)
                return
            except OSError:
                pass
        raise self._fail(what, "nack")

    def _transfer(self, command, nwords, wait_us, what):
        """Command, wait, read ``nwords`` CRC-checked words into the buffer (with retries)."""
        err = "nack"
        for _ in range(self.retries + 1):
            try:
                self._write_command(command)
                if wait_us:
                    self._sleep_us(wait_us)
                self._read(3 * nwords)
            except OSError:
                err = "nack"
                continue
            if self._crc_ok(nwords):
                return
            err = "crc"
        raise self._fail(what, err)

    def _check_idle(self, what):
        if self._mode != _MODE_IDLE:
            raise SensorError(self.address, "%s needs idle mode: call stop_periodic() first" % what)

    # -- single shot --------------------------------------------------------------------
    def measurement_time_us(self):
        """Datasheet maximum duration of one measurement at the current repeatability."""
        return _DURATION_US[self._rep]

    def _single_shot(self):
        if self._mode == _MODE_PERIODIC:
            self._periodic_latest()
            return
        if self.clock_stretching:
            # The chip holds SCL low until the data is ready; the read simply waits.
            self._transfer(_SINGLE_STRETCH[self._rep], 2, 0, "single-shot measurement")
        else:
            self._transfer(_SINGLE_NO_STRETCH[self._rep], 2, _DURATION_US[self._rep],
                           "single-shot measurement")
        self._remember()

    def _remember(self):
        buf = self._buf
        self._last_t = (buf[0] << 8) | buf[1]
        self._last_rh = (buf[3] << 8) | buf[4]
        self._have_last = True

    def measure(self):
        """One reading as ``(temperature_c, humidity_pct)`` floats.

        Idle mode: a single-shot measurement (2 I2C transactions). Periodic mode: the
        newest reading (fetched if the chip has a new one, else the last one fetched; right
        after ``start_periodic()`` it waits for the first sample).
        """
        self._single_shot()
        return temperature_c(self._last_t), humidity_pct(self._last_rh)

    def measure_into(self, out):
        """Like ``measure()`` but stores ints into ``out[0]`` (centi-degC) and ``out[1]``
        (centi-%RH) and returns ``out``. Allocates nothing on MicroPython."""
        self._single_shot()
        out[0] = temperature_centi(self._last_t)
        out[1] = humidity_centi(self._last_rh)
        return out

    def measure_raw(self):
        """Raw 16-bit ``(temperature_word, humidity_word)`` of one reading."""
        self._single_shot()
        return self._last_t, self._last_rh

    # -- non-blocking pair --------------------------------------------------------------
    def start_measurement(self):
        """Start a single shot (no clock stretching) and return the microseconds to wait
        before ``read_measurement()``. For event loops: nothing blocks."""
        self._check_idle("start_measurement")
        self._command(_SINGLE_NO_STRETCH[self._rep], "start measurement")
        return _DURATION_US[self._rep]

    def read_measurement_into(self, out):
        """Read the result of ``start_measurement()`` into ``out`` (centi-units, as
        ``measure_into``). A NACK (not ready yet) or CRC mismatch raises SensorError
        at once: the chip cannot resend a single-shot result."""
        self._read_once("read measurement")
        out[0] = temperature_centi(self._last_t)
        out[1] = humidity_centi(self._last_rh)
        return out

    def read_measurement(self):
        """Read the result of ``start_measurement()`` as float ``(temperature_c, humidity_pct)``."""
        self._read_once("read measurement")
        return temperature_c(self._last_t), humidity_pct(self._last_rh)

    def _read_once(self, what):
        try:
            self._read(6)
        except OSError:
            raise SensorError(self.address, "%s: no data (read NACKed: not ready, or no device on %s)"
                              % (what, self._bus_name()))
        if not self._crc_ok(2):
            raise self._fail(what, "crc")
        self._remember()

    # -- periodic mode ------------------------------------------------------------------
    def start_periodic(self, mps=1, art=False):
        """Start periodic acquisition at ``mps`` measurements per second (0.5, 1, 2, 4, 10)
        and the current repeatability, or ART (accelerated response time, 4 Hz) when ``art``."""
        if art:
            command = _CMD_ART
            index = 3
        else:
            if mps not in PERIODIC_RATES:
                raise ValueError("mps must be one of 0.5, 1, 2, 4, 10")
            index = PERIODIC_RATES.index(mps)
            command = _PERIODIC[index][self._rep]
        self._command(command, "start periodic mode")
        self._mode = _MODE_PERIODIC
        self._rate_index = index
        self._first_wait = _DURATION_US[0 if art else self._rep]
        self._have_last = False

    @property
    def periodic(self):
        """True while periodic acquisition runs (between start_periodic and stop_periodic)."""
        return self._mode == _MODE_PERIODIC

    def period_us(self):
        """Microseconds between periodic measurements (0 in idle mode)."""
        if self._mode != _MODE_PERIODIC:
            return 0
        return int(1000000 // PERIODIC_RATES[self._rate_index])

    def _fetch(self):
        """Fetch command + read. True: new data in the buffer. False: no new data (NACK)."""
        self._command(_CMD_FETCH, "fetch")
        try:
            self._read(6)
        except OSError:
            return False  # the chip NACKs the read when it holds no new data
        if not self._crc_ok(2):
            raise self._fail("fetch", "crc (data is cleared by the fetch; cannot retry)")
        self._remember()
        return True

    def fetch(self):
        """Periodic mode: the newest unread reading as float ``(temperature_c, humidity_pct)``,
        or None when the chip has no new data since the last fetch."""
        if self._mode != _MODE_PERIODIC:
            raise SensorError(self.address, "fetch needs periodic mode: call start_periodic() first")
        if not self._fetch():
            return None
        return temperature_c(self._last_t), humidity_pct(self._last_rh)

    def fetch_into(self, out):
        """Periodic mode: like ``fetch()`` into ``out`` (centi-units); returns False when
        there is no new data (``out`` untouched), True otherwise. Allocates nothing."""
        if self._mode != _MODE_PERIODIC:
            raise SensorError(self.address, "fetch needs periodic mode: call start_periodic() first")
        if not self._fetch():
            return False
        out[0] = temperature_centi(self._last_t)
        out[1] = humidity_centi(self._last_rh)
        return True

    def _periodic_latest(self):
        if self._fetch() or self._have_last:
            return
        # Nothing fetched since start_periodic() and nothing new: the first sample is not
        # complete yet, and it completes at most one measurement duration after the start.
        self._sleep_us(self._first_wait)
        if not self._fetch():
            raise SensorError(self.address, "periodic mode: no first sample after one measurement time")

    def stop_periodic(self):
        """Break: stop periodic acquisition and return to idle (single-shot) mode."""
        self._command(_CMD_BREAK, "break")
        self._mode = _MODE_IDLE
        self._sleep_us(_COMMAND_US)

    # -- heater, status, reset, serial --------------------------------------------------
    @property
    def heater(self):
        """The internal heater (read from the status register; set to switch it)."""
        return self.status.heater

    @heater.setter
    def heater(self, on):
        self._command(_CMD_HEATER_ON if on else _CMD_HEATER_OFF, "heater on" if on else "heater off")

    def read_status(self):
        """The raw status word (CRC-checked)."""
        self._transfer(_CMD_READ_STATUS, 1, 0, "read status")
        return (self._buf[0] << 8) | self._buf[1]

    @property
    def status(self):
        """The decoded status register (a ``Status``)."""
        return Status(self.read_status())

    def clear_status(self):
        """Clear the alert and reset-detected bits of the status register."""
        self._command(_CMD_CLEAR_STATUS, "clear status")

    def soft_reset(self):
        """Soft reset (only acted on in idle mode; stops periodic mode first)."""
        if self._mode == _MODE_PERIODIC:
            self.stop_periodic()
        self._command(_CMD_SOFT_RESET, "soft reset")
        self._sleep_us(_RESET_US)

    @property
    def serial_number(self):
        """The chip's 32-bit serial number (read once, then cached)."""
        if self._serial is None:
            self._check_idle("serial_number")
            self._transfer(_CMD_SERIAL, 2, _COMMAND_US, "read serial number")
            b = self._buf
            self._serial = (b[0] << 24) | (b[1] << 16) | (b[3] << 8) | b[4]
        return self._serial
