"""Host-side verification of symmetric Initial Attestation Tokens (COSE_Mac0, HMAC 256/256).

Used by `sensorkit token --verify` and by the reference gateway:

    from tools.attestation import verify_token, check_registry_entry, AttestationError
    claims = verify_token(token, iak, challenge=nonce)     # raises AttestationError(reason)
    check_registry_entry(claims, registry["devices"][identity])   # lifecycle, instance id, code

verify_token checks, in order: CBOR tag 17 (COSE_Mac0) around a 4-element array; the
protected header is exactly {1: 5} (HMAC 256/256); the tag, with pycose and the IAK; the
claims map of PSA IoT Profile 1 or PSA 2.0 (detected, or required with ``profile=``): nonce
of 32/48/64 bytes (and equal to ``challenge`` when given, compared in constant time),
instance id = 0x01 || SHA-256(SHA-256(IAK)), boot seed >= 32 bytes, implementation id
(1..32 bytes), client id and lifecycle (ints), software components (each with a
measurement value of >= 32 bytes) or the no-sw-components claim -- the checks of TF-M's
iat-verifier (tf-m-tools) for these profiles. It returns the claims by name::

    {"profile": "psa-iot-1", "profile_name": "PSA_IOT_PROFILE_1", "nonce": b"...",
     "boot_seed": b"...", "instance_id": b"\\x01...", "implementation_id": b"...",
     "client_id": -1, "lifecycle": 0x3000, "lifecycle_name": "secured",
     "sw_components": [{"type": "sensorkit", "measurement": b"...", "version": "0.1.0",
                        "description": "sha-256"}, ...],   # [] when none
     "kid": None}

Note: pycose 1.1's Mac0Message.decode() cannot read cbor2 >= 6 output (arrays come back as
tuples, maps as frozendict), so this module decodes with cbor2 itself and hands pycose
the parts (Mac0Message.from_cose_obj).
"""

import hmac
from collections.abc import Mapping

import cbor2
from pycose.keys import SymmetricKey
from pycose.messages import Mac0Message

from device.partitions.attest import token as _tok
from tools.cbor_item import loads_one

__all__ = ["AttestationError", "verify_token", "decode_token", "check_registry_entry", "format_claims",
           "instance_id_from_iak", "read_key_file"]

instance_id_from_iak = _tok.instance_id_from_iak


