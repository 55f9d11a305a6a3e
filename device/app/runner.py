"""What every board's ``main.py`` runs.

    import board                      # the board definition (boards/NAME/board.py)
    from device.app.runner import run
    run(board)

With ``GATEWAY = ("HOST", PORT)`` in board.py, a provisioned device (``sensorkit provision``)
runs the device application (device.app.main.start): readings through the telemetry
partition, queued in ITS, sent over TLS-PSK to the sensorkit gateway, deleted only when
acknowledged (docs/protocol.md). Bring the network up first: Wi-Fi in boot.py, or a
``connect_network()`` in board.py returning the socket module (or CircuitPython's
socketpool.SocketPool) to use. Without GATEWAY it measures and prints, forever: a first
check of the wiring.

On a host, ``main.py [COUNT [INTERVAL_S]]``: stop after COUNT readings (with GATEWAY, once
reading COUNT is acknowledged), INTERVAL_S seconds apart. Output goes through ``log``
(``print`` by default: this is the board program's console).
"""

import sys
import time

INTERVAL_S = 2


def measure_and_print(board, count=None, interval_s=INTERVAL_S, log=print):
    """Read the board's sensor directly and print each reading (no gateway, no secure partition)."""
    sensor = board.make_sensor()
    log("%s: SHT31 at 0x%02x, serial %08x" % (board.BOARD, board.SENSOR_ADDRESS, sensor.serial_number))
    n = 0
    while count is None or n < count:
        t, rh = sensor.measure()
        log("%.2f C  %.2f %%RH" % (t, rh))
        n += 1
        if count is None or n < count:
            time.sleep(interval_s)


def forward(board, gateway, count=None, interval_s=None, log=print):
    """The device application, forever (or until reading `count` is acknowledged); backoff and
    reconnects included. Returns the number of readings acknowledged."""
    connect = getattr(board, "connect_network", None)
    sockets = connect() if connect is not None else None
    from device.app.main import start

    interval_ms = None if interval_s is None else int(interval_s * 1000)
    return start(gateway[0], gateway[1], interval_ms=interval_ms, count=count, board=board, socket_module=sockets,
                 log=log)


def _args():
    argv = getattr(sys, "argv", None) or []
    count = int(argv[1]) if len(argv) > 1 else None
    interval = float(argv[2]) if len(argv) > 2 else None
    return count, interval


def run(board, log=print):
    """main.py's whole job: the app when the board names a gateway, else measure and print."""
    count, interval = _args()
    gateway = getattr(board, "GATEWAY", None)
    if gateway:
        log("%d readings acknowledged" % forward(board, gateway, count, interval, log))
    else:
        measure_and_print(board, count, INTERVAL_S if interval is None else interval, log)
