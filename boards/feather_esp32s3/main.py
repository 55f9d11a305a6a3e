"""Start the device application, or measure and print when no gateway is configured (code.py).

Set ``GATEWAY = ("HOST", PORT)`` in sensorkit_board.py to run the device application (provision the
board first: sensorkit provision); without it this measures and prints, forever. What it does:
device/app/runner.py. Copy to CIRCUITPY as described in README.md.
"""

import sensorkit_board as board  # board.py, copied under this name (the built-in `board` wins)

from device.app.runner import run

run(board)
