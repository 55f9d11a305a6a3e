"""`sensorkit provision` and `sensorkit token`, run as a user runs them (a real subprocess)."""

import json
import os
import stat
import subprocess
import sys

from tools.attestation import verify_token

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHALLENGE = "5a" * 48

def sk(*args):
    r = subprocess.run([sys.executable, "-m", "tools.cli"] + list(args), cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr

def test_provision_generate_then_token_then_verify(tmp_path):
    store, reg, iakf, tok = (str(tmp_path / n) for n in ("dev", "devices.json", "iak.hex", "tok.cbor"))
    rc, out, err = sk("provision", "--store", store, "--identity", "sensor-0042", "--generate-psk",
                      "--generate-iak", "--registry", reg, "--iak-file", iakf)
    assert rc == 0, err
    lines = dict(l.strip().split("  ", 1) for l in out.splitlines() if "(generated, shown once)" in l)
    psk = bytes.fromhex(lines["PSK (generated, shown once)"].strip())
    iak = bytes.fromhex(lines["IAK (generated, shown once)"].strip())
    assert len(psk) == 32 and len(iak) == 32 and psk != iak
    # the registry holds what the gateway needs, and only its owner may read it
    entry = json.load(open(reg))["devices"]["sensor-0042"]
    assert entry["psk"] == psk.hex() and entry["iak"] == iak.hex()
    assert entry["lifecycles"] == [0x3000]
    assert entry["senml_base_name"].endswith(":") and len(entry["senml_base_name"]) == 45
    assert stat.S_IMODE(os.stat(reg).st_mode) == 0o600 and stat.S_IMODE(os.stat(iakf).st_mode) == 0o600
    assert open(iakf).read().strip() == iak.hex()

    rc, out, err = sk("token", "--store", store, "--challenge", CHALLENGE, "--out", tok)
    assert rc == 0, err
    data = open(tok, "rb").read()
    claims = verify_token(data, iak, challenge=bytes.fromhex(CHALLENGE))
    assert claims["instance_id"].hex() == entry["instance_id"]
    assert claims["sw_components"][0]["measurement"].hex() == entry["measurements"]["sensorkit"][0]

    rc, out, err = sk("token", "--verify", tok, "--iak-file", iakf, "--challenge", CHALLENGE)
    assert rc == 0, err
    assert "token OK" in out and entry["instance_id"] in out and "secured" in out

    # failures: each exits 1 with the reason
    rc, out, err = sk("token", "--verify", tok, "--iak-file", iakf, "--challenge", "00" * 48)
    assert rc == 1 and "nonce does not match" in err
    bad = tmp_path / "bad.cbor"
    bad.write_bytes(data[1:])
    rc, out, err = sk("token", "--verify", str(bad), "--iak-file", iakf)
    assert rc == 1 and "not tagged" in err
    raw = bytearray(data)
    raw[-40] ^= 0xFF  # inside the payload
    bad.write_bytes(bytes(raw))
    rc, out, err = sk("token", "--verify", str(bad), "--iak-file", iakf)
    assert rc == 1 and "MAC mismatch" in err
    other = tmp_path / "other.key"
    other.write_bytes(os.urandom(32))  # a raw-bytes key file
    rc, out, err = sk("token", "--verify", tok, "--iak-file", str(other))
    assert rc == 1 and "MAC mismatch" in err

def test_given_secrets_are_never_printed_and_reprovisioning_needs_force(tmp_path):
    store = str(tmp_path / "dev")
    psk, iak = "11" * 32, "22" * 32
    rc, out, err = sk("provision", "--store", store, "--identity", "s-1", "--psk", psk, "--iak", iak,
                      "--lifecycle", "non-psa-rot-debug")
    assert rc == 0, err
    assert psk not in out + err and iak not in out + err
    assert "0x4000" in out
    rc, out, err = sk("provision", "--store", store, "--identity", "s-1", "--psk", psk, "--iak", iak)
    assert rc == 1 and "--force" in err
    rc, out, err = sk("provision", "--store", store, "--identity", "s-1", "--psk", psk, "--iak", "33" * 32,
                      "--force")
    assert rc == 0, err
    tok = str(tmp_path / "t.cbor")
    assert sk("token", "--store", store, "--challenge", "01" * 32, "--profile", "psa-2.0", "--out", tok)[0] == 0
    c = verify_token(open(tok, "rb").read(), bytes.fromhex("33" * 32), profile="psa-2.0")
    assert c["lifecycle"] == 0x3000  # --force re-provisioned with the default lifecycle

def test_the_store_is_what_the_device_reads(tmp_path):
    """The identity and keys land in the ITS the device partitions use."""
    store = str(tmp_path / "dev")
    assert sk("provision", "--store", store, "--identity", "gw-test-7", "--psk", "aa" * 16, "--iak", "bb" * 32)[0] == 0
    code = ("from device.psa import spm, crypto, PSAError\n"
            "from device import identity\n"
            "spm.configure(storage_root=%r)\n"
            "print(identity.get_identity())\n"
            "try:\n"
            "    crypto.psa_export_key(crypto.KEY_ID_PSK)\n"
            "except PSAError as e:\n"
            "    print(e.status)\n" % store)
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["gw-test-7", "-133"], r.stderr  # the PSK cannot be exported

def test_bad_arguments(tmp_path):
    store = str(tmp_path / "dev")
    cases = [
        (["provision", "--store", store, "--identity", "x", "--psk", "zz", "--generate-iak"], "not hex"),
        (["provision", "--store", store, "--identity", "x", "--psk", "11" * 8, "--generate-iak"], "16..64 bytes"),
        (["provision", "--store", store, "--identity", "has space", "--generate-psk", "--generate-iak"], "printable"),
        (["provision", "--store", store, "--identity", "x", "--generate-psk", "--generate-iak", "--lifecycle", "odd"],
         "unknown lifecycle"),
        (["token", "--store", store, "--challenge", "00" * 32, "--out", str(tmp_path / "t")], "no such store"),
        (["token", "--verify", str(tmp_path / "none"), "--iak-file", str(tmp_path / "none")], "No such file"),
        (["token"], "either --store"),
    ]
    for args, reason in cases:
        rc, out, err = sk(*args)
        assert rc != 0 and reason in err, (args, err)
    # an unprovisioned store: the attestation service says so
    os.makedirs(store)
    rc, out, err = sk("token", "--store", store, "--challenge", "00" * 32, "--out", str(tmp_path / "t"))
    assert rc == 1 and "PSA_ERROR_SERVICE_FAILURE" in err and "provision" in err
    rc, out, err = sk("token", "--store", store, "--challenge", "00" * 20, "--out", str(tmp_path / "t"))
    assert rc == 1 and "INVALID_ARGUMENT" in err
