"""Initial Attestation partition (TFM_SP_INITIAL_ATTESTATION, pid 261, SID 0x20), symmetric.

Mirrors TF-M's symmetric initial attestation (Profile Small): the token is a COSE_Mac0
(HMAC 256/256) whose tag the crypto partition computes with the Initial Attestation Key
(KEY_ID_IAK, owned by this partition: no other caller can use it, nobody can export it).

Calls (TF-M tfm_attest_defs.h), both stateless, handle index 4:

- TFM_ATTEST_GET_TOKEN (1001): in_vec[0] = challenge (32, 48 or 64 bytes);
  out_vec[0] = token buffer (its .len becomes the token size).
- TFM_ATTEST_GET_TOKEN_SIZE (1002): in_vec[0] = challenge size (uint32, little-endian);
  out_vec[0] = 4 bytes: the token size (uint32, little-endian).

Statuses: PSA_ERROR_INVALID_ARGUMENT (challenge size not 32/48/64, malformed vectors),
PSA_ERROR_BUFFER_TOO_SMALL (out_vec[0] shorter than the token), PSA_ERROR_SERVICE_FAILURE
(no IAK or no attestation record provisioned: ``last_failure`` says which),
PSA_ERROR_NOT_SUPPORTED (another call type).

Claims: see token.py and docs/attestation.md. What the token says comes from:

- boot seed: 32 random bytes drawn once per boot (at init);
- instance id, security lifecycle, implementation id, kid: the attestation record that
  factory provisioning (``provision()``) writes into this partition's ITS namespace;
- software components: measured on first use and kept for the boot (measure.py);
- client id: the caller's, as the SPM reports it (negative: non-secure).

Config keys (device.psa.spm.configure): ``attest_profile`` ("psa-iot-1", default, or
"psa-2.0"); ``attest_sw_components`` (None: measure the library and the app's main.py; a
list of (type, measurement, version, description) to report instead; [] for none);
``app_main`` (path of the app script to measure; default: "main.py" in the current folder
-- a board's boot folder -- or next to the board module, when there is one).
"""

import os

from device import cbor, psa
from device.compat import const, urandom
from device.psa.service import psa_read, psa_write
from device.partitions.attest import token as _tok
from device.partitions.attest.token import (  # noqa: F401  (re-exported for callers)
    CHALLENGE_SIZES,
    LIFECYCLE_SECURED,
    PROFILE_PSA_2_0,
    PROFILE_PSA_IOT_1,
    instance_id_from_iak,
)

MANIFEST = {
    "name": "TFM_SP_INITIAL_ATTESTATION",
    "pid": 261,
    "type": "PSA-ROT",
    "priority": "NORMAL",
    "model": "SFN",
    "services": [
        {
            "name": "TFM_ATTESTATION_SERVICE",
            "sid": 0x20,
            "non_secure_clients": True,
            "version": 1,
            "version_policy": "STRICT",
            "connection_based": False,
            "stateless_handle": 4,
        }
    ],
}

TFM_ATTEST_GET_TOKEN = const(1001)
TFM_ATTEST_GET_TOKEN_SIZE = const(1002)

# ITS uid of the attestation record, in this partition's own namespace (client id 261)
ATTEST_RECORD_UID = const(0x41545354)  # "ATST"
# record keys (a CBOR map)
_R_LIFECYCLE = const(1)
_R_INSTANCE_ID = const(2)
_R_IMPLEMENTATION_ID = const(3)
_R_KID = const(4)

LIBRARY_VERSION = "0.1.0"
# Implementation id: identifies this implementation of the PSA RoT (the Python SPM and
# partitions of psa-sensorkit), 32 bytes, unless provisioning gives another.
DEFAULT_IMPLEMENTATION_ID = b"psa-sensorkit PSA RoT (Python)  "  # exactly 32 bytes

_profile = PROFILE_PSA_IOT_1
_config = {}
_boot_seed = None
_record = None  # (lifecycle, instance id, implementation id, kid) once read
_components = None
last_failure = None  # why the last request failed with SERVICE_FAILURE (S-side diagnostics)


def init(config):
    """Boot: choose the profile, draw the boot seed. Measurements and the record load lazily."""
    global _profile, _config, _boot_seed, _record, _components, last_failure
    profile = config.get("attest_profile") or PROFILE_PSA_IOT_1
    _tok.profile_index(profile)  # ValueError for an unknown profile: a configuration bug
    _profile = profile
    _config = config
    _record = None
    _components = None
    last_failure = None
    _boot_seed = _random(_tok.BOOT_SEED_SIZE)


