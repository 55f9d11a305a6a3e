"""`sensorkit demo`: placeholder until the demo issue lands (it says so, and exits 0)."""


def add_parser(sub):
    p = sub.add_parser("demo", help="one-command demo (placeholder: not built yet)")
    p.add_argument("--count", type=int, default=10, help="stop after N readings")
    p.set_defaults(func=run)


def run(args):
    print("sensorkit demo: not built yet -- the one-command demo (gateway + simulated device)")
    print("arrives with the demo issue. Meanwhile `pytest` runs the device code on CPython and MicroPython.")
    return 0
