"""The attestation and telemetry partitions behind the host shim: a secure world in a child process."""

from device import senml
from device.psa import attest, telemetry
from psa_shim import SecureWorld
from tools import provision as prov
from tools.attestation import verify_token

IAK = bytes(range(1, 33))


def test_token_and_reading_cross_the_process_boundary(tmp_path):
    store = str(tmp_path / "dev")
    prov.provision(store, "sensor-shim", bytes(32), IAK)
    nonce = bytes(range(64))
    with SecureWorld(storage_root=store) as sw:
        tok = attest.psa_initial_attest_get_token(nonce)
        pack = telemetry.telemetry_read()
        info = telemetry.telemetry_sensor_info()
    claims = verify_token(tok, IAK, challenge=nonce)
    assert claims["client_id"] == -1 and claims["sw_components"][0]["type"] == "sensorkit"
    base, rs = senml.readings(pack)
    assert base == prov.registry_entry("x", b"", IAK, claims["instance_id"], {})["senml_base_name"]
    assert len(rs) == 1 and -4500 <= rs[0][1] <= 13000 and 0 <= rs[0][2] <= 10000
    assert info["model"] == "SHT3x-DIS"
    calls = [e for e in sw.log if e["op"] == "call"]
    assert {e["client_id"] for e in calls} == {-1}
    assert any(e["handle"] == attest.TFM_ATTESTATION_SERVICE_HANDLE for e in calls)
    assert any(e["handle"] == telemetry.TELEMETRY_HANDLE for e in calls)
