"""The four TLS 1.2 PSK cipher suites this engine speaks (IANA numbers, RFC 5487 / RFC 6655).

    TLS_PSK_WITH_AES_128_CCM         0xC0A4  AES-128-CCM, 16-byte tag (TF-M Profile Small's suite)
    TLS_PSK_WITH_AES_128_CCM_8       0xC0A8  AES-128-CCM, 8-byte tag
    TLS_PSK_WITH_AES_128_GCM_SHA256  0x00A8  AES-128-GCM, 16-byte tag
    TLS_PSK_WITH_AES_128_CBC_SHA256  0x00AE  AES-128-CBC + HMAC-SHA256 (encrypt_then_mac when agreed)

All use the TLS 1.2 PRF with SHA-256. DEFAULT_SUITES is the order offered when the caller
does not choose (CCM first).
"""

from device.compat import const
from device.tls.alerts import reason_text

# texts of the ValueErrors below (device.tls.reasons, loaded on the first error: no text in the heap before)
_R_SUITE_NAME = const(50)  # unknown suite name %r (ccm, ccm8, gcm, cbc)
_R_SUITE_NUMBER = const(51)  # unsupported cipher suite 0x%04X
_R_NO_SUITE = const(52)  # no cipher suite

TLS_PSK_WITH_AES_128_CCM = const(0xC0A4)
TLS_PSK_WITH_AES_128_CCM_8 = const(0xC0A8)
TLS_PSK_WITH_AES_128_GCM_SHA256 = const(0x00A8)
TLS_PSK_WITH_AES_128_CBC_SHA256 = const(0x00AE)

DEFAULT_SUITES = (
    TLS_PSK_WITH_AES_128_CCM,
    TLS_PSK_WITH_AES_128_CCM_8,
    TLS_PSK_WITH_AES_128_GCM_SHA256,
    TLS_PSK_WITH_AES_128_CBC_SHA256,
)

# kind of record protection
CCM = "ccm"
CCM_8 = "ccm8"
GCM = "gcm"
CBC = "cbc"

KIND = {
    TLS_PSK_WITH_AES_128_CCM: CCM,
    TLS_PSK_WITH_AES_128_CCM_8: CCM_8,
    TLS_PSK_WITH_AES_128_GCM_SHA256: GCM,
    TLS_PSK_WITH_AES_128_CBC_SHA256: CBC,
}

NAMES = {
    TLS_PSK_WITH_AES_128_CCM: "TLS_PSK_WITH_AES_128_CCM",
    TLS_PSK_WITH_AES_128_CCM_8: "TLS_PSK_WITH_AES_128_CCM_8",
    TLS_PSK_WITH_AES_128_GCM_SHA256: "TLS_PSK_WITH_AES_128_GCM_SHA256",
    TLS_PSK_WITH_AES_128_CBC_SHA256: "TLS_PSK_WITH_AES_128_CBC_SHA256",
}

# short names used by the CLI (--suite) and by `suites=` (either form is accepted)
SHORT = {CCM: TLS_PSK_WITH_AES_128_CCM, CCM_8: TLS_PSK_WITH_AES_128_CCM_8,
         GCM: TLS_PSK_WITH_AES_128_GCM_SHA256, CBC: TLS_PSK_WITH_AES_128_CBC_SHA256}


def suite_name(suite):
    return NAMES.get(suite) or "0x%04X" % suite


def parse_suites(suites):
    """A tuple of suite numbers from `suites` (None -> DEFAULT_SUITES; items may be IANA
    numbers or the short names "ccm", "ccm8", "gcm", "cbc"). ValueError on an unknown one."""
    if suites is None:
        return DEFAULT_SUITES
    if isinstance(suites, (int, str)):
        suites = (suites,)
    out = []
    for s in suites:
        if isinstance(s, str):
            if s not in SHORT:
                raise ValueError(reason_text((_R_SUITE_NAME, s)))
            s = SHORT[s]
        if s not in KIND:
            raise ValueError(reason_text((_R_SUITE_NUMBER, s)))
        if s not in out:
            out.append(s)
    if not out:
        raise ValueError(reason_text(_R_NO_SUITE))
    return tuple(out)
