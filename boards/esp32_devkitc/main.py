"""Measure and print, forever (a template: the app issue replaces it with the full loop).

Copy this folder's board.py and main.py to the board (see README.md); optional
arguments on a host: ``main.py [COUNT [INTERVAL_S]]``.
"""

import sys
import time

import board

INTERVAL_S = 2


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


def _args():
    argv = getattr(sys, "argv", None) or []
    count = int(argv[1]) if len(argv) > 1 else None
    interval = float(argv[2]) if len(argv) > 2 else INTERVAL_S
    return count, interval


if __name__ == "__main__":
    main(*_args())
