"""The device's identity: the TLS-PSK identity string, provisioned into ITS (NS namespace).

    from device import identity
    identity.get_identity()        # "sensor-0001" (PSAError DOES_NOT_EXIST: not provisioned)

Written by factory provisioning (`sensorkit provision --identity ID`, tools/provision.py)
through the ordinary ITS API as a non-secure client, so the device app can read it. It is
not a secret (it travels in clear in the TLS ClientKeyExchange). The PSK and IAK it goes
with live in the crypto partition and never leave it.
"""

from device import psa
from device.psa import its

IDENTITY_UID = 0x49444E54  # "IDNT"
MAX_IDENTITY = 128


def check_identity(identity):
    """The identity as bytes, or ValueError: 1..128 printable ASCII characters."""
    if not isinstance(identity, str) or not 0 < len(identity) <= MAX_IDENTITY:
        raise ValueError("identity must be 1..%d characters" % MAX_IDENTITY)
    for c in identity:
        if not " " < c <= "~":
            raise ValueError("identity must be printable ASCII without spaces")
    return identity.encode()


def set_identity(identity):
    its.psa_its_set(IDENTITY_UID, check_identity(identity))


def get_identity():
    data = its.psa_its_get(IDENTITY_UID)
    try:
        ident = data.decode()  # MicroPython's decode is lax: check_identity is the real check
        check_identity(ident)
        return ident
    except (ValueError, UnicodeError):
        raise psa.PSAError(psa.PSA_ERROR_DATA_CORRUPT, "stored identity is not valid")
