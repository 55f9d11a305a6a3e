"""package.json (mip manifest) lists exactly the device-side modules, and each listed file exists."""

import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _listed():
    with open(os.path.join(ROOT, "package.json")) as f:
        data = json.load(f)
    return {dest: src for dest, src in data["urls"]}


def test_every_listed_file_exists():
    for dest, src in _listed().items():
        assert dest == src, "installed path should mirror the repository path: %s" % dest
        assert os.path.isfile(os.path.join(ROOT, src)), "package.json lists a missing file: %s" % src


def test_every_device_side_module_is_listed():
    listed = set(_listed())
    for tree in ("device", "sensors"):
        for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, tree)):
            dirnames[:] = [d for d in dirnames if d != "__pycache__"]
            for fn in filenames:
                if fn.endswith(".py"):
                    rel = os.path.relpath(os.path.join(dirpath, fn), ROOT).replace(os.sep, "/")
                    assert rel in listed, "%s is not in package.json (run python -m tools.mip_manifest)" % rel


def test_manifest_has_version():
    with open(os.path.join(ROOT, "package.json")) as f:
        assert json.load(f)["version"]
