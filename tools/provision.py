"""`sensorkit provision`: factory provisioning of a simulated device's secure storage (ITS).

    sensorkit provision --store DIR --identity ID (--psk HEX | --generate-psk)
                        (--iak HEX | --generate-iak) [--lifecycle secured|0x3000|...]
                        [--registry devices.json] [--iak-file FILE] [--app-main PATH]
                        [--code-root DIR] [--force]

DIR is the ITS storage root of a simulated device (created if missing): the PSK goes into
the crypto partition's key store (KEY_ID_PSK, usable by NS code for TLS key derivation,
never exportable), the IAK too (KEY_ID_IAK, owned by the attestation partition), the
attestation record (instance id, lifecycle) into the attestation partition's ITS, and the
identity into NS ITS (device.identity). Secrets are printed only when generated, and only
once. ``--registry`` adds (or replaces) the device in the gateway's registry file
(format: docs/provisioning.md); ``--iak-file`` writes the IAK (hex) for
`sensorkit token --verify`.

The board path: ``--port PORT`` writes the same storage onto a MicroPython board through
mpremote (into ``--its-root``, default ``/its``, the SPM's storage root on a board) and adds
the device to the registry (``--registry``, default ``devices.json``). The store is built in a
temporary folder first (or in ``--store`` when given) and the temporary copy is deleted
afterwards. ``--board NAME [--mpy]`` measures the tree `sensorkit deploy` puts on that board
(so the registry holds the measurements the board will report); ``--dry-run`` prints the
exact mpremote command.

    sensorkit provision --port /dev/ttyACM0 --board pico_w --mpy --identity pico-1 \
                        --generate-psk --generate-iak --registry devices.json
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from device.partitions.attest import measure
from device.partitions.attest import token as _tok

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIFECYCLES = dict((name, value) for value, name in _tok.LIFECYCLE_NAMES.items())
KEY_MIN, KEY_MAX = 16, 64
REGISTRY_VERSION = 1


class ProvisionError(Exception):
    pass


def parse_lifecycle(text):
    """A lifecycle name (secured, decommissioned, ...) or number (0x3000, 12288)."""
    t = text.strip().lower()
    if t in LIFECYCLES:
        return LIFECYCLES[t]
    try:
        v = int(t, 0)
    except ValueError:
        raise ProvisionError("unknown lifecycle %r: use a number (0x3000) or one of %s"
                             % (text, ", ".join(sorted(LIFECYCLES))))
    if not 0 <= v <= 0xFFFF:
        raise ProvisionError("lifecycle must be in 0..0xFFFF")
    return v


def parse_key(text, what):
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ProvisionError("%s is not hex" % what)
    if not KEY_MIN <= len(key) <= KEY_MAX:
        raise ProvisionError("%s must be %d..%d bytes, got %d" % (what, KEY_MIN, KEY_MAX, len(key)))
    return key


def code_measurements(code_root=None, app_main=None):
    """{type: hex measurement} a device running this library (and app_main) will report."""
    out = {"sensorkit": measure.measure_tree(code_root or ROOT).hex()}
    if app_main:
        out["app"] = measure.measure_file(app_main, "main.py").hex()
    return out


def provision(store, identity, psk, iak, lifecycle=_tok.LIFECYCLE_SECURED, kid=None, force=False):
    """Write the device's secrets and identity into the ITS under `store`. Returns the instance id.

    Leaves the in-process SPM running on `store` (device.psa.spm.configure(storage_root=store)).
    """
    from device import identity as device_identity
    from device import psa
    from device.psa import its, spm
    from device.partitions import attest
    from device.partitions import crypto as crypto_partition
    from device.psa import crypto

    try:
        device_identity.check_identity(identity)
    except ValueError as e:
        raise ProvisionError(str(e))
    os.makedirs(store, exist_ok=True)
    spm.configure(storage_root=store)
    if not force:
        try:
            its.psa_its_get_info(device_identity.IDENTITY_UID)
            raise ProvisionError("%s already holds a provisioned device (use --force to replace it)" % store)
        except psa.PSAError:
            pass
    try:
        crypto_partition.provision_key(
            crypto.KEY_ID_PSK, crypto.PSA_KEY_TYPE_DERIVE, 8 * len(psk), crypto.PSA_KEY_USAGE_DERIVE,
            crypto.PSA_ALG_TLS12_PSK_TO_MS(crypto.PSA_ALG_SHA_256), psk, -1)
        iid = attest.provision_iak(iak, lifecycle, kid=kid)
        device_identity.set_identity(identity)
    except psa.PSAError as e:
        raise ProvisionError("writing the secure storage failed: %s" % e)
    spm.configure(storage_root=store)  # a reboot: partitions start from what is stored
    return iid


def registry_entry(identity, psk, iak, instance_id, measurements, lifecycles=None):
    from device.partitions.telemetry import base64url

    return {
        "psk": psk.hex(),
        "iak": iak.hex(),
        "instance_id": instance_id.hex(),
        "lifecycles": lifecycles or [_tok.LIFECYCLE_SECURED],
        "measurements": dict((k, [v]) for k, v in measurements.items()),
        "senml_base_name": base64url(instance_id) + ":",
    }


def load_registry(path):
    try:
        with open(path) as f:
            reg = json.load(f)
    except FileNotFoundError:
        return {"version": REGISTRY_VERSION, "devices": {}}
    except ValueError as e:
        raise ProvisionError("registry %s is not JSON: %s" % (path, e))
    if not isinstance(reg, dict) or not isinstance(reg.get("devices"), dict):
        raise ProvisionError("registry %s has no \"devices\" map" % path)
    return reg


def _write_private(path, text):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def add_to_registry(path, identity, entry):
    reg = load_registry(path)
    reg.setdefault("version", REGISTRY_VERSION)
    reg["devices"][identity] = entry
    _write_private(path, json.dumps(reg, indent=2, sort_keys=True) + "\n")


def add_parser(sub):
    p = sub.add_parser("provision", help="provision a simulated device's secure storage (PSK, IAK, identity)",
                       description=__doc__, formatter_class=_raw())
    p.add_argument("--store", metavar="DIR", help="the simulated device's ITS storage root (required without --port)")
    p.add_argument("--port", metavar="PORT", help="provision a MicroPython board on this serial port (mpremote)")
    p.add_argument("--board", metavar="NAME", help="with --port: measure the tree `sensorkit deploy --board NAME` installs")
    p.add_argument("--mpy", action="store_true", help="with --board: the board runs the .mpy-compiled library")
    p.add_argument("--native", action="store_true", help="with --board: the board runs `sensorkit deploy --native`")
    p.add_argument("--march", metavar="ARCH", help="with --board: as `sensorkit deploy --march ARCH`")
    p.add_argument("--native-modules", metavar="GLOB[,GLOB...]", help="with --board: as `sensorkit deploy --native-modules`")
    p.add_argument("--its-root", default="/its", metavar="PATH", help="with --port: ITS folder on the board (default /its)")
    p.add_argument("--dry-run", action="store_true", help="with --port: print the mpremote command, write nothing to the board")
    p.add_argument("--identity", required=True, metavar="ID", help="TLS-PSK identity (printable ASCII)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--psk", metavar="HEX", help="the TLS pre-shared key (16..64 bytes, hex)")
    g.add_argument("--generate-psk", action="store_true", help="generate a 32-byte PSK (printed once)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--iak", metavar="HEX", help="the Initial Attestation Key (16..64 bytes, hex)")
    g.add_argument("--generate-iak", action="store_true", help="generate a 32-byte IAK (printed once)")
    p.add_argument("--lifecycle", default="secured", metavar="STATE",
                   help="security lifecycle: secured (default, 0x3000), assembly-and-test, psa-rot-provisioning, "
                        "non-psa-rot-debug, recoverable-psa-rot-debug, decommissioned, or a number")
    p.add_argument("--registry", metavar="FILE", help="add the device to this gateway registry (JSON)")
    p.add_argument("--iak-file", metavar="FILE", help="also write the IAK (hex) to FILE, mode 0600")
    p.add_argument("--app-main", metavar="PATH", help="the device's main.py, measured for the registry")
    p.add_argument("--code-root", metavar="DIR",
                   help="folder holding the device/ and sensors/ the device runs (default: this library)")
    p.add_argument("--force", action="store_true", help="replace an already provisioned store")
    p.set_defaults(func=run)


def _raw():
    import argparse

    return argparse.RawDescriptionHelpFormatter


def board_measurements(board, mpy=False, native=False, march=None, native_modules=None):
    """Measurements of the tree `sensorkit deploy --board BOARD [--mpy] [--native ...]` installs."""
    from tools import deploy

    with tempfile.TemporaryDirectory(prefix="sensorkit-measure-") as d:
        deploy.stage(board, d, mpy=mpy, native=native, march=march, native_modules=native_modules)
        main = os.path.join(d, "code.py" if deploy.board_runtime(board) == "circuitpython" else "main.py")
        return code_measurements(os.path.join(d, "lib"), main)


def board_command(port, store, its_root="/its", mpremote="mpremote"):
    """One chained mpremote command copying every file of `store` into `its_root` on the board."""
    files = sorted(f for f in os.listdir(store) if os.path.isfile(os.path.join(store, f)))
    mk = "import os\ntry: os.mkdir(%r)\nexcept OSError: pass" % its_root
    cmd = [mpremote, "connect", port, "exec", mk]
    for f in files:
        cmd += ["+", "fs", "cp", "-f", os.path.join(store, f), ":%s/%s" % (its_root.rstrip("/"), f)]
    return cmd


def run(args):
    if not args.store and not args.port:
        print("sensorkit provision: give --store DIR (a simulated device) or --port PORT (a board)", file=sys.stderr)
        return 2
    if args.port and not args.registry:
        args.registry = "devices.json"
    store = args.store or tempfile.mkdtemp(prefix="sensorkit-provision-")
    try:
        lifecycle = parse_lifecycle(args.lifecycle)
        psk = os.urandom(32) if args.generate_psk else parse_key(args.psk, "--psk")
        iak = os.urandom(32) if args.generate_iak else parse_key(args.iak, "--iak")
        if args.board:
            modules = [m for m in (args.native_modules or "").split(",") if m.strip()] or None
            meas = board_measurements(args.board, args.mpy, args.native, args.march, modules)
        else:
            meas = code_measurements(args.code_root, args.app_main)
        iid = provision(store, args.identity, psk, iak, lifecycle, force=args.force)
        if args.port:
            cmd = board_command(args.port, store, args.its_root)
            if args.dry_run:
                print(shlex.join(cmd))
            elif subprocess.run(cmd).returncode != 0:
                raise ProvisionError("mpremote could not write the secure storage to %s" % args.port)
        if args.registry and not args.dry_run:
            add_to_registry(args.registry, args.identity, registry_entry(args.identity, psk, iak, iid, meas))
        if args.iak_file:
            _write_private(args.iak_file, iak.hex() + "\n")
    except (ProvisionError, OSError, ValueError) as e:
        print("sensorkit provision: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not args.store and not args.dry_run:
            shutil.rmtree(store, ignore_errors=True)  # the host copy of the board's secrets
    print("provisioned %s in %s" % (args.identity, ("%s:%s" % (args.port, args.its_root)) if args.port else store))
    print("  instance id  %s" % iid.hex())
    print("  lifecycle    0x%04x %s" % (lifecycle, _tok.LIFECYCLE_NAMES.get(lifecycle & 0xFF00, "")))
    for k in sorted(meas):
        print("  measurement  %s %s" % (k, meas[k]))
    if args.generate_psk:
        print("  PSK (generated, shown once)  %s" % psk.hex())
    if args.generate_iak:
        print("  IAK (generated, shown once)  %s" % iak.hex())
    if args.registry and not args.dry_run:
        print("  added to registry %s" % args.registry)
    return 0
