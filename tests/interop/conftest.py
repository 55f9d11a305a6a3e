# DEV-ONLY until the crypto branch lands: fall back to the stand-in wrappers when
# device.psa.crypto does not exist yet. Removed at the merge.
import sys

try:
    import device.psa.crypto  # noqa: F401
except ImportError:
    from tests.interop import standin_crypto as _sc
    import device.psa as _p

    _p.PSAError = _sc.PSAError
    _p.crypto = _sc
    sys.modules["device.psa.crypto"] = _sc
