"""Run the portable tests (tests/device/test_*.py or .mpy) on MicroPython.

    micropython tests/mp_runner.py [ROOT] [MODULE ...]

ROOT is the tree holding device/, sensors/ and tests/device/ (default: the folder above
this file). Each test module is imported, each ``test_*`` function called; a failure
prints its traceback. The last line is ``N passed, N failed``; the exit status is 1 on
any failure. Runs under CPython too (handy when debugging the runner itself).
"""

import gc
import os
import sys


def _is_dir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except OSError:
        return False


def _modules(root, wanted):
    names = []
    for entry in os.listdir(root + "/tests/device"):
        if not entry.startswith("test_"):
            continue
        for ext in (".py", ".mpy"):
            if entry.endswith(ext):
                name = entry[: -len(ext)]
                if (not wanted or name in wanted) and name not in names:
                    names.append(name)
    names.sort()
    return names


def _print_exc(e):
    try:
        sys.print_exception(e)  # MicroPython
    except AttributeError:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__)


def _unload(loaded):
    for key in list(sys.modules):
        if key not in loaded:
            del sys.modules[key]
    gc.collect()


def main(argv):
    root = argv[1] if len(argv) > 1 else None
    if root is None:
        here = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
        root = here + "/.."
    wanted = argv[2:]
    if root not in sys.path:
        sys.path.insert(0, root)
    passed = failed = 0
    for name in _modules(root, wanted):
        # Each test module starts from the same set of loaded modules and leaves
        # nothing behind, so a 256k heap holds the whole suite, and no module's
        # state leaks into the next one.
        loaded = set(sys.modules)
        try:
            mod = __import__("tests.device." + name, None, None, [name])
        except Exception as e:  # an import error fails the whole module, loudly
            print("FAIL", name, "(import)")
            _print_exc(e)
            failed += 1
            _unload(loaded)
            continue
        tests = sorted(k for k in dir(mod) if k.startswith("test_"))
        for t in tests:
            fn = getattr(mod, t)
            if not callable(fn):
                continue
            gc.collect()
            try:
                fn()
            except Exception as e:
                failed += 1
                print("FAIL", name + "." + t)
                _print_exc(e)
            else:
                passed += 1
        mod = fn = None  # else the finished module (and all it imported) stays alive while the next one loads
        _unload(loaded)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
