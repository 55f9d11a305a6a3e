"""Benchmark: AES-128-CCM / GCM seal of a 64-byte TLS record, per AES backend, on MicroPython (in-process).

    python -m tools.bench_crypto [--runs 31] [--iters 20] [--heapsize 256k] [--cpython]

One "seal" is what a TLS_PSK_WITH_AES_128_CCM record costs: a 12-byte nonce, 13 bytes of additional data
(the TLS record header) and 64 bytes of plaintext -> 64 + tag bytes. Each run times `iters` seals with
time.ticks_us; the figure is the median µs per seal over `runs` runs (the minimum is printed beside it).
Rows: the primitive on each AES backend the runtime has (MicroPython: cryptolib and pure Python), then the
whole path a TLS engine uses: psa_aead_encrypt through the crypto partition (psa_call, key store, default
backend). Also the GCM key setup (H and the two nibble tables of GHASH) and a TLS 1.2 master-secret derivation
(PSK_TO_MS, 5 psa_calls). The MicroPython figures come from the `micropython` command of the test lane.
"""

import argparse
import os
import sys

from tools.executables import run_snippet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BENCH = r"""
import sys, gc
sys.path.insert(0, ROOT)
from device.compat import ticks_us, ticks_diff
from device.partitions.crypto import aes, ccm, gcm
from device.psa import spm
from device.psa import crypto as C

KEY = bytes(range(16))
NONCE = bytes(range(12))
AAD = bytes(13)
PT = bytes(range(64))

def measure(name, fn):
    fn()  # warm-up (tables, imports)
    res = []
    for _ in range(RUNS):
        gc.collect()
        t0 = ticks_us()
        for _ in range(ITERS):
            fn()
        res.append(ticks_diff(ticks_us(), t0) / ITERS)
    res.sort()
    print("RESULT", name, res[len(res) // 2], res[0])

for b in aes.BACKENDS:
    c = aes.new(KEY, b)
    g = gcm.GCM(c)
    measure("ccm16/" + b, lambda: ccm.encrypt(c, NONCE, AAD, PT, 16))
    measure("ccm8/" + b, lambda: ccm.encrypt(c, NONCE, AAD, PT, 8))
    measure("gcm/" + b, lambda: g.encrypt(NONCE, AAD, PT))
    measure("gcm_setup/" + b, lambda: gcm.GCM(aes.new(KEY, b)))

spm.configure(partitions=["its", "crypto"])
usage = C.PSA_KEY_USAGE_ENCRYPT | C.PSA_KEY_USAGE_DECRYPT
k_ccm = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128, usage, C.PSA_ALG_CCM), KEY)
k_gcm = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_AES, 128, usage, C.PSA_ALG_GCM), KEY)
measure("psa_ccm16/" + aes.DEFAULT, lambda: C.psa_aead_encrypt(k_ccm, C.PSA_ALG_CCM, NONCE, AAD, PT))
measure("psa_gcm/" + aes.DEFAULT, lambda: C.psa_aead_encrypt(k_gcm, C.PSA_ALG_GCM, NONCE, AAD, PT))
PSK_TO_MS = C.PSA_ALG_TLS12_PSK_TO_MS(C.PSA_ALG_SHA_256)
psk = C.psa_import_key(C.KeyAttributes(C.PSA_KEY_TYPE_DERIVE, 0, C.PSA_KEY_USAGE_DERIVE, PSK_TO_MS), bytes(32))

def master_secret():
    op = C.psa_key_derivation_setup(PSK_TO_MS)
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_SEED, bytes(64))
    C.psa_key_derivation_input_key(op, C.PSA_KEY_DERIVATION_INPUT_SECRET, psk)
    C.psa_key_derivation_input_bytes(op, C.PSA_KEY_DERIVATION_INPUT_LABEL, b"master secret")
    C.psa_key_derivation_output_bytes(op, 48)
    C.psa_key_derivation_abort(op)

measure("psa_master_secret/" + aes.DEFAULT, master_secret)
"""

ROWS = (
    ("ccm16", "AES-128-CCM seal, 16-byte tag (primitive)"),
    ("ccm8", "AES-128-CCM_8 seal, 8-byte tag (primitive)"),
    ("gcm", "AES-128-GCM seal (primitive, tables ready)"),
    ("gcm_setup", "AES-128-GCM key setup (H + GHASH tables)"),
    ("psa_ccm16", "psa_aead_encrypt CCM through the partition"),
    ("psa_gcm", "psa_aead_encrypt GCM through the partition"),
    ("psa_master_secret", "TLS12_PSK_TO_MS master secret (5 psa_calls)"),
)


