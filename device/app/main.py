"""The device application's main loop (non-secure side).

Measure on a schedule (through the telemetry service), queue every reading in ITS, and
forward the queue to the gateway in batches; a reading leaves the queue only when the
gateway acknowledges it. Connection failures back off exponentially with jitter. After a
reboot the loop resumes from the persisted queue and sequence counter.

    app = Application(queue, measure, link, interval_ms=60000)
    app.run(count=None)          # forever; count=N stops after reading N is acknowledged

``measure()`` returns one reading as SenML-CBOR bytes; ``link`` is a device.app.link.GatewayLink.
A failed measurement (the telemetry service answers PSA_ERROR_HARDWARE_FAILURE after the driver's
retries, say) is logged and counted in ``measure_failures``; the loop keeps running and measures
again at the next interval (no sequence number is used, so the gateway sees no gap).
"""

from device.compat import const, sleep_ms, ticks_diff, ticks_ms, urandom

_BATCH_MAX = const(32)
_MEASURE_RETRY_MS = const(1000)  # after a failed measurement with interval 0: no busy loop


class Backoff:
    """Exponential backoff with jitter: delays grow base, 2*base, 4*base ... up to max_ms.

    Each delay is drawn uniformly from [d/2, d] ("equal jitter") so that many devices
    restarting together spread out. ``reset()`` after a successful connection.
    """

    def __init__(self, base_ms=500, max_ms=60000):
        self.base_ms = base_ms
        self.max_ms = max_ms
        self.attempt = 0

    def reset(self):
        self.attempt = 0

    def next_delay_ms(self):
        d = self.base_ms << min(self.attempt, 20)
        if d > self.max_ms:
            d = self.max_ms
        self.attempt += 1
        half = d // 2
        r = urandom(2)
        return half + ((r[0] << 8) | r[1]) * (d - half) // 0xFFFF


class Application:
    def __init__(self, queue, measure, link, interval_ms=60000, backoff=None, batch_max=_BATCH_MAX, log=None):
        self.queue = queue
        self.measure = measure
        self.link = link
        self.interval_ms = interval_ms
        self.backoff = backoff or Backoff()
        self.batch_max = batch_max
        self.log = log  # optional callable(str)
        self.sent = 0
        self.connects = 0
        self.failures = 0
        self.measure_failures = 0

    def _note(self, text):
        if self.log is not None:
            self.log(text)

    def _measure_due(self, count):
        return count is None or self.queue.next_seq <= count

    def run(self, count=None):
        """Run until reading `count` is measured and acknowledged (forever when None)."""
        q = self.queue
        next_measure = ticks_ms()
        retry_at = None
        while True:
            now = ticks_ms()
            if self._measure_due(count) and ticks_diff(now, next_measure) >= 0:
                try:
                    reading = self.measure()
                except Exception as e:  # a sensor fault (PSA_ERROR_HARDWARE_FAILURE ...): no reading this time
                    self.measure_failures += 1
                    next_measure = now + (self.interval_ms or _MEASURE_RETRY_MS)
                    self._note("measurement failed (%s: %s); next try in %d ms"
                               % (type(e).__name__, e, self.interval_ms or _MEASURE_RETRY_MS))
                    continue
                q.append(reading)
                next_measure = now + self.interval_ms if self.interval_ms else now
                continue_measuring = self.interval_ms == 0 and len(q) < self.batch_max
                if continue_measuring and self._measure_due(count):
                    continue
            if len(q) == 0:
                if not self._measure_due(count):
                    self.link.close()
                    return self.sent
                wait = ticks_diff(next_measure, ticks_ms())
                if wait > 0:
                    sleep_ms(wait)
                continue
            if retry_at is not None:
                wait = ticks_diff(retry_at, ticks_ms())
                if wait > 0:
                    if self._measure_due(count):
                        wait = min(wait, max(0, ticks_diff(next_measure, ticks_ms())))
                    sleep_ms(wait)
                    if ticks_diff(retry_at, ticks_ms()) > 0:
                        continue
                retry_at = None
            try:
                self._forward()
            except Exception as e:  # socket, TLS, protocol: drop the link and back off
                self.failures += 1
                self.link.abort()
                delay = self.backoff.next_delay_ms()
                self._note("link failed (%s: %s); retry in %d ms" % (type(e).__name__, e, delay))
                retry_at = ticks_ms() + delay

    def _forward(self):
        """Send one batch from the queue (connecting first when needed)."""
        link = self.link
        q = self.queue
        if not link.connected:
            link.open()
            self.connects += 1
            self.backoff.reset()
            self._note("connected (%s)" % (link.cipher_suite,))
        limit = min(self.batch_max, link.max_readings)
        dropped = q.dropped
        first, readings = q.peek(limit, link.batch_room(q.head, dropped, limit))
        if not readings:
            return
        dropped = q.dropped  # peek may have counted a damaged slot
        last = link.send_batch(first, dropped, readings)
        if last >= first:
            q.ack(last, dropped)
            self.sent += last - first + 1


def start(host, port, interval_ms=None, count=None, capacity=None, backoff=None, log=None, socket_module=None,
          board=None, timeout_s=10):
    """Run the device application with the real services: identity and PSK from provisioned
    storage, readings from the telemetry partition, tokens from the attestation partition,
    TLS-PSK from device.tls. Board settings (optional, from `board`): GATEWAY (host, port),
    QUEUE_CAPACITY, INTERVAL_S. Returns the number of readings acknowledged (when `count` is set).
    """
    from device import identity
    from device.app.link import GatewayLink
    from device.app.queue import DEFAULT_CAPACITY, ITSStorage, StoreAndForwardQueue
    from device.psa import attest, telemetry
    from device.psa.crypto import KEY_ID_PSK
    from device.tls import wrap_socket

    if capacity is None:
        capacity = getattr(board, "QUEUE_CAPACITY", DEFAULT_CAPACITY)
    if interval_ms is None:
        interval_s = getattr(board, "INTERVAL_S", None)
        if interval_s is None:
            interval_s = telemetry.telemetry_get_config()["interval_s"]
        interval_ms = int(interval_s * 1000)
    queue = StoreAndForwardQueue(ITSStorage(), capacity)
    link = GatewayLink(host, port, identity.get_identity(), KEY_ID_PSK, attest.psa_initial_attest_get_token,
                       wrap_socket, socket_module=socket_module, timeout_s=timeout_s)
    app = Application(queue, telemetry.telemetry_read, link, interval_ms, backoff, log=log)
    return app.run(count)
