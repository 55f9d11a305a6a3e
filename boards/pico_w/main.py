"""Start the device application, or measure and print when no gateway is configured.

Set ``GATEWAY = ("HOST", PORT)`` in board.py to run the device application (provision the board
first: sensorkit provision); without it this measures and prints, forever. What it does, and the
host arguments ``main.py [COUNT [INTERVAL_S]]``: device/app/runner.py. Copy this folder's board.py
and main.py to the board (see README.md).
"""

import board  # first: on a host, board.py puts the library on sys.path

from device.app.runner import run

run(board)
