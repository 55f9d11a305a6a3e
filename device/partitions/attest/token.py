"""The Initial Attestation Token: claim keys of both profiles and the COSE_Mac0 encoding.

Pure functions shared by the attestation partition and host tools (token size figures).
The layout follows TF-M's symmetric attestation (attest_core.c, t_cose COSE_Mac0):

    token   = #6.17([ h'A10105' (protected {1: 5}: HMAC 256/256),
                      {} or {4: kid} (unprotected),
                      payload (bstr: the claims map),
                      tag (bstr: 32 bytes) ])
    tag     = HMAC-SHA256(IAK, ["MAC0", h'A10105', h'', payload])

Claims are written in TF-M's order: nonce, boot seed, instance id, implementation id,
client id, security lifecycle, software components (or no-sw-components = 1), profile.
"""

from device import cbor
from device.compat import const

PROFILE_PSA_IOT_1 = "psa-iot-1"
PROFILE_PSA_2_0 = "psa-2.0"
PROFILES = (PROFILE_PSA_IOT_1, PROFILE_PSA_2_0)

# claim name -> (PSA IoT Profile 1 key, PSA 2.0 key); None: the claim does not exist there
CLAIM_KEYS = {
    "profile": (-75000, 265),
    "client_id": (-75001, 2394),
    "lifecycle": (-75002, 2395),
    "implementation_id": (-75003, 2396),
    "boot_seed": (-75004, 268),
    "certification_reference": (-75005, 2398),
    "sw_components": (-75006, 2399),
    "no_sw_components": (-75007, None),
    "nonce": (-75008, 10),
    "instance_id": (-75009, 256),
    "verification_service": (-75010, 2400),
}
PROFILE_NAMES = ("PSA_IOT_PROFILE_1", "tag:psacertified.org,2023:psa#tfm")

# software component map keys
SW_TYPE = const(1)
SW_VALUE = const(2)
SW_VERSION = const(4)
SW_SIGNER_ID = const(5)
SW_DESCRIPTION = const(6)

# security lifecycle states (PSA Security Model; the low byte is implementation defined)
LIFECYCLE_UNKNOWN = const(0x0000)
LIFECYCLE_ASSEMBLY_AND_TEST = const(0x1000)
LIFECYCLE_PSA_ROT_PROVISIONING = const(0x2000)
LIFECYCLE_SECURED = const(0x3000)
LIFECYCLE_NON_PSA_ROT_DEBUG = const(0x4000)
LIFECYCLE_RECOVERABLE_PSA_ROT_DEBUG = const(0x5000)
LIFECYCLE_DECOMMISSIONED = const(0x6000)
LIFECYCLE_NAMES = {
    0x0000: "unknown",
    0x1000: "assembly-and-test",
    0x2000: "psa-rot-provisioning",
    0x3000: "secured",
    0x4000: "non-psa-rot-debug",
    0x5000: "recoverable-psa-rot-debug",
    0x6000: "decommissioned",
}

COSE_TAG_MAC0 = const(17)
COSE_ALG_HMAC_256_256 = const(5)
PROTECTED = b"\xa1\x01\x05"  # {1: 5}
CHALLENGE_SIZES = (32, 48, 64)
INSTANCE_ID_SIZE = const(33)
UEID_TYPE_RAND = const(0x01)
BOOT_SEED_SIZE = const(32)
MAC_SIZE = const(32)


def profile_index(profile):
    try:
        return PROFILES.index(profile)
    except ValueError:
        raise ValueError("unknown attestation profile %r (use %s)" % (profile, " or ".join(PROFILES)))


def instance_id_from_iak(iak):
    """0x01 || SHA-256(SHA-256(IAK)): the symmetric IAK hashed twice (TF-M attest_symmetric_key.c)."""
    import hashlib

    return b"\x01" + hashlib.sha256(hashlib.sha256(bytes(iak)).digest()).digest()


def _bstr_head(n):
    if n < 24:
        return bytes((0x40 | n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return bytes((0x59, n >> 8, n & 0xFF))
    return b"\x5a" + n.to_bytes(4, "big")


def encode_claims(profile, nonce, boot_seed, instance_id, implementation_id, client_id, lifecycle,
                  sw_components):
    """The claims map (bytes) in TF-M's order.

    sw_components: list of (type, measurement value, version, description); empty -> the
    no-sw-components claim (PSA IoT Profile 1; PSA 2.0 has no such claim and omits both).
    """
    i = profile_index(profile)
    items = [
        (CLAIM_KEYS["nonce"][i], bytes(nonce)),
        (CLAIM_KEYS["boot_seed"][i], bytes(boot_seed)),
        (CLAIM_KEYS["instance_id"][i], bytes(instance_id)),
        (CLAIM_KEYS["implementation_id"][i], bytes(implementation_id)),
        (CLAIM_KEYS["client_id"][i], client_id),
        (CLAIM_KEYS["lifecycle"][i], lifecycle),
    ]
    if sw_components:
        comps = []
        for c in sw_components:
            # a list of pairs keeps the order type, value, version, description on the wire
            comp = [(SW_TYPE, c[0]), (SW_VALUE, bytes(c[1]))]
            if c[2] is not None:
                comp.append((SW_VERSION, c[2]))
            comp.append((SW_DESCRIPTION, c[3]))
            comps.append(comp)
        items.append((CLAIM_KEYS["sw_components"][i], comps))
    elif CLAIM_KEYS["no_sw_components"][i] is not None:
        items.append((CLAIM_KEYS["no_sw_components"][i], 1))
    items.append((CLAIM_KEYS["profile"][i], PROFILE_NAMES[i]))
    out = bytearray(_map_head(len(items)))
    for k, v in items:
        out += cbor.dumps(k)
        if k == CLAIM_KEYS["sw_components"][i]:
            out += _array_head(len(v))
            for comp in v:
                out += _map_head(len(comp))
                for ck, cv in comp:
                    out += cbor.dumps(ck)
                    out += cbor.dumps(cv)
        else:
            out += cbor.dumps(v)
    return bytes(out)


def _map_head(n):
    return bytes((0xA0 | n,)) if n < 24 else bytes((0xB8, n))


def _array_head(n):
    return bytes((0x80 | n,)) if n < 24 else bytes((0x98, n))


def mac_structure(payload):
    """MAC_structure of RFC 9052 §6.3 for COSE_Mac0 with our protected header, no external AAD."""
    return b"\x84\x64MAC0\x43" + PROTECTED + b"\x40" + _bstr_head(len(payload)) + payload


def encode_token(payload, tag, kid=None):
    """The tagged COSE_Mac0 (bytes) around `payload` with authentication `tag`."""
    if kid:
        unprotected = b"\xa1\x04" + _bstr_head(len(kid)) + bytes(kid)
    else:
        unprotected = b"\xa0"
    return (b"\xd1\x84\x43" + PROTECTED + unprotected + _bstr_head(len(payload)) + payload
            + _bstr_head(len(tag)) + bytes(tag))
