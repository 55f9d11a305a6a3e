"""Keep package.json (the `mpremote mip install` manifest) in step with the device-side tree.

    python -m tools.mip_manifest          # rewrite package.json
    python -m tools.mip_manifest --check  # exit 1 when it is stale

Every .py under device/ and sensors/ is listed; the host test
tests/host/test_package_manifest.py checks the same thing independently.
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEVICE_TREES = ("device", "sensors")
REPO = "github:OWNER/psa-sensorkit"  # replaced by the real repository slug when published


def device_files(root=ROOT):
    files = []
    for tree in DEVICE_TREES:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, tree)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for fn in sorted(filenames):
                if fn.endswith(".py"):
                    files.append(os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/"))
    return sorted(files)


def manifest(root=ROOT):
    with open(os.path.join(root, "pyproject.toml")) as f:
        version = next(l.split('"')[1] for l in f if l.startswith("version"))
    return {
        "urls": [[path, path] for path in device_files(root)],
        "deps": [],
        "version": version,
    }


def render(root=ROOT):
    """JSON with one file per line, so a new module is a one-line diff."""
    m = manifest(root)
    urls = ",\n".join("    " + json.dumps(pair) for pair in m["urls"])
    return '{\n  "urls": [\n%s\n  ],\n  "deps": [],\n  "version": %s\n}\n' % (urls, json.dumps(m["version"]))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path = os.path.join(ROOT, "package.json")
    text = render()
    if "--check" in argv:
        with open(path) as f:
            if f.read() != text:
                print("package.json is stale: run python -m tools.mip_manifest")
                return 1
        return 0
    with open(path, "w") as f:
        f.write(text)
    print("package.json: %d files" % len(manifest()["urls"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
