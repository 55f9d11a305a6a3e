"""Make sure the default secure world (with the crypto service) is running: other test modules
may leave an SPM with test partitions behind."""

from device import psa
from device.psa import spm
from device.psa.crypto import TFM_CRYPTO_SID


def ensure():
    if psa.psa_version(TFM_CRYPTO_SID) == psa.PSA_VERSION_NONE:
        spm.configure()
