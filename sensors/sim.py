"""A byte-exact SHT31-D simulator and a simulated I2C bus, for tests and the `sim` board.

The chip lives here; the bus (``SimI2C``) in sensors/sim_bus.py and the clocks in
sensors/sim_clock.py, both re-exported from this module.

    from sensors.sim import SimClock, SimulatedSHT31, SimI2C
    clock = SimClock()
    chip = SimulatedSHT31(temperature=21.5, humidity=40.0, clock=clock)
    bus = SimI2C([chip])                       # machine.I2C *and* busio.I2C methods
    sensor = SHT31(bus, sleep_us=clock.sleep_us)

The chip answers every command of the SHT3x-DIS datasheet with the bytes the real chip
sends (two data bytes + CRC-8 per word). Time matters: a single shot takes the datasheet
*maximum* duration (15.5 / 6.5 / 4.5 ms: a worst-case chip), reading early is NACKed
when clock stretching is off and held (the clock advances) when it is on; periodic mode
produces a sample every period and NACKs a fetch read when there is no new one; the
heater warms the reading (+1 degC per second up to +3 degC; RH falls ~6 % per degC of
warming) and cools back at the same rate; a read longer than the data yields 0xFF.
Status after power-up/reset is 0x8010 (alert pending, reset detected); an unknown
command is NACKed and sets the command-status bit.

Choices where the datasheet is silent (documented so tests can rely on them): in
periodic mode only fetch, break, periodic/ART (restart), heater, status and clear-status
commands are accepted -- single-shot, soft reset and serial number are NACKed; any read
consumes the data the chip holds. Bus errors mirror MicroPython/CircuitPython:
``OSError(19)`` (ENODEV) when the address is not acknowledged, ``OSError(5)`` (EIO) when
a data byte is NACKed or the bus fails.

Fault injection: ``chip.corrupt_next_crcs(n)``, ``bus.nack_next(n)``,
``bus.bus_error_next(n)``, ``chip.present = False`` (device absent).

Time is an injectable clock (``SimClock``: manual microseconds; ``RealClock``: the
runtime's monotonic clock). With constant temperature/humidity and the heater unused,
the chip's and the bus's transaction path allocates nothing on MicroPython (pass
``log=False`` to SimI2C) so a driver's own allocation can be measured through it.
"""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


from sensors.sim_bus import EIO, ENODEV, GENERAL_CALL_ADDRESS, BusioI2CView, MachineI2CView, SimI2C  # noqa: F401
from sensors.sim_clock import RealClock, SimClock  # noqa: F401

STATUS_AFTER_RESET = const(0x8010)
_ST_HEATER = const(1 << 13)
_ST_COMMAND = const(1 << 1)
_ST_WRITE_CRC = const(1 << 0)
_ST_CLEARABLE = const(0x8C10)  # alert pending, RH alert, T alert, reset detected

_HEATER_RATE_MC_PER_S = const(1000)  # +1 degC per second of heating
_HEATER_MAX_MC = const(3000)  # plateau +3 degC

# command -> (kind, repeatability index, period_us)
_SINGLE = {
    0x2C06: (0, True), 0x2C0D: (1, True), 0x2C10: (2, True),
    0x2400: (0, False), 0x240B: (1, False), 0x2416: (2, False),
}
_DURATION_US = (15500, 6500, 4500)
_PERIODIC = {}
for _period, _cmds in (
    (2000000, (0x2032, 0x2024, 0x202F)),
    (1000000, (0x2130, 0x2126, 0x212D)),
    (500000, (0x2236, 0x2220, 0x222B)),
    (250000, (0x2334, 0x2322, 0x2329)),
    (100000, (0x2737, 0x2721, 0x272A)),
):
    for _rep in range(3):
        _PERIODIC[_cmds[_rep]] = (_rep, _period)