def _random(n):
    """n random bytes from the crypto partition's RNG (the runtime's, when there is no crypto service)."""
    if psa.psa_version(0x80) != psa.PSA_VERSION_NONE:
        from device.psa import crypto

        try:
            return crypto.psa_generate_random(n)
        except psa.PSAError:
            pass
    return urandom(n)


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _app_main():
    path = _config.get("app_main")
    if path:
        return path
    if _exists("main.py"):
        return "main.py"
    board = _config.get("board")
    f = getattr(board, "__file__", None) if board is not None else None
    if f and "/" in f:
        cand = f.rsplit("/", 1)[0] + "/main.py"
        if _exists(cand):
            return cand
    return None


def _measure():
    """(type, value, version, description) of each deployed code tree, measured once per boot.

    A tree that cannot be read (e.g. modules frozen into the firmware) is left out, so a
    verifier that expects it refuses the device; last_failure says which.
    """
    global last_failure
    from device.partitions.attest import measure

    comps = []
    try:
        comps.append(("sensorkit", measure.measure_tree(measure.library_root()), LIBRARY_VERSION,
                      measure.DESCRIPTION))
    except OSError as e:
        last_failure = "library code not measurable: %r" % (e,)
    main = _app_main()
    if main:
        try:
            comps.append(("app", measure.measure_file(main, "main.py"), _config.get("app_version"),
                          measure.DESCRIPTION))
        except OSError as e:
            last_failure = "%s not measurable: %r" % (main, e)
    return comps


def software_components():
    """The software components this boot reports (measuring them on first use)."""
    global _components
    if _components is None:
        given = _config.get("attest_sw_components")
        _components = list(given) if given is not None else _measure()
    return _components


def _fail(reason):
    global last_failure
    last_failure = reason
    return psa.PSA_ERROR_SERVICE_FAILURE


def _load_record():
    """The provisioned record, or None (last_failure says why)."""
    global _record, last_failure
    if _record is not None:
        return _record
    from device.psa import its

    try:
        raw = its.psa_its_get(ATTEST_RECORD_UID)
    except psa.PSAError as e:
        last_failure = "no attestation record in ITS (%s): device not provisioned" % psa.status_name(e.status)
        return None
    try:
        rec = cbor.loads(raw)
    except ValueError:  # CBORDecodeError
        rec = None
    ok = isinstance(rec, dict) and _R_LIFECYCLE in rec and _R_INSTANCE_ID in rec
    if ok:
        lifecycle = rec[_R_LIFECYCLE]
        iid = rec[_R_INSTANCE_ID]
        impl = rec.get(_R_IMPLEMENTATION_ID, DEFAULT_IMPLEMENTATION_ID)
        kid = rec.get(_R_KID)
        ok = (isinstance(lifecycle, int) and not isinstance(lifecycle, bool) and 0 <= lifecycle <= 0xFFFF
              and isinstance(iid, bytes) and len(iid) == _tok.INSTANCE_ID_SIZE and iid[0] == _tok.UEID_TYPE_RAND
              and isinstance(impl, bytes) and 0 < len(impl) <= 32 and (kid is None or isinstance(kid, bytes)))
    if not ok:
        last_failure = "attestation record in ITS is malformed"
        return None
    _record = (lifecycle, iid, impl, kid)
    return _record


def _payload(challenge, client_id, rec):
    lifecycle, iid, impl, kid = rec
    return _tok.encode_claims(_profile, challenge, _boot_seed, iid, impl, client_id, lifecycle, software_components())


def make_token(challenge, client_id):
    """(status, token bytes or None): the token for `challenge` as `client_id` asked for it."""
    if len(challenge) not in CHALLENGE_SIZES:
        return psa.PSA_ERROR_INVALID_ARGUMENT, None
    rec = _load_record()
    if rec is None:
        return psa.PSA_ERROR_SERVICE_FAILURE, None
    payload = _payload(challenge, client_id, rec)
    from device.psa import crypto

    try:
        tag = crypto.psa_mac_compute(crypto.KEY_ID_IAK, crypto.PSA_ALG_HMAC(crypto.PSA_ALG_SHA_256),
                                     _tok.mac_structure(payload))
    except psa.PSAError as e:
        if e.status in (psa.PSA_ERROR_INVALID_HANDLE, psa.PSA_ERROR_DOES_NOT_EXIST, psa.PSA_ERROR_NOT_PERMITTED):
            return _fail("no Initial Attestation Key usable by the attestation partition (%s): "
                         "provision one (sensorkit provision --iak HEX | --generate-iak)" % psa.status_name(e.status)), None
        return e.status, None
    return psa.PSA_SUCCESS, _tok.encode_token(payload, tag, rec[3])


