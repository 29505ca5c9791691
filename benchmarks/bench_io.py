"""Benchmark: reading a large ROOT file of jets with sklhep.io, whole and in chunks.

Writes a ROOT TTree of ``--n-jets`` jets (default 1,000,000; 5-64 particles each, ``(pt, y,
phi)`` as ``var * float64`` branches) in chunks, then, each in a fresh process so the peak memory
(``ru_maxrss``) belongs to that read alone:

* ``sklhep.io.iter_jets(step_size=...)``: one chunk in memory at a time;
* ``sklhep.io.read_jets``: the whole file at once;
* ``uproot`` ``tree.arrays`` of the same branches (the jagged arrays alone, no padding), for
  reference.

Usage::

    python benchmarks/bench_io.py                    # 1,000,000 jets
    python benchmarks/bench_io.py --n-jets 200000    # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

READERS = {
    "iter_jets": """
from sklhep.io import iter_jets
n = 0
for X in iter_jets(path, step_size=step, max_particles=64):
    n += len(X)
""",
    "read_jets": """
from sklhep.io import read_jets
X = read_jets(path, max_particles=64)
n = len(X)
""",
    "uproot.arrays": """
import uproot
with uproot.open(path) as f:
    a = f["jets"].arrays(["pt", "y", "phi"])
n = len(a)
""",
}


def write_file(path, n_jets, seed, chunk=100_000):
    import awkward as ak
    import uproot

    rng = np.random.default_rng(seed)
    n_particles = 0
    with uproot.recreate(path) as f:
        tree = f.mktree("jets", {b: "var * float64" for b in ("pt", "y", "phi")},
                        counter_name=lambda _: "n")
        for start in range(0, n_jets, chunk):
            m = min(chunk, n_jets - start)
            counts = rng.integers(5, 65, m)
            total = int(counts.sum())
            n_particles += total
            pt = rng.exponential(10.0, total) + 0.1
            cols = {"pt": pt, "y": rng.normal(0, 0.2, total), "phi": rng.uniform(0, 6.28, total)}
            tree.extend({b: ak.unflatten(v, counts) for b, v in cols.items()})
    return n_particles


def measure(reader, path, step):
    code = (
        "import resource, time, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        f"path, step = {str(path)!r}, {step}\n"
        "t = time.perf_counter()\n"
        + READERS[reader]
        + "dt = time.perf_counter() - t\n"
        "import json; print(json.dumps({'n': n, 'seconds': dt, "
        "'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=1_000_000)
    parser.add_argument("--step-size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "jets.root"
        t = time.perf_counter()
        n_particles = write_file(path, args.n_jets, args.seed)
        size = os.path.getsize(path) / 2**20
        print(f"wrote {args.n_jets} jets, {n_particles} particles, "
              f"{size:.0f} MiB ROOT file in {time.perf_counter() - t:.1f} s"
              f"; padded float64 (n, 64, 3) would be {args.n_jets * 64 * 3 * 8 / 2**20:.0f} MiB",
              flush=True)
        baseline = measure_baseline()
        print(f"python + numpy + sklhep imports alone: peak {baseline:.0f} MiB", flush=True)
        for reader in READERS:
            r = measure(reader, path, args.step_size)
            extra = f" (step_size={args.step_size})" if reader == "iter_jets" else ""
            print(f"{reader:14s}{extra}: {r['n']} jets in {r['seconds']:.1f} s "
                  f"({r['n'] / r['seconds']:.0f} jets/s), peak memory {r['peak_mb']:.0f} MiB",
                  flush=True)


def measure_baseline():
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import resource, numpy, sklhep.io, uproot, awkward\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


if __name__ == "__main__":
    main()