_ART = const(0x2B32)
_FETCH = const(0xE000)
_BREAK = const(0x3093)
_SOFT_RESET = const(0x30A2)
_HEATER_ON = const(0x306D)
_HEATER_OFF = const(0x3066)
_READ_STATUS = const(0xF32D)
_CLEAR_STATUS = const(0x3041)
_SERIAL = const(0x3780)
_NO_SLEEP = const(0x303E)
# Alert limits (Sensirion alert-mode application note): read and write commands per limit,
# in the order high set, high clear, low clear, low set.
_ALERT_READ = (0xE11F, 0xE114, 0xE109, 0xE102)
_ALERT_WRITE = (0x611D, 0x6116, 0x610B, 0x6100)
_ALERT_DEFAULTS = ((80.0, 60.0), (79.0, 58.0), (22.0, -9.0), (20.0, -10.0))  # (%RH, degC)


def _make_crc_table():
    table = bytearray(256)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c << 1) ^ 0x31 if c & 0x80 else c << 1
        table[i] = c & 0xFF
    return table


_CRC_TABLE = _make_crc_table()


def crc_word(word):
    """CRC-8 (poly 0x31, init 0xFF) of a 16-bit word sent MSB first (table-driven)."""
    c = _CRC_TABLE[0xFF ^ (word >> 8)]
    return _CRC_TABLE[c ^ (word & 0xFF)]


def _raw_temperature(t_c):
    raw = int((t_c + 45) * 65535 / 175 + 0.5)
    return 0 if raw < 0 else (65535 if raw > 65535 else raw)


def _raw_humidity(rh):
    raw = int(rh * 65535 / 100 + 0.5)
    return 0 if raw < 0 else (65535 if raw > 65535 else raw)


def alert_limit_word(rh, t_c):
    """An alert-limit word: the 7 MSBs of raw RH (bits 15..9), the 9 MSBs of raw T (8..0)."""
    return (_raw_humidity(rh) & 0xFE00) | (_raw_temperature(t_c) >> 7)


