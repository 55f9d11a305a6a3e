"""Make sure a secure world with the crypto service is running for the TLS tests.

Other test modules may leave an SPM with test partitions behind (CPython lane). When nothing runs
yet (each module on the MicroPython lane), start just what TLS needs -- ITS and crypto -- which keeps
the lane inside its 256 KB heap."""

from device import psa
from device.psa import spm
from device.psa.crypto import TFM_CRYPTO_SID


def ensure():
    if getattr(spm, "_spm", None) is None or psa.psa_version(TFM_CRYPTO_SID) == psa.PSA_VERSION_NONE:
        spm.configure(partitions=["its", "crypto"])
