"""A simulated I2C bus with the MicroPython ``machine.I2C`` and CircuitPython
``busio.I2C`` method sets, a transaction log and fault injection (see sensors.sim)."""

try:
    from micropython import const
except ImportError:

    def const(x):
        return x


ENODEV = const(19)  # address not acknowledged, as MicroPython and CircuitPython report it
EIO = const(5)  # data byte not acknowledged, or a bus error
GENERAL_CALL_ADDRESS = const(0x00)


class SimI2C:
    """A simulated I2C bus with the ``machine.I2C`` *and* the ``busio.I2C`` method sets.

    ``devices``: simulated chips (anything with ``address``, ``present``, ``i2c_write``,
    ``i2c_read_into``). ``log``: record every transaction in ``.log`` as
    ``(op, address, data_bytes, result)`` with op "write"/"read" and result "ack",
    "nack" or "error" (``log=False`` keeps only the ``.transactions`` counter, which
    allocates nothing). ``as_machine_i2c()`` / ``as_busio_i2c()`` give views with only one
    flavour's methods (the busio view enforces the lock, as CircuitPython does).
    """

    def __init__(self, devices=(), log=True, name="SimI2C"):
        self.devices = {}
        for d in devices:
            self.devices[d.address] = d
        self.log = [] if log else None
        self.transactions = 0
        self.name = name
        self._locked = False
        self._nack = 0
        self._bus_error = 0

    def __repr__(self):
        return "%s(devices=%s)" % (self.name, ["0x%02x" % a for a in sorted(self.devices)])

    def add(self, device):
        self.devices[device.address] = device

    def remove(self, address):
        self.devices.pop(address, None)

    def nack_next(self, n):
        """The next ``n`` transactions are not acknowledged (OSError 19)."""
        self._nack = n

    def bus_error_next(self, n):
        """The next ``n`` transactions fail with a bus error (OSError 5)."""
        self._bus_error = n

    def clear_log(self):
        if self.log is not None:
            self.log = []
        self.transactions = 0

    def _device(self, addr):
        d = self.devices.get(addr)
        if d is None or not d.present:
            return None
        return d

    def _record(self, op, addr, buf, start, end, result):
        if self.log is not None:
            self.log.append((op, addr, bytes(buf[start:end]), result))

    def _transfer(self, op, addr, buf, start, end):
        self.transactions += 1
        if end is None:
            end = len(buf)
        if self._bus_error:
            self._bus_error -= 1
            self._record(op, addr, buf, start, start, "error")
            raise OSError(EIO)
        if addr == GENERAL_CALL_ADDRESS and op == "write" and end - start == 1 and buf[start] == 0x06:
            for d in self.devices.values():
                if d.present and hasattr(d, "general_call_reset"):
                    d.general_call_reset()
            self._record(op, addr, buf, start, end, "ack")
            return
        dev = self._device(addr)
        if self._nack or dev is None:
            if self._nack:
                self._nack -= 1
            self._record(op, addr, buf, start, start, "nack")
            raise OSError(ENODEV)
        try:
            if op == "write":
                dev.i2c_write(buf, start, end)
            else:
                dev.i2c_read_into(buf, start, end)
        except OSError as e:  # (not a bare raise: the native emitter cannot compile one)
            self._record(op, addr, buf, start, start, "nack")
            raise e
        self._record(op, addr, buf, start, end, "ack")

    # -- machine.I2C + busio.I2C ---------------------------------------------------------
    def scan(self):
        return sorted(a for a in self.devices if self.devices[a].present)

    def writeto(self, addr, buf, stop=True, start=0, end=None):
        """machine.I2C: returns the number of ACKs; busio.I2C: start/end window."""
        self._transfer("write", addr, buf, start, end)
        return (len(buf) if end is None else end) - start + 1

    def readfrom_into(self, addr, buf, stop=True, start=0, end=None):
        self._transfer("read", addr, buf, start, end)

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self._transfer("read", addr, buf, 0, nbytes)
        return bytes(buf)

    def writeto_then_readfrom(self, addr, out_buf, in_buf, out_start=0, out_end=None, in_start=0, in_end=None):
        """busio.I2C: write then read with a repeated start (logged as two entries)."""
        self._transfer("write", addr, out_buf, out_start, out_end)
        self._transfer("read", addr, in_buf, in_start, in_end)

    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def deinit(self):
        pass

    def as_machine_i2c(self):
        return MachineI2CView(self)

    def as_busio_i2c(self):
        return BusioI2CView(self)


class MachineI2CView:
    """Only the machine.I2C methods of a SimI2C (no try_lock: drivers see machine.I2C)."""

    def __init__(self, bus):
        self.bus = bus

    def __repr__(self):
        return "I2C(sim, %r)" % self.bus

    def scan(self):
        return self.bus.scan()

    def writeto(self, addr, buf, stop=True):
        return self.bus.writeto(addr, buf, stop)

    def readfrom_into(self, addr, buf, stop=True):
        self.bus.readfrom_into(addr, buf, stop)

    def readfrom(self, addr, nbytes, stop=True):
        return self.bus.readfrom(addr, nbytes, stop)


class BusioI2CView:
    """Only the busio.I2C methods of a SimI2C; transfers without the lock raise
    RuntimeError, as CircuitPython does."""

    def __init__(self, bus):
        self.bus = bus
        self._mine = False

    def __repr__(self):
        return "busio.I2C(sim, %r)" % self.bus

    def try_lock(self):
        if self.bus.try_lock():
            self._mine = True
            return True
        return False

    def unlock(self):
        if self._mine:
            self._mine = False
            self.bus.unlock()

    def _check(self):
        if not self._mine:
            raise RuntimeError("Function requires lock")

    def scan(self):
        self._check()
        return self.bus.scan()

    def writeto(self, address, buffer, start=0, end=None):
        self._check()
        self.bus.writeto(address, buffer, True, start, end)

    def readfrom_into(self, address, buffer, start=0, end=None):
        self._check()
        self.bus.readfrom_into(address, buffer, True, start, end)

    def writeto_then_readfrom(self, address, out_buffer, in_buffer, out_start=0, out_end=None,
                              in_start=0, in_end=None):
        self._check()
        self.bus.writeto_then_readfrom(address, out_buffer, in_buffer, out_start, out_end, in_start, in_end)

    def deinit(self):
        pass