class AttestationError(ValueError):
    """The token failed verification; ``.reason`` says why in one line."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _parts(token):
    if not isinstance(token, (bytes, bytearray, memoryview)):
        raise AttestationError("token must be bytes")
    try:
        obj = loads_one(bytes(token))
    except Exception as e:  # cbor2 raises several types on malformed input
        raise AttestationError("token is not well-formed CBOR: %s" % e)
    if not isinstance(obj, cbor2.CBORTag):
        raise AttestationError("token is not tagged: a COSE_Mac0 must carry CBOR tag 17")
    if obj.tag != _tok.COSE_TAG_MAC0:
        raise AttestationError("token has CBOR tag %d, not 17 (COSE_Mac0)" % obj.tag)
    arr = obj.value
    if not isinstance(arr, (list, tuple)) or len(arr) != 4:
        raise AttestationError("COSE_Mac0 must be an array of 4 items")
    phdr, uhdr, payload, tag = arr
    if not isinstance(phdr, bytes) or not isinstance(payload, bytes) or not isinstance(tag, bytes):
        raise AttestationError("COSE_Mac0 protected header, payload and tag must be byte strings")
    if not isinstance(uhdr, Mapping):
        raise AttestationError("COSE_Mac0 unprotected header must be a map")
    try:
        prot = loads_one(phdr) if phdr else {}
    except Exception:
        raise AttestationError("protected header is not CBOR")
    if not isinstance(prot, Mapping) or dict(prot) != {1: _tok.COSE_ALG_HMAC_256_256}:
        raise AttestationError("protected header must be {1: 5} (HMAC 256/256), got %r" % (prot,))
    if len(tag) != _tok.MAC_SIZE:
        raise AttestationError("MAC tag must be 32 bytes, got %d" % len(tag))
    return phdr, dict(uhdr), payload, tag


def _claims(payload):
    try:
        claims = loads_one(payload)
    except Exception as e:  # cbor2 raises several types on malformed input
        raise AttestationError("payload is not CBOR: %s" % e)
    if not isinstance(claims, Mapping):
        raise AttestationError("payload must be a CBOR map of claims")
    return dict(claims)


def decode_token(token):
    """(claims map as cbor2 decodes it, unprotected header) without checking the MAC."""
    _phdr, uhdr, payload, _tag = _parts(token)
    return _claims(payload), uhdr


def _mac_ok(phdr, uhdr, payload, tag, iak):
    try:  # pycose parses the unprotected header here; a malformed one raises its own types
        msg = Mac0Message.from_cose_obj([phdr, uhdr, payload, tag], True)
    except Exception as e:
        raise AttestationError("COSE_Mac0 headers are not valid COSE: %s" % e)
    msg.key = SymmetricKey(k=bytes(iak))
    try:
        return msg.verify_tag()
    except Exception as e:
        raise AttestationError("MAC verification failed: %s" % e)


def _profile_of(claims, wanted):
    iot = any(k in claims for k in (_tok.CLAIM_KEYS["nonce"][0], _tok.CLAIM_KEYS["profile"][0]))
    v2 = any(k in claims for k in (_tok.CLAIM_KEYS["nonce"][1], _tok.CLAIM_KEYS["profile"][1]))
    if iot == v2:
        raise AttestationError("claims use neither (or both) PSA IoT Profile 1 and PSA 2.0 keys")
    found = _tok.PROFILE_PSA_IOT_1 if iot else _tok.PROFILE_PSA_2_0
    if wanted is not None and wanted != found:
        raise AttestationError("token uses the %s profile, %s was required" % (found, wanted))
    return found


def _bytes_claim(claims, key, name, sizes=None, min_len=None, max_len=None):
    if key not in claims:
        raise AttestationError("missing claim: %s" % name)
    v = claims[key]
    if not isinstance(v, bytes):
        raise AttestationError("claim %s must be a byte string" % name)
    if sizes is not None and len(v) not in sizes:
        raise AttestationError("claim %s has %d bytes, must be one of %s" % (name, len(v), "/".join(map(str, sizes))))
    if min_len is not None and len(v) < min_len:
        raise AttestationError("claim %s has %d bytes, at least %d needed" % (name, len(v), min_len))
    if max_len is not None and len(v) > max_len:
        raise AttestationError("claim %s has %d bytes, at most %d allowed" % (name, len(v), max_len))
    return v


def _int_claim(claims, key, name):
    if key not in claims:
        raise AttestationError("missing claim: %s" % name)
    v = claims[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise AttestationError("claim %s must be an integer" % name)
    return v


def _components(claims, i):
    key = _tok.CLAIM_KEYS["sw_components"][i]
    nokey = _tok.CLAIM_KEYS["no_sw_components"][i]
    if key not in claims:
        if nokey is not None and nokey in claims:
            return []
        if nokey is None:
            return []  # PSA 2.0 without components: reported as none
        raise AttestationError("neither software components nor the no-sw-components claim is present")
    comps = claims[key]
    if not isinstance(comps, (list, tuple)) or not comps:
        raise AttestationError("software components must be a non-empty array")
    out = []
    for c in comps:
        if not isinstance(c, Mapping):
            raise AttestationError("a software component must be a map")
        value = c.get(_tok.SW_VALUE)
        if not isinstance(value, bytes) or len(value) < 32:
            raise AttestationError("a software component needs a measurement value of at least 32 bytes")
        comp = {"type": c.get(_tok.SW_TYPE), "measurement": value, "version": c.get(_tok.SW_VERSION),
                "description": c.get(_tok.SW_DESCRIPTION)}
        if _tok.SW_SIGNER_ID in c:
            comp["signer_id"] = c[_tok.SW_SIGNER_ID]
        for k in ("type", "version", "description"):
            if comp[k] is not None and not isinstance(comp[k], str):
                raise AttestationError("software component %s must be text" % k)
        out.append(comp)
    return out


def verify_token(token, iak, challenge=None, profile=None):
    """Verify a token with the device's IAK; returns the claims by name (see the module doc).

    challenge: the nonce the verifier sent (bytes), checked when given. profile: require
    "psa-iot-1" or "psa-2.0" (default: either). Raises AttestationError with the reason.
    """
    if not isinstance(iak, (bytes, bytearray)) or not iak:
        raise AttestationError("the IAK must be non-empty bytes")
    if challenge is not None and not isinstance(challenge, (bytes, bytearray, memoryview)):
        raise TypeError("challenge must be bytes (bytes(n) of an int would be n zero bytes)")
    phdr, uhdr, payload, tag = _parts(token)
    if not _mac_ok(phdr, uhdr, payload, tag, iak):
        raise AttestationError("MAC mismatch: the token was not made with this IAK, or was altered")
    claims = _claims(payload)
    prof = _profile_of(claims, profile)
    i = _tok.profile_index(prof)
    K = dict((name, keys[i]) for name, keys in _tok.CLAIM_KEYS.items())
    nonce = _bytes_claim(claims, K["nonce"], "nonce", sizes=_tok.CHALLENGE_SIZES)
    if challenge is not None and not hmac.compare_digest(bytes(challenge), nonce):
        raise AttestationError("nonce does not match the challenge: a replayed or foreign token")
    iid = _bytes_claim(claims, K["instance_id"], "instance id", sizes=(_tok.INSTANCE_ID_SIZE,))
    if iid[0] != _tok.UEID_TYPE_RAND:
        raise AttestationError("instance id must start with 0x01 (UEID type RAND)")
    if not hmac.compare_digest(iid, instance_id_from_iak(iak)):
        raise AttestationError("instance id is not 0x01 || SHA-256(SHA-256(IAK))")
    boot_seed = _bytes_claim(claims, K["boot_seed"], "boot seed", min_len=32)
    impl = _bytes_claim(claims, K["implementation_id"], "implementation id", min_len=1, max_len=32)
    client_id = _int_claim(claims, K["client_id"], "client id")
    lifecycle = _int_claim(claims, K["lifecycle"], "security lifecycle")
    if not 0 <= lifecycle <= 0xFFFF:
        raise AttestationError("security lifecycle %r outside 0..0xFFFF" % lifecycle)
    pname = claims.get(K["profile"])
    if pname is not None and not isinstance(pname, str):
        raise AttestationError("profile definition must be text")
    if prof == _tok.PROFILE_PSA_2_0 and pname != _tok.PROFILE_NAMES[1]:
        raise AttestationError("PSA 2.0 profile definition must be %r" % _tok.PROFILE_NAMES[1])
    kid = uhdr.get(4)
    return {
        "profile": prof,
        "profile_name": pname,
        "nonce": nonce,
        "boot_seed": boot_seed,
        "instance_id": iid,
        "implementation_id": impl,
        "client_id": client_id,
        "lifecycle": lifecycle,
        "lifecycle_name": lifecycle_name(lifecycle),
        "sw_components": _components(claims, i),
        "kid": kid if isinstance(kid, bytes) else None,
    }


def lifecycle_name(value):
    base = _tok.LIFECYCLE_NAMES.get(value & 0xFF00, "invalid")
    return base if value & 0xFF == 0 else "%s (0x%02x)" % (base, value & 0xFF)


def _registry_hex(text, what):
    try:
        return bytes.fromhex(text)
    except (TypeError, ValueError):
        raise AttestationError("registry entry: %s is not a hex string: %r" % (what, text))


def check_registry_entry(claims, entry):
    """Check verified claims against a device's registry entry (docs/provisioning.md).

    entry keys used: "instance_id" (hex), "lifecycles" (allowed ints, default [0x3000]),
    "measurements" ({type: [hex, ...]}: every component the token reports must have an
    allowed measurement for its type, and every type listed must be reported).
    Raises AttestationError with the reason.
    """
    if not isinstance(entry, Mapping):
        raise AttestationError("registry entry must be a JSON object")
    iid = entry.get("instance_id")
    if iid is not None and _registry_hex(iid, "instance_id") != claims["instance_id"]:
        raise AttestationError("instance id differs from the registry's")
    allowed = entry.get("lifecycles", [_tok.LIFECYCLE_SECURED])
    if not isinstance(allowed, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in allowed):
        raise AttestationError("registry entry: lifecycles must be a list of ints: %r" % (allowed,))
    if claims["lifecycle"] not in allowed:
        raise AttestationError("lifecycle %s (0x%04x) not allowed (registry allows %s)" % (
            claims["lifecycle_name"], claims["lifecycle"], ", ".join("0x%04x" % x for x in allowed)))
    meas = entry.get("measurements")
    if meas is not None and not (isinstance(meas, Mapping) and all(isinstance(v, list) for v in meas.values())):
        raise AttestationError("registry entry: measurements must map a component type to a list of hex strings")
    if meas is not None:
        seen = set()
        for c in claims["sw_components"]:
            ok = [_registry_hex(h, "measurement of %r" % c["type"]) for h in meas.get(c["type"], [])]
            if c["measurement"] not in ok:
                raise AttestationError("software component %r measures %s: not an allowed measurement" % (
                    c["type"], c["measurement"].hex()))
            seen.add(c["type"])
        missing = [t for t in meas if t not in seen]
        if missing:
            raise AttestationError("software component(s) %s not reported" % ", ".join(sorted(missing)))


def format_claims(claims):
    """The verified claims as readable lines (bytes in hex)."""
    lines = [
        "profile            %s (%s)" % (claims["profile"], claims["profile_name"]),
        "nonce              %s" % claims["nonce"].hex(),
        "instance id        %s" % claims["instance_id"].hex(),
        "boot seed          %s" % claims["boot_seed"].hex(),
        "implementation id  %s" % claims["implementation_id"].hex(),
        "client id          %d%s" % (claims["client_id"], " (non-secure)" if claims["client_id"] < 0 else ""),
        "security lifecycle 0x%04x %s" % (claims["lifecycle"], claims["lifecycle_name"]),
    ]
    if claims.get("kid") is not None:
        lines.append("kid                %s" % claims["kid"].hex())
    if not claims["sw_components"]:
        lines.append("software           (no software components)")
    for c in claims["sw_components"]:
        lines.append("software           %s %s %s: %s" % (c["type"], c["version"] or "-", c["description"] or "",
                                                          c["measurement"].hex()))
    return "\n".join(lines)


def read_key_file(path):
    """A key file: hex text (whitespace ignored) or raw bytes."""
    with open(path, "rb") as f:
        data = f.read()
    text = b"".join(data.split())
    try:
        if text and len(text) % 2 == 0:
            return bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        pass
    if not data:
        raise ValueError("key file %s is empty" % path)
    return data
