"""The texts of TLS errors: the alert names (ALERTS) and TLSError reasons (``TLSError(code, reason)``,
reason = n or (n, arg, ...)). device.tls.alerts loads this module when the first TLSError is made.

The engine's modules raise TLSError with a reason *number* (a private constant, e.g. messages'
``_R_TRUNCATED = const(1)``) instead of a text: a text literal in a module is a string object in the heap
from the moment the module loads (~70 bytes each, ~2.5 KB for the handshake's checks), a number costs
nothing. TLSError turns the number into its text when the error is made, loading this module then; so
``TLSError.message`` and ``str(e)`` read as before. The engine's ValueErrors take their texts from here
too (device.tls.alerts.reason_text). Numbers: 1-19 device.tls.messages, 20-39 device.tls.connection,
40-49 device.tls.keys, 50-59 device.tls.suites (tests/host/test_tls_reasons.py checks each module's
constants against this table).
"""

# The alert names (RFC 5246 §7.2, RFC 5746, RFC 6066, RFC 8449), "code:name" separated by spaces, in one
# string: one object instead of 31 strings and a dict (device.tls.alerts.alert_name looks names up here).
ALERTS = (
    " 0:close_notify 10:unexpected_message 20:bad_record_mac 21:decryption_failed "
    "22:record_overflow 30:decompression_failure 40:handshake_failure 41:no_certificate "
    "42:bad_certificate 43:unsupported_certificate 44:certificate_revoked "
    "45:certificate_expired 46:certificate_unknown 47:illegal_parameter 48:unknown_ca "
    "49:access_denied 50:decode_error 51:decrypt_error 60:export_restriction "
    "70:protocol_version 71:insufficient_security 80:internal_error "
    "86:inappropriate_fallback 90:user_canceled 100:no_renegotiation "
    "110:unsupported_extension 111:certificate_unobtainable 112:unrecognized_name "
    "113:bad_certificate_status_response 114:bad_certificate_hash_value "
    "115:unknown_psk_identity "
)


TEXTS = {
    1: "message truncated",  # _R_TRUNCATED (messages)
    2: "trailing bytes in message",  # _R_TRAILING (messages)
    3: "server chose version %d.%d",  # _R_VERSION (messages)
    4: "session id longer than 32 bytes",  # _R_SESSION_ID (messages)
    5: "server chose suite 0x%04X, which was not offered",  # _R_SUITE (messages)
    6: "server chose a compression method",  # _R_COMPRESSION (messages)
    7: "duplicate extension %d",  # _R_DUPLICATE_EXT (messages)
    8: "server sent extension %d, not offered",  # _R_UNOFFERED_EXT (messages)
    9: "extension %d must be empty",  # _R_EXT_NOT_EMPTY (messages)
    10: "renegotiation_info not empty",  # _R_RENEGOTIATION_INFO (messages)
    11: "server_name extension must be empty",  # _R_SERVER_NAME (messages)
    12: "max_fragment_length differs from the one offered",  # _R_MFL (messages)
    13: "record_size_limit length",  # _R_RSL_LENGTH (messages)
    14: "record_size_limit below 64",  # _R_RSL_LOW (messages)
    15: "both max_fragment_length and record_size_limit",  # _R_MFL_AND_RSL (messages)
    20: "peer closed the connection during the handshake",  # _R_EOF_IN_HANDSHAKE (connection)
    21: "record type %d inside a fragmented handshake message",  # _R_INTERLEAVED (connection)
    22: "application data before the handshake finished",  # _R_EARLY_DATA (connection)
    23: "empty handshake record",  # _R_EMPTY_HANDSHAKE (connection)
    24: "alert record of %d bytes",  # _R_ALERT_LENGTH (connection)
    25: "from the server",  # _R_FROM_SERVER (connection)
    26: "ChangeCipherSpec out of order",  # _R_CCS_ORDER (connection)
    27: "bad ChangeCipherSpec",  # _R_BAD_CCS (connection)
    28: "handshake message of %d bytes",  # _R_HANDSHAKE_LENGTH (connection)
    29: "HelloRequest with a body",  # _R_HELLO_REQUEST_BODY (connection)
    30: "ServerHelloDone with a body",  # _R_HELLO_DONE_BODY (connection)
    31: "Finished of %d bytes",  # _R_FINISHED_LENGTH (connection)
    32: "server Finished does not match",  # _R_FINISHED_MISMATCH (connection)
    33: "handshake message %d in state %d",  # _R_UNEXPECTED (connection)
    34: "max_fragment_length must be 512, 1024, 2048 or 4096",  # _R_MFL_VALUES (connection, ValueError)
    35: "record_size_limit must be 64..16384",  # _R_RSL_VALUES (connection, ValueError)
    36: "PSK identity too long",  # _R_IDENTITY_LENGTH (connection, ValueError)
    37: "handshake already started",  # _R_STARTED (connection, ValueError)
    40: "crypto partition: %r",  # _R_CRYPTO (keys)
    41: "PSK must be 1..64 bytes",  # _R_PSK_LENGTH (keys, ValueError)
    50: "unknown suite name %r (ccm, ccm8, gcm, cbc)",  # _R_SUITE_NAME (suites, ValueError)
    51: "unsupported cipher suite 0x%04X",  # _R_SUITE_NUMBER (suites, ValueError)
    52: "no cipher suite",  # _R_NO_SUITE (suites, ValueError)
}


def text(reason):
    """The text of `reason`: a number, or (number, arg, ...) for a text with %-fields."""
    if reason.__class__ is int:
        return TEXTS.get(reason) or "reason %d" % reason
    t = TEXTS.get(reason[0])
    return t % reason[1:] if t else "reason %r" % (reason,)
