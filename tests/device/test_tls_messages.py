"""device.tls messages, suites and alerts: encoding and defensive parsing (no crypto needed)."""

from device.tls import messages as m
from device.tls import suites as s
from device.tls.alerts import TLSError, alert_name


def _raises(alert, fn, *args):
    try:
        fn(*args)
    except TLSError as e:
        assert e.alert == alert, (e.alert, alert)
        assert not e.received
        return e
    raise AssertionError("no TLSError(%s)" % alert)


def _exts(hello):
    """{type: data} of a ClientHello built by messages.client_hello."""
    body = hello[4:]
    i = 2 + 32
    i += 1 + body[i]
    n = (body[i] << 8) | body[i + 1]
    i += 2 + n
    i += 1 + body[i]
    end = i + 2 + ((body[i] << 8) | body[i + 1])
    i += 2
    out = {}
    while i < end:
        t = (body[i] << 8) | body[i + 1]
        ln = (body[i + 2] << 8) | body[i + 3]
        out[t] = bytes(body[i + 4:i + 4 + ln])
        i += 4 + ln
    assert i == end == len(body)
    return out


def test_client_hello_layout():
    rnd = bytes(range(32))
    h = m.client_hello(rnd, s.DEFAULT_SUITES, ems=True, etm=True)
    assert h[0] == m.CLIENT_HELLO
    assert (h[1] << 16 | h[2] << 8 | h[3]) == len(h) - 4
    assert h[4:6] == b"\x03\x03" and h[6:38] == rnd and h[38] == 0
    assert h[39:41] == b"\x00\x08" and h[41:49] == b"\xc0\xa4\xc0\xa8\x00\xa8\x00\xae"  # CCM first
    assert h[49:51] == b"\x01\x00"
    e = _exts(h)
    assert e[m.EXT_EXTENDED_MASTER_SECRET] == b""
    assert e[m.EXT_ENCRYPT_THEN_MAC] == b""
    assert e[m.EXT_RENEGOTIATION_INFO] == b"\x00"
    assert m.EXT_MAX_FRAGMENT_LENGTH not in e and m.EXT_RECORD_SIZE_LIMIT not in e


def test_client_hello_size_caps_and_sni():
    h = m.client_hello(bytes(32), (s.TLS_PSK_WITH_AES_128_CCM_8,), ems=False, etm=False, mfl=1024, rsl=None,
                       server_name="gw.local")
    e = _exts(h)
    assert e[m.EXT_MAX_FRAGMENT_LENGTH] == b"\x02"
    assert m.EXT_EXTENDED_MASTER_SECRET not in e and m.EXT_ENCRYPT_THEN_MAC not in e
    assert e[m.EXT_SERVER_NAME] == b"\x00\x0b\x00\x00\x08gw.local"
    e = _exts(m.client_hello(bytes(32), (s.TLS_PSK_WITH_AES_128_CCM,), rsl=512))
    assert e[m.EXT_RECORD_SIZE_LIMIT] == b"\x02\x00"


def _server_hello(suite=0xC0A4, version=b"\x03\x03", comp=0, exts=b"\xff\x01\x00\x01\x00\x00\x17\x00\x00",
                  sid=b"\x01" * 32):
    body = version + bytes(range(32)) + bytes((len(sid),)) + sid + suite.to_bytes(2, "big") + bytes((comp,))
    if exts is not None:
        body += len(exts).to_bytes(2, "big") + exts
    return body


OFFERED = {m.EXT_RENEGOTIATION_INFO: True, m.EXT_EXTENDED_MASTER_SECRET: True, m.EXT_MAX_FRAGMENT_LENGTH: 2}


def test_server_hello_parse():
    sh = m.ServerHello(_server_hello(), (0xC0A4,), OFFERED)
    assert sh.suite == 0xC0A4 and sh.random == bytes(range(32)) and len(sh.session_id) == 32
    assert m.EXT_EXTENDED_MASTER_SECRET in sh.extensions and sh.mfl is None
    sh = m.ServerHello(_server_hello(exts=b"\x00\x01\x00\x01\x02"), (0xC0A4,), OFFERED)
    assert sh.mfl == 1024
    sh = m.ServerHello(_server_hello(exts=None), (0xC0A4,), OFFERED)
    assert sh.extensions == {}


def test_server_hello_rejects():
    off = (0xC0A4,)
    _raises("illegal_parameter", m.ServerHello, _server_hello(suite=0x00AE), off, OFFERED)  # not offered
    _raises("protocol_version", m.ServerHello, _server_hello(version=b"\x03\x01"), off, OFFERED)
    _raises("illegal_parameter", m.ServerHello, _server_hello(comp=1), off, OFFERED)
    _raises("unsupported_extension", m.ServerHello, _server_hello(exts=b"\x00\x16\x00\x00"), off, OFFERED)
    _raises("illegal_parameter", m.ServerHello, _server_hello(exts=b"\x00\x17\x00\x00\x00\x17\x00\x00"), off,
            OFFERED)
    _raises("handshake_failure", m.ServerHello, _server_hello(exts=b"\xff\x01\x00\x02\x01\x00"), off, OFFERED)
    _raises("illegal_parameter", m.ServerHello, _server_hello(exts=b"\x00\x01\x00\x01\x03"), off, OFFERED)
    _raises("decode_error", m.ServerHello, _server_hello(exts=b"\x00\x17\x00\x01\x00"), off, OFFERED)
    _raises("illegal_parameter", m.ServerHello, _server_hello(sid=b"\x00" * 33), off, OFFERED)
    good = _server_hello()
    for cut in range(len(good)):
        if cut == 2 + 32 + 1 + 32 + 3:
            continue  # exactly without the extensions block: valid
        try:
            m.ServerHello(good[:cut], off, OFFERED)
        except TLSError as e:
            assert e.alert == "decode_error", (cut, e.alert)
        else:
            raise AssertionError("truncation at %d accepted" % cut)
    _raises("decode_error", m.ServerHello, good + b"\x00", off, OFFERED)