def run(runtime, runs, iters, heapsize):
    code = BENCH.replace("ROOT", repr(ROOT)).replace("RUNS", str(runs)).replace("ITERS", str(iters))
    stdout = run_snippet(runtime, code, heapsize, timeout=1200, cwd=ROOT)
    results = []
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, median, best = line.split()
            results.append((name, float(median), float(best)))
    return results


def measure(runs=31, iters=20, heapsize="256k", cpython=False):
    """{"runs", "iters", "heapsize", "rows": [[runtime, op, backend, median_us, min_us]]}."""
    rows = []
    for rt in ["micropython"] + (["cpython"] if cpython else []):
        for name, median, best in run(rt, runs, iters, heapsize):
            op, backend = name.split("/")
            rows.append([rt, op, backend, median, best])
    return {"runs": runs, "iters": iters, "heapsize": heapsize, "rows": rows}


ABOUT = """Sealing one 64-byte TLS record with AES-128 (12-byte nonce, 13-byte additional data = the TLS record
header), µs per seal, median and minimum of %d runs of %d seals, in-process on the MicroPython unix port of the
test lane (`-X heapsize=%s`)%s. Rows: the primitive on each AES backend the runtime has (MicroPython: `cryptolib`
and pure Python), then the whole path a TLS engine uses: `psa_aead_encrypt` through the crypto partition
(psa_call, key store, default backend); also the GCM key setup and a TLS 1.2 master-secret derivation. GCM's
GHASH runs in Python whatever the AES backend (a carry-less product a byte per step from two 16-entry nibble
tables, one reduction per block), while with `cryptolib` a CCM record is a handful of C calls (one in-place
CBC call on the key's cached CBC context for the CBC-MAC, one in-place ECB call for the counter blocks). The minimum column shows
what a quiet run achieves. No board figures (unmeasured)."""

RATIOS = (  # (what, numerator row, denominator row), rows as (runtime, op, backend); medians
    ("GCM / CCM seal, MicroPython cryptolib", ("micropython", "gcm", "cryptolib"), ("micropython", "ccm16", "cryptolib")),
    ("pure-Python / cryptolib CCM seal, MicroPython", ("micropython", "ccm16", "pure"),
     ("micropython", "ccm16", "cryptolib")),
    ("psa_aead_encrypt CCM through the partition / CCM primitive, MicroPython cryptolib",
     ("micropython", "psa_ccm16", "cryptolib"), ("micropython", "ccm16", "cryptolib")),
    ("CPython / MicroPython, pure-Python CCM seal", ("cpython", "ccm16", "pure"), ("micropython", "ccm16", "pure")),
)


def markdown(d):
    has_cpython = any(r[0] == "cpython" for r in d["rows"])
    lines = [ABOUT % (d["runs"], d["iters"], d["heapsize"],
                      " and, for comparison, CPython (which has only the pure-Python backend)" if has_cpython else ""),
             "", "| runtime | operation | AES backend | median µs | min µs |", "|---|---|---|---|---|"]
    titles = dict(ROWS)
    for rt, op, backend, median, best in d["rows"]:
        lines.append("| %s | %s | %s | %.0f | %.0f |" % ({"micropython": "MicroPython", "cpython": "CPython"}[rt],
                                                         titles.get(op, op), backend, median, best))
    medians = dict(((rt, op, backend), median) for rt, op, backend, median, _ in d["rows"])
    ratios = [(what, medians[a] / medians[b]) for what, a, b in RATIOS if a in medians and medians.get(b)]
    if ratios:
        lines += ["", "Ratios of medians from this run:", ""]
        lines += ["- %s: %.1fx" % (what, r) for what, r in ratios]
    return "\n".join(lines)


def section(quick=False):
    """`sensorkit bench crypto`: both runtimes; quick = 11 runs of 5 seals instead of 51 of 20."""
    from tools.bench import Section

    runs, iters = (11, 5) if quick else (51, 20)
    d = measure(runs, iters, cpython=True)
    return Section(markdown(d), data=d,
                   command="python -m tools.bench_crypto --runs %d --iters %d --cpython" % (runs, iters))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m tools.bench_crypto", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=31)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--heapsize", default="256k")
    p.add_argument("--cpython", action="store_true", help="also run on this CPython (pure backend only)")
    a = p.parse_args(argv)
    print(markdown(measure(a.runs, a.iters, a.heapsize, a.cpython)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
