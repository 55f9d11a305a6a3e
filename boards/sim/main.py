"""Start the device application, or measure and print when no gateway is configured.

With ``GATEWAY = ("HOST", PORT)`` in board.py (or below), a provisioned device (sensorkit
provision) runs device.app: readings through the telemetry partition, queued in ITS, sent
over TLS-PSK to the sensorkit gateway, deleted only when acknowledged (docs/protocol.md).
Bring the network up first (Wi-Fi in boot.py, or a ``connect_network()`` in board.py that
returns the socket module or CircuitPython's socketpool.SocketPool to use).

Without GATEWAY it measures and prints, forever. Copy this folder's board.py and main.py to
the board (see README.md); optional arguments on a host: ``main.py [COUNT [INTERVAL_S]]`` (with
GATEWAY too: stop once reading COUNT is acknowledged; INTERVAL_S between readings).
"""

import sys
import time

import board

INTERVAL_S = 2
GATEWAY = getattr(board, "GATEWAY", None)  # ("192.0.2.10", 8443): the sensorkit gateway


def main(count=None, interval_s=INTERVAL_S):
    sensor = board.make_sensor()
    print("%s: SHT31 at 0x%02x, serial %08x" % (board.BOARD, board.SENSOR_ADDRESS, sensor.serial_number))
    n = 0
    while count is None or n < count:
        t, rh = sensor.measure()
        print("%.2f C  %.2f %%RH" % (t, rh))
        n += 1
        if count is None or n < count:
            time.sleep(interval_s)


def forward(gateway=GATEWAY, count=None, interval_s=None):
    """The device application, forever (or until reading `count` is acknowledged); backoff and
    reconnects included. Returns the number of readings acknowledged."""
    connect = getattr(board, "connect_network", None)
    sockets = connect() if connect is not None else None
    from device.app.main import start

    interval_ms = None if interval_s is None else int(interval_s * 1000)
    return start(gateway[0], gateway[1], interval_ms=interval_ms, count=count, board=board, socket_module=sockets,
                 log=print)


def _args():
    argv = getattr(sys, "argv", None) or []
    count = int(argv[1]) if len(argv) > 1 else None
    interval = float(argv[2]) if len(argv) > 2 else None
    return count, interval


if __name__ == "__main__":
    _count, _interval = _args()
    if GATEWAY:
        print("%d readings acknowledged" % forward(GATEWAY, _count, _interval))
    else:
        main(_count, INTERVAL_S if _interval is None else _interval)
