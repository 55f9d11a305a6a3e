"""Hypothesis mutations of recorded real server flights: the engine raises only TLSError
(and after one, sends its alert and stays dead) -- never another exception."""

from binascii import unhexlify

from hypothesis import HealthCheck, given, settings, strategies as st

from device.tls import TLSError
from device.tls.connection import TLSClientConnection
from tests.device.tls_flights import FLIGHTS, IDENTITY, PSK, RANDOM

NAMES = sorted(FLIGHTS)
SERVER = {n: unhexlify("".join(FLIGHTS[n][2:])) for n in NAMES}
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _run(name, data, cuts):
    c = TLSClientConnection(IDENTITY, unhexlify(PSK), suites=[FLIGHTS[name][0]],
                            random=lambda n: unhexlify(RANDOM)[:n])
    c.start()
    c.data_to_send()
    pos = 0
    try:
        for cut in sorted(set(cuts)) + [len(data)]:
            if cut > pos:
                c.receive_data(data[pos:cut])
                c.data_to_send()
                pos = cut
        c.receive_data(b"")
    except TLSError as e:
        assert isinstance(e.alert, str) and e.alert
        c.data_to_send()
        try:
            c.receive_data(b"\x16\x03\x03\x00\x01\x00")
        except TLSError as e2:
            assert e2 is e
        else:
            raise AssertionError("dead connection accepted input")
        return e
    return None


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 16)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.sampled_from([0, 1, 0x7F, 0x80, 0xFF])),
)


def _mutate(data, muts):
    d = bytearray(data)
    for kind, at, arg in muts:
        if not d:
            break
        i = at % len(d)
        if kind == "flip":
            d[i] ^= arg
        elif kind == "cut":
            del d[i:]
        elif kind == "insert":
            d[i:i] = arg
        elif kind == "delete":
            del d[i:i + arg]
        else:
            d[i] = arg
    return bytes(d)


@SETTINGS
@given(st.sampled_from(NAMES), st.lists(mutation, min_size=1, max_size=4),
       st.lists(st.integers(0, 400), max_size=6))
def test_mutated_flights_raise_only_tlserror(name, muts, cuts):
    data = _mutate(SERVER[name], muts)
    _run(name, data, cuts)


@SETTINGS
@given(st.sampled_from(NAMES), st.integers(0, 200), st.binary(max_size=64))
def test_flight_prefix_plus_garbage(name, keep, garbage):
    _run(name, SERVER[name][:keep] + garbage, [])


def test_unmutated_flights_complete():
    for name in NAMES:
        assert _run(name, SERVER[name], [5, 77]) is None