class SimulatedSHT31:
    """One simulated SHT31-D.

    ``temperature`` (degC) and ``humidity`` (%RH) are numbers or functions of time in
    seconds (``f(t_s) -> float``); both may be reassigned at any time. ``serial`` is the
    32-bit serial number. ``clock`` defaults to a ``RealClock``.
    """

    def __init__(self, address=0x44, temperature=22.5, humidity=45.0, serial=0x1A2B3C4D, clock=None):
        self.address = address
        self.clock = clock if clock is not None else RealClock()
        self.serial = serial
        self.present = True
        self._temperature = temperature
        self._humidity = humidity
        self._update_static()
        self._out = bytearray(6)
        self._crc_faults = 0
        self.commands = []  # every command word received, in order (for assertions)
        self.record_commands = True
        self._power_on()

    # -- state --------------------------------------------------------------------------
    def _power_on(self):
        self.status = STATUS_AFTER_RESET
        self._periodic = False
        self._held = 0  # bytes of data the chip holds for the next read
        self._ready_at = 0  # data readable from this time (us)
        self._stretch = False
        self._heater_on = False
        self._heat_mc = 0  # heater warming at _heat_since (milli-degC)
        self._heat_since = self.clock.now_us()
        self._heat_used = False
        self.alert_limits = [alert_limit_word(rh, t) for rh, t in _ALERT_DEFAULTS]

    @property
    def temperature(self):
        return self._temperature

    @temperature.setter
    def temperature(self, value):
        self._temperature = value
        self._update_static()

    @property
    def humidity(self):
        return self._humidity

    @humidity.setter
    def humidity(self, value):
        self._humidity = value
        self._update_static()

    def _update_static(self):
        t, h = self._temperature, self._humidity
        self._static = not callable(t) and not callable(h)
        if self._static:
            self._raw_t = _raw_temperature(t)
            self._raw_rh = _raw_humidity(h)

    def corrupt_next_crcs(self, n):
        """The next ``n`` CRC bytes this chip puts on the wire are wrong."""
        self._crc_faults = n

    def heater_warming_c(self, t_us=None):
        """The heater's current warming of the reading in degC (0.0 when never used)."""
        return self._heat_at(self.clock.now_us() if t_us is None else t_us) / 1000

    def _heat_at(self, t_us):
        if not self._heat_used:
            return 0
        d = (t_us - self._heat_since) * _HEATER_RATE_MC_PER_S // 1000000
        if self._heater_on:
            h = self._heat_mc + d
            return _HEATER_MAX_MC if h > _HEATER_MAX_MC else h
        h = self._heat_mc - d
        return 0 if h < 0 else h

    def _set_heater(self, on):
        now = self.clock.now_us()
        self._heat_mc = self._heat_at(now)
        self._heat_since = now
        self._heater_on = on
        self._heat_used = self._heat_used or on
        self.status = (self.status | _ST_HEATER) if on else (self.status & ~_ST_HEATER)

    def expected(self, t_us=None):
        """(temperature_c, humidity_pct) the chip would measure at ``t_us`` (default: now)."""
        t_us = self.clock.now_us() if t_us is None else t_us
        s = t_us / 1000000
        t = self._temperature(s) if callable(self._temperature) else self._temperature
        h = self._humidity(s) if callable(self._humidity) else self._humidity
        warm = self._heat_at(t_us) / 1000
        if warm:
            t += warm
            h *= 1 - 0.06 * warm
        return t, h

    def raw_at(self, t_us):
        """The raw (temperature_word, humidity_word) of a measurement completing at ``t_us``."""
        if self._static and not self._heat_at(t_us):
            return self._raw_t, self._raw_rh  # the allocation-free path
        t, h = self.expected(t_us)
        return _raw_temperature(t), _raw_humidity(h)

    def _load_words(self, w0, w1, nwords, ready_at, stretch):
        out = self._out
        out[0] = w0 >> 8
        out[1] = w0 & 0xFF
        out[2] = crc_word(w0)
        if nwords == 2:
            out[3] = w1 >> 8
            out[4] = w1 & 0xFF
            out[5] = crc_word(w1)
        self._held = 3 * nwords
        self._ready_at = ready_at
        self._stretch = stretch

    def _load_measurement(self, ready_at, stretch):
        if self._static and not self._heat_at(ready_at):
            raw_t, raw_rh = self._raw_t, self._raw_rh  # allocation-free: no tuple is built
        else:
            raw_t, raw_rh = self.raw_at(ready_at)
        self._track_alerts(raw_t, raw_rh)
        self._load_words(raw_t, raw_rh, 2, ready_at, stretch)

    def _track_alerts(self, raw_t, raw_rh):
        # Tracking alerts with hysteresis: set beyond a *set* limit, cleared back inside the
        # *clear* limits. The limits hold the 9 MSBs of T and the 7 MSBs of RH.
        lim = self.alert_limits
        st = self.status
        t9 = raw_t >> 7
        if t9 > (lim[0] & 0x1FF) or t9 < (lim[3] & 0x1FF):
            st |= 0x8400  # T alert + alert pending
        elif (lim[2] & 0x1FF) < t9 < (lim[1] & 0x1FF):
            st &= ~0x0400
        rh7 = raw_rh & 0xFE00
        if rh7 > (lim[0] & 0xFE00) or rh7 < (lim[3] & 0xFE00):
            st |= 0x8800  # RH alert + alert pending
        elif (lim[2] & 0xFE00) < rh7 < (lim[1] & 0xFE00):
            st &= ~0x0800
        self.status = st

    # -- the I2C side (called by SimI2C) ------------------------------------------------
    def _busy(self, now):
        """Measuring with clock stretching off: the chip does not acknowledge."""
        return self._held and not self._stretch and now < self._ready_at

    def i2c_write(self, buf, start, end):
        """A write transaction of ``buf[start:end]``; raises OSError on NACK."""
        now = self.clock.now_us()
        if self._busy(now):
            raise OSError(ENODEV)
        n = end - start
        if n == 0:
            return  # address-only probe: ACK
        if n == 1:
            return  # half a command: acknowledged, nothing happens
        cmd = (buf[start] << 8) | buf[start + 1]
        if self.record_commands:
            self.commands.append(cmd)
        if n == 5 and cmd in _ALERT_WRITE and not self._periodic:
            self._write_alert_limit(_ALERT_WRITE.index(cmd), buf, start + 2)
            return
        if n != 2:
            self._reject()  # no command of this length
        self._command(cmd, now)

    def _write_alert_limit(self, index, buf, at):
        word = (buf[at] << 8) | buf[at + 1]
        if crc_word(word) != buf[at + 2]:
            self.status |= _ST_WRITE_CRC | _ST_COMMAND
            raise OSError(EIO)  # the checksum byte is not acknowledged
        self.alert_limits[index] = word
        self.status &= ~(_ST_WRITE_CRC | _ST_COMMAND)

    def general_call_reset(self):
        """A general call reset (0x06 to address 0x00): like power-up."""
        self._power_on()

    def _command(self, cmd, now):
        st = self.status
        if cmd == _FETCH:
            self._held = 0
            if self._periodic:
                self._fetch(now)
            else:
                self._reject()
            return
        if cmd == _BREAK:
            self._periodic = False
            self._held = 0
        elif cmd in _PERIODIC or cmd == _ART:
            rep, period = _PERIODIC[cmd] if cmd != _ART else (0, 250000)
            self._periodic = True
            self._p_start = now
            self._p_period = period
            self._p_duration = _DURATION_US[rep]
            self._p_fetched = -1
            self._held = 0
        elif cmd == _HEATER_ON or cmd == _HEATER_OFF:
            self._set_heater(cmd == _HEATER_ON)
        elif cmd == _READ_STATUS:
            self._load_words(st, 0, 1, now, False)  # reports the previous command's outcome
        elif cmd == _CLEAR_STATUS:
            self.status = st & ~_ST_CLEARABLE
        elif self._periodic:
            self._reject()
        elif cmd in _SINGLE:
            rep, stretch = _SINGLE[cmd]
            self._load_measurement(now + _DURATION_US[rep], stretch)
        elif cmd == _SOFT_RESET:
            self._power_on()
            return
        elif cmd == _NO_SLEEP:
            pass
        elif cmd in _ALERT_READ:
            self._load_words(self.alert_limits[_ALERT_READ.index(cmd)], 0, 1, now, False)
        elif cmd == _SERIAL:
            s = self.serial
            self._load_words((s >> 16) & 0xFFFF, s & 0xFFFF, 2, now, False)
        else:
            self._reject()
        self.status &= ~_ST_COMMAND

    def _reject(self):
        self.status |= _ST_COMMAND
        raise OSError(EIO)

    def _fetch(self, now):
        since = now - self._p_start - self._p_duration
        if since < 0:
            return
        k = since // self._p_period
        if k <= self._p_fetched:
            return  # no new data: the read will be NACKed
        self._p_fetched = k
        self._load_measurement(self._p_start + k * self._p_period + self._p_duration, False)

    def i2c_read_into(self, buf, start, end):
        """A read transaction into ``buf[start:end]``; raises OSError on NACK."""
        now = self.clock.now_us()
        if not self._held:
            raise OSError(ENODEV)  # nothing to send: the read header is not acknowledged
        if now < self._ready_at:
            if not self._stretch:
                raise OSError(ENODEV)
            self.clock.wait_until(self._ready_at)  # clock stretching: SCL held low
        held = self._held
        out = self._out
        for i in range(start, end):
            j = i - start
            if j >= held:
                buf[i] = 0xFF
            elif j % 3 == 2 and self._crc_faults:
                self._crc_faults -= 1  # fault injection: a wrong CRC byte on the wire
                buf[i] = out[j] ^ 0x5A
            else:
                buf[i] = out[j]
        self._held = 0
