"""NS wrappers for Initial Attestation (TF-M interface/src/tfm_attest_api.c), one psa_call each.

    from device.psa import attest
    size = attest.psa_initial_attest_get_token_size(32)
    token = attest.psa_initial_attest_get_token(challenge)      # bytes: a tagged COSE_Mac0

    buf = bytearray(attest.PSA_INITIAL_ATTEST_TOKEN_MAX_SIZE)   # or reuse a buffer:
    n = attest.psa_initial_attest_get_token_into(challenge, buf)

Failures raise PSAError with .status: PSA_ERROR_INVALID_ARGUMENT (challenge not 32, 48 or
64 bytes), PSA_ERROR_BUFFER_TOO_SMALL (token_buf_size / buffer too short),
PSA_ERROR_SERVICE_FAILURE (the device has no Initial Attestation Key or attestation record:
run `sensorkit provision`). The token format is in docs/attestation.md; the host verifier
is tools.attestation.verify_token.
"""

from device import psa
from device.psa import PSAError, psa_outvec

TFM_ATTESTATION_SERVICE_SID = 0x20
TFM_ATTESTATION_SERVICE_VERSION = 1
TFM_ATTESTATION_SERVICE_HANDLE = 0x40000103  # (1 << 30) | (1 << 8) | (4 - 1)
TFM_ATTEST_GET_TOKEN = 1001
TFM_ATTEST_GET_TOKEN_SIZE = 1002

PSA_INITIAL_ATTEST_CHALLENGE_SIZE_32 = 32
PSA_INITIAL_ATTEST_CHALLENGE_SIZE_48 = 48
PSA_INITIAL_ATTEST_CHALLENGE_SIZE_64 = 64
# the largest token this implementation makes (64-byte challenge, two software components,
# a kid): PSA Attestation API's PSA_INITIAL_ATTEST_TOKEN_MAX_SIZE, TF-M's default 0x250
PSA_INITIAL_ATTEST_TOKEN_MAX_SIZE = 0x250

_H = TFM_ATTESTATION_SERVICE_HANDLE
_NOT_PROVISIONED = ("the attestation service failed: most likely the device has no Initial Attestation Key "
                    "or attestation record (provision it: sensorkit provision --iak HEX | --generate-iak)")


def _check(status):
    if status != psa.PSA_SUCCESS:
        detail = None
        if status == psa.PSA_ERROR_INVALID_ARGUMENT:
            detail = "the challenge must be 32, 48 or 64 bytes"
        elif status == psa.PSA_ERROR_BUFFER_TOO_SMALL:
            detail = "the token buffer is too small (see psa_initial_attest_get_token_size)"
        elif status == psa.PSA_ERROR_SERVICE_FAILURE:
            detail = _NOT_PROVISIONED
        raise PSAError(status, detail)


def psa_initial_attest_get_token_into(challenge, token_buf):
    """Write the token for `challenge` into `token_buf` (bytearray); returns its size."""
    out = psa_outvec(token_buf)
    _check(psa.psa_call(_H, TFM_ATTEST_GET_TOKEN, (challenge,), (out,)))
    return out.len


def psa_initial_attest_get_token(challenge, token_buf_size=None):
    """The Initial Attestation Token (bytes) binding `challenge` (32, 48 or 64 bytes).

    token_buf_size: the buffer size to offer, as in C (default: exactly the size the
    service reports for this challenge size).
    """
    if token_buf_size is None:
        try:
            n = len(challenge)
        except TypeError:
            raise PSAError(psa.PSA_ERROR_INVALID_ARGUMENT, "the challenge must be bytes")
        token_buf_size = psa_initial_attest_get_token_size(n)
    buf = bytearray(token_buf_size)
    n = psa_initial_attest_get_token_into(challenge, buf)
    return bytes(buf) if n == len(buf) else bytes(memoryview(buf)[:n])


def psa_initial_attest_get_token_size(challenge_size):
    """The size (int) of the token a challenge of `challenge_size` bytes gives this caller."""
    if not isinstance(challenge_size, int) or challenge_size < 0 or challenge_size >= 1 << 32:
        raise PSAError(psa.PSA_ERROR_INVALID_ARGUMENT, "challenge size must be an int in 0..2**32-1")
    out = psa_outvec(4)
    _check(psa.psa_call(_H, TFM_ATTEST_GET_TOKEN_SIZE, (challenge_size.to_bytes(4, "little"),), (out,)))
    if out.len != 4:
        raise PSAError(psa.PSA_ERROR_COMMUNICATION_FAILURE, "token size reply of %d bytes" % out.len)
    return int.from_bytes(bytes(out.base[:4]), "little")
