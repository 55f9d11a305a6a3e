"""The device's long-running loop on the real `micropython` command: nothing it keeps may grow
with the number of readings. (The default simulated sensor used to record every command word in
a list; over a long run the list's reallocations and the heap fragmentation they caused ended in
MemoryError inside the partitions, reported as PSA_ERROR_INSUFFICIENT_MEMORY.)"""

import subprocess

from tests import micropython_lane as L
from tests.e2e import support as S

def test_telemetry_reads_do_not_grow_the_heap(tmp_path):
    store = str(tmp_path / "store")
    r = subprocess.run([S.PY, "-m", "tools.cli", "provision", "--store", store, "--identity", "mem-dev",
                        "--generate-psk", "--generate-iak", "--registry", str(tmp_path / "reg.json")],
                       cwd=S.ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    out = L.run_code(
        "import gc\n"
        "from device.psa import spm\n"
        "spm.configure(storage_root=%r)\n"
        "from device.psa import telemetry\n"
        "telemetry.telemetry_set_config({'repeatability': 'low'})\n"
        "for i in range(50): telemetry.telemetry_read()\n"
        "gc.collect(); a = gc.mem_alloc()\n"
        "for i in range(600): telemetry.telemetry_read()\n"
        "gc.collect(); print('GROWTH', gc.mem_alloc() - a)\n" % store, heapsize="512k")  # sensorkit device default
    growth = int(out.split("GROWTH")[1].split()[0])
    assert growth < 1024, "the heap grew by %d bytes over 600 readings" % growth