def test_psk_identity_hint_and_client_key_exchange():
    assert m.psk_identity_hint(b"\x00\x03gw1") == b"gw1"
    assert m.psk_identity_hint(b"\x00\x00") == b""
    _raises("decode_error", m.psk_identity_hint, b"\x00\x04gw1")
    _raises("decode_error", m.psk_identity_hint, b"\x00\x02gw1")
    _raises("decode_error", m.psk_identity_hint, b"\x00")
    assert m.client_key_exchange("dev") == b"\x10\x00\x00\x05\x00\x03dev"
    assert m.finished(bytes(12)) == b"\x14\x00\x00\x0c" + bytes(12)


def test_premaster_secret_rfc4279():
    # RFC 4279 §2: uint16 N, N zero octets, uint16 N, the PSK
    psk = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0") if hasattr(bytes, "fromhex") else None
    pms = m.premaster_secret(psk)
    assert len(pms) == 4 + 2 * 16
    assert pms == b"\x00\x10" + bytes(16) + b"\x00\x10" + psk
    assert m.premaster_secret(b"\xaa" * 3) == b"\x00\x03\x00\x00\x00\x00\x03\xaa\xaa\xaa"


def test_suites_parse_and_names():
    assert s.parse_suites(None) == s.DEFAULT_SUITES
    assert s.DEFAULT_SUITES[0] == s.TLS_PSK_WITH_AES_128_CCM == 0xC0A4
    assert s.parse_suites(["gcm", 0xC0A4, "gcm"]) == (0x00A8, 0xC0A4)
    assert s.parse_suites("ccm8") == (0xC0A8,)
    for bad in (["rc4"], [0x1301], []):
        try:
            s.parse_suites(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(bad)
    assert s.suite_name(0x00AE) == "TLS_PSK_WITH_AES_128_CBC_SHA256"
    assert s.suite_name(0x1234) == "0x1234"


def test_alert_names():
    assert alert_name(20) == "bad_record_mac"
    assert alert_name(115) == "unknown_psk_identity"
    assert alert_name(100) == "no_renegotiation"
    assert alert_name(250) == "alert_250"
    from device.tls import alerts  # the public alert numbers, made on first use from the name table

    assert (alerts.LEVEL_WARNING, alerts.LEVEL_FATAL, alerts.CLOSE_NOTIFY, alerts.DECODE_ERROR) == (1, 2, 0, 50)
    assert alerts.UNKNOWN_PSK_IDENTITY == 115 and alerts.USER_CANCELED == 90
    for bad in ("LEVEL_", "LEVEL_INFO", "DECODE", "decode_error", "NOT_AN_ALERT"):
        try:
            getattr(alerts, bad)
        except AttributeError:
            pass
        else:
            raise AssertionError(bad)
    e = TLSError(40, "x", received=True)
    assert e.alert == "handshake_failure" and e.code == 40 and e.received
    assert "peer sent alert handshake_failure" in str(e)


def test_reason_numbers_read_as_texts():
    # the engine raises TLSError with reason numbers (device.tls.reasons); message and str(e) are the texts
    off = (0xC0A4,)
    e = _raises("illegal_parameter", m.ServerHello, _server_hello(suite=0x00AE), off, OFFERED)
    assert e.message == "server chose suite 0x00AE, which was not offered", e.message
    assert str(e) == "sent alert illegal_parameter: server chose suite 0x00AE, which was not offered", str(e)
    e = _raises("protocol_version", m.ServerHello, _server_hello(version=b"\x03\x01"), off, OFFERED)
    assert e.message == "server chose version 3.1"
    e = _raises("decode_error", m.ServerHello, _server_hello()[:10], off, OFFERED)
    assert e.message == "message truncated"
    e = _raises("decode_error", m.psk_identity_hint, b"\x00\x01ab")
    assert e.message == "trailing bytes in message"
    assert TLSError(50, 99).message == "reason 99"  # a number the table lacks: still a TLSError
    assert TLSError(50, "as text").message == "as text" and TLSError(50).message is None


def test_reader_still_there():
    r = m.Reader(b"\x02ab\x00\x01c")  # (device.tls.messages_more, through messages' __getattr__)
    assert r.vec8() == b"ab" and r.left() == 3 and r.vec16() == b"c"
    r.done()
    e = _raises("decode_error", m.Reader(b"\x05a").vec8)
    assert e.message == "message truncated"
    _raises("decode_error", m.Reader(b"\x00\x00x").done)


def test_public_message_names_still_there():
    # messages folds private constants; the public names come from device.tls.messages_more on first use
    assert (m.HELLO_REQUEST, m.CLIENT_HELLO, m.SERVER_HELLO, m.SERVER_KEY_EXCHANGE, m.SERVER_HELLO_DONE,
            m.CLIENT_KEY_EXCHANGE, m.FINISHED) == (0, 1, 2, 12, 14, 16, 20)
    assert (m.EXT_SERVER_NAME, m.EXT_MAX_FRAGMENT_LENGTH, m.EXT_ENCRYPT_THEN_MAC, m.EXT_EXTENDED_MASTER_SECRET,
            m.EXT_RECORD_SIZE_LIMIT, m.EXT_RENEGOTIATION_INFO) == (0, 1, 22, 23, 28, 0xFF01)
    assert m.client_hello(bytes(32), (0xC0A4,))[0] == m.CLIENT_HELLO
    try:
        m.NO_SUCH_NAME
    except AttributeError:
        pass
    else:
        raise AssertionError("unknown name resolved")
