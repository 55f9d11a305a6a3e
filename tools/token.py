"""`sensorkit token`: make an Initial Attestation Token from a simulated device, or verify one.

    sensorkit token --store DIR --challenge HEX [--profile psa-iot-1|psa-2.0] --out FILE
    sensorkit token --verify FILE --iak-file KEYFILE [--challenge HEX] [--profile ...]

The first form boots the device whose secure storage is DIR (see `sensorkit provision`)
and asks its attestation partition for a token, as a non-secure caller would
(psa_initial_attest_get_token). The second checks a token with the device's IAK (hex text
or raw bytes in KEYFILE) -- tag 17, HMAC 256/256, claims, and the nonce when --challenge
is given -- and prints its claims; it exits 1 with the reason when the token fails.
"""

import argparse
import sys

from device.partitions.attest.token import PROFILES


def add_parser(sub):
    p = sub.add_parser("token", help="make an attestation token from a simulated device, or verify one",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--store", metavar="DIR", help="the provisioned device's storage (make a token)")
    p.add_argument("--verify", metavar="FILE", help="verify the token in FILE")
    p.add_argument("--challenge", metavar="HEX", help="the challenge (32, 48 or 64 bytes, hex)")
    p.add_argument("--profile", choices=PROFILES, help="claim keys: psa-iot-1 (default) or psa-2.0")
    p.add_argument("--out", metavar="FILE", help="where to write the token (with --store)")
    p.add_argument("--iak-file", metavar="KEYFILE", help="the device's IAK, hex or raw (with --verify)")
    p.set_defaults(func=run, _parser=p)


def _fail(msg):
    print("sensorkit token: %s" % msg, file=sys.stderr)
    return 1


def _challenge(text):
    try:
        return bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError("--challenge is not hex")


def make(store, challenge, profile=None):
    """The token (bytes) the device stored in `store` gives for `challenge`."""
    from device.psa import attest, spm

    config = {}
    if profile:
        config["attest_profile"] = profile
    spm.configure(storage_root=store, **config)
    return attest.psa_initial_attest_get_token(challenge)


def run(args):
    if bool(args.store) == bool(args.verify):
        return _fail("give either --store DIR (make a token) or --verify FILE (check one)")
    try:
        challenge = _challenge(args.challenge) if args.challenge else None
    except ValueError as e:
        return _fail(str(e))
    if args.verify:
        return _verify(args, challenge)
    if challenge is None or not args.out:
        return _fail("making a token needs --challenge HEX and --out FILE")
    import os

    from device import psa

    if not os.path.isdir(args.store):
        return _fail("no such store: %s (run sensorkit provision first)" % args.store)
    try:
        tok = make(args.store, challenge, args.profile)
    except psa.PSAError as e:
        return _fail("the attestation service refused: %s" % e)
    with open(args.out, "wb") as f:
        f.write(tok)
    print("wrote %s: %d-byte token (COSE_Mac0, HMAC 256/256) for a %d-byte challenge"
          % (args.out, len(tok), len(challenge)))
    return 0


def _verify(args, challenge):
    from tools.attestation import AttestationError, format_claims, read_key_file, verify_token

    if not args.iak_file:
        return _fail("--verify needs --iak-file KEYFILE")
    try:
        with open(args.verify, "rb") as f:
            tok = f.read()
        iak = read_key_file(args.iak_file)
    except (OSError, ValueError) as e:
        return _fail(str(e))
    try:
        claims = verify_token(tok, iak, challenge=challenge, profile=args.profile)
    except AttestationError as e:
        return _fail("token verification FAILED: %s" % e.reason)
    print("token OK: %d bytes, MAC verified%s" % (len(tok), ", nonce matches the challenge" if challenge else ""))
    print(format_claims(claims))
    return 0
