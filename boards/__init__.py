"""One folder per supported board: board.py (pins, bus, sensor address), main.py, README.md."""