def token_size(challenge_size, client_id):
    """(status, size) of the token a `challenge_size`-byte challenge gives this client."""
    if challenge_size not in CHALLENGE_SIZES:
        return psa.PSA_ERROR_INVALID_ARGUMENT, 0
    rec = _load_record()
    if rec is None:
        return psa.PSA_ERROR_SERVICE_FAILURE, 0
    payload = _payload(bytes(challenge_size), client_id, rec)
    return psa.PSA_SUCCESS, len(_tok.encode_token(payload, bytes(_tok.MAC_SIZE), rec[3]))


def tfm_attestation_service_sfn(msg):
    if msg.type == TFM_ATTEST_GET_TOKEN:
        n = msg.in_size[0]
        if n not in CHALLENGE_SIZES:
            return psa.PSA_ERROR_INVALID_ARGUMENT
        challenge = psa_read(msg, 0, n)
        status, tok = make_token(challenge, msg.client_id)
        if status != psa.PSA_SUCCESS:
            return status
        if msg.out_size[0] < len(tok):
            return psa.PSA_ERROR_BUFFER_TOO_SMALL
        psa_write(msg, 0, tok)
        return psa.PSA_SUCCESS
    if msg.type == TFM_ATTEST_GET_TOKEN_SIZE:
        if msg.in_size[0] != 4:
            return psa.PSA_ERROR_INVALID_ARGUMENT
        size = int.from_bytes(psa_read(msg, 0, 4), "little")
        status, n = token_size(size, msg.client_id)
        if status != psa.PSA_SUCCESS:
            return status
        if msg.out_size[0] < 4:
            return psa.PSA_ERROR_BUFFER_TOO_SMALL
        psa_write(msg, 0, n.to_bytes(4, "little"))
        return psa.PSA_SUCCESS
    return psa.PSA_ERROR_NOT_SUPPORTED


# --- factory provisioning (S side: tools and tests, never NS code on a device) -------------------
def provision(instance_id, lifecycle=LIFECYCLE_SECURED, implementation_id=None, kid=None):
    """Write the attestation record into this partition's ITS namespace.

    instance_id: 33 bytes, 0x01 || SHA-256(SHA-256(IAK)) (instance_id_from_iak); lifecycle:
    0..0xFFFF (PSA states 0x1000..0x6000); implementation_id: <= 32 bytes (default
    DEFAULT_IMPLEMENTATION_ID); kid: bytes put in the token's unprotected header, or None.
    """
    global _record
    iid = bytes(instance_id)
    if len(iid) != _tok.INSTANCE_ID_SIZE or iid[0] != _tok.UEID_TYPE_RAND:
        raise ValueError("instance id must be 33 bytes starting 0x01")
    if not isinstance(lifecycle, int) or not 0 <= lifecycle <= 0xFFFF:
        raise ValueError("lifecycle must be an int in 0..0xFFFF")
    rec = {_R_LIFECYCLE: lifecycle, _R_INSTANCE_ID: iid}
    if implementation_id is not None:
        impl = bytes(implementation_id)
        if not 0 < len(impl) <= 32:
            raise ValueError("implementation id must be 1..32 bytes")
        rec[_R_IMPLEMENTATION_ID] = impl
    if kid is not None:
        rec[_R_KID] = bytes(kid)
    from device.psa import its, spm

    spm.get().run_as(MANIFEST["pid"], its.psa_its_set, ATTEST_RECORD_UID, cbor.dumps(rec))
    _record = None


def provision_iak(iak, lifecycle=LIFECYCLE_SECURED, implementation_id=None, kid=None):
    """Factory step: the IAK into the crypto partition's key store (owner: this partition) and
    the matching attestation record (instance id derived from the IAK). Returns the instance id."""
    from device.psa import crypto
    from device.partitions import crypto as crypto_partition

    iak = bytes(iak)
    if not 16 <= len(iak) <= 64:
        raise ValueError("the IAK must be 16..64 bytes (32 recommended)")
    crypto_partition.provision_key(
        crypto.KEY_ID_IAK,
        crypto.PSA_KEY_TYPE_HMAC,
        8 * len(iak),
        crypto.PSA_KEY_USAGE_SIGN_MESSAGE | crypto.PSA_KEY_USAGE_VERIFY_MESSAGE,
        crypto.PSA_ALG_HMAC(crypto.PSA_ALG_SHA_256),
        iak,
        MANIFEST["pid"],
    )
    iid = instance_id_from_iak(iak)
    provision(iid, lifecycle, implementation_id, kid)
    return iid
