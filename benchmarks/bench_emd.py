"""Benchmark: pairwise EMDs per second, sklhep against energyflow.emd.emds and POT.

All in one process, on the same jets, at the same thread count, printing ratios:

* sklhep ``EMDTransformer().fit_transform`` (chunked blocks through joblib; ``n_jobs`` processes)
* ``energyflow.emd.emds`` (the ``wasserstein`` network simplex with its own OpenMP threads), in
  its fastest setting for centred jets (``periodic_phi=False``; ``--ef-periodic`` adds the
  periodic one). sklhep handles periodic phi and switches to the plain solver on its own when no
  azimuth difference can wrap around.
* POT ``ot.emd2`` in a Python loop over pairs (single-threaded; run on a subsample of pairs,
  as the full 1,000-jet matrix would take too long)
* the Dask speed-up: the same matrix on a ``LocalCluster`` with 2 single-threaded worker
  processes through ``joblib.parallel_backend("dask")``, against the serial run
* the Sinkhorn approximation (torch, CPU): its speed and its error against the exact EMD

Usage::

    python benchmarks/bench_emd.py                 # 1,000 jets of 30-60 particles
    python benchmarks/bench_emd.py --n-jets 300    # quicker

Jets come from ``sklhep.datasets.make_jets`` when it exists, else from a synthetic jet model
(particles with exponential pt spread around the jet axis with a 1/theta-like profile).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout


def synthetic_jets(n_jets, lo, hi, seed):
    rng = np.random.default_rng(seed)
    jets = []
    for _ in range(n_jets):
        m = int(rng.integers(lo, hi + 1))
        pt = rng.exponential(1.0, m) * 500.0 / m
        theta = 0.4 * rng.uniform(0, 1, m) ** 2
        ang = rng.uniform(0, 2 * np.pi, m)
        jets.append(np.column_stack([pt, theta * np.cos(ang), theta * np.sin(ang)]))
    return jets, "synthetic"


def shower_jets(n_jets, lo, hi, seed):
    try:
        from sklhep.datasets import make_jets
    except ImportError:
        return None
    try:
        X, _ = make_jets(4 * n_jets, flavor="both", random_state=seed)
    except Exception as exc:  # noqa: BLE001 - the shower API may differ; fall back quietly
        print(f"(make_jets unavailable: {exc}; using synthetic jets)")
        return None
    from sklhep._validation import jets_to_list

    jets = [j[:, :3] for j in jets_to_list(X) if lo <= len(j) <= hi]
    if len(jets) < n_jets:
        return None
    return jets[:n_jets], "sklhep.datasets.make_jets"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def pot_pairs(jets, pairs, R, beta):
    import ot

    out = np.empty(len(pairs))
    for k, (i, j) in enumerate(pairs):
        a, b = jets[i], jets[j]
        wa, wb = a[:, 0].copy(), b[:, 0].copy()
        dy = a[:, None, 1] - b[None, :, 1]
        dphi = a[:, None, 2] - b[None, :, 2]
        dphi = (dphi + np.pi) % (2 * np.pi) - np.pi
        cost = (np.sqrt(dy**2 + dphi**2) / R) ** beta
        diff = wa.sum() - wb.sum()
        if diff < 0:
            wa = np.append(wa, -diff)
            cost = np.vstack([cost, np.ones(cost.shape[1])])
        else:
            wb = np.append(wb, diff)
            cost = np.hstack([cost, np.ones((cost.shape[0], 1))])
        out[k] = ot.emd2(wa, wb, cost, numItermax=10**7)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=1000)
    parser.add_argument("--min-particles", type=int, default=30)
    parser.add_argument("--max-particles", type=int, default=60)
    parser.add_argument("--pot-pairs", type=int, default=5000)
    parser.add_argument("--solver-jets", type=int, default=200,
                        help="jets for the comparison of sklhep's solver paths")
    parser.add_argument("--sinkhorn-jets", type=int, default=25)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--ef-periodic", action="store_true",
                        help="also time energyflow.emds with periodic_phi=True")
    args = parser.parse_args()

    import energyflow as ef

    from sklhep.emd import EMDTransformer, exact_solvers

    R, beta = 0.4, 1.0
    got = shower_jets(args.n_jets, args.min_particles, args.max_particles, args.seed)
    jets, source = got or synthetic_jets(
        args.n_jets, args.min_particles, args.max_particles, args.seed
    )
    n = len(jets)
    n_pairs = n * (n - 1) // 2
    mult = np.array([len(j) for j in jets])
    print(f"{n} jets from {source}, {mult.min()}-{mult.max()} particles (mean {mult.mean():.1f});"
          f" {n_pairs} pairs; R={R}, beta={beta}, periodic phi; numpy {np.__version__}; exact "
          f"solvers usable: {exact_solvers()}")
    # energyflow hands events to wasserstein, whose pairwise wrapper needs Fortran-ordered events
    # under numpy 2 (np.array(..., copy=False) refuses the copy of a strided column)
    fjets = [np.asfortranarray(j) for j in jets]

    # Each method runs --repeat times, interleaved, and the best time counts: the machine may be
    # shared, and interleaving spreads any drift in its load over all methods alike.
    methods = {
        "sklhep": lambda t: EMDTransformer(R=R, beta=beta, solver_threads=t).fit_transform(jets),
        "sklhep(n_jobs)": lambda t: EMDTransformer(R=R, beta=beta, n_jobs=t).fit_transform(jets),
        # energyflow's fastest setting for jets centred on their axis (no phi wrapping needed)
        "energyflow.emds": lambda t: ef.emd.emds(fjets, R=R, beta=beta, periodic_phi=False,
                                                 n_jobs=t),
    }
    if args.ef_periodic:
        methods["energyflow.emds(periodic)"] = lambda t: ef.emd.emds(
            fjets, R=R, beta=beta, periodic_phi=True, n_jobs=t
        )
    best = {}
    reference = None
    for threads in args.threads:
        for _ in range(args.repeat):
            for name, fn in methods.items():
                if name == "sklhep(n_jobs)" and threads == 1:
                    continue
                out, dt = timed(lambda: fn(threads))
                key = (name, threads)
                best[key] = min(best.get(key, np.inf), dt)
                if reference is None:
                    reference = out
                elif not np.allclose(out, reference, rtol=1e-10, atol=1e-10):
                    raise AssertionError(f"{name} disagrees with sklhep")
        t_sk = best[("sklhep", threads)]
        line = f"[threads={threads}] sklhep {n_pairs / t_sk:8.0f} pairs/s"
        for name in methods:
            if name != "sklhep" and (name, threads) in best:
                t = best[(name, threads)]
                line += f" | {name} {n_pairs / t:8.0f} pairs/s (sklhep / it = {t / t_sk:.2f}x)"
        print(line, flush=True)
    t_sk1 = best[("sklhep", args.threads[0])]

    # sklhep's exact solver paths against energyflow, single-threaded, on a subset of jets
    sub = jets[: args.solver_jets]
    fsub = fjets[: args.solver_jets]
    sub_pairs = len(sub) * (len(sub) - 1) // 2
    paths = {f"sklhep solver={s!r}": (lambda s=s: EMDTransformer(R=R, beta=beta, solver=s)
                                      .fit_transform(sub)) for s in exact_solvers()}
    paths["energyflow.emds"] = lambda: ef.emd.emds(fsub, R=R, beta=beta, periodic_phi=False,
                                                   n_jobs=1)
    t_path, out_path = {}, {}
    for _ in range(args.repeat):
        for name, fn in paths.items():
            out_path[name], dt = timed(fn)
            t_path[name] = min(t_path.get(name, np.inf), dt)
    t_ef = t_path["energyflow.emds"]
    for name in paths:
        if name == "energyflow.emds":
            continue
        diff = np.abs(out_path[name] - out_path["energyflow.emds"]).max()
        print(f"[solver paths, {len(sub)} jets, 1 thread] {name}: {sub_pairs / t_path[name]:8.0f} "
              f"pairs/s, {t_ef / t_path[name]:.2f}x energyflow's speed "
              f"({sub_pairs / t_ef:.0f} pairs/s); max |difference| {diff:.1e}", flush=True)

    # POT on a subsample of pairs (single-threaded Python loop)
    rng = np.random.default_rng(args.seed)
    iu = np.triu_indices(n, 1)
    pick = rng.choice(len(iu[0]), size=min(args.pot_pairs, len(iu[0])), replace=False)
    pairs = list(zip(iu[0][pick], iu[1][pick]))
    P, t_pot = timed(lambda: pot_pairs(jets, pairs, R, beta))
    pot_rate = len(pairs) / t_pot
    rel = np.abs(P / reference[iu[0][pick], iu[1][pick]] - 1).max()
    print(f"[threads=1] POT ot.emd2 {pot_rate:9.0f} pairs/s on a subsample of {len(pairs)} pairs "
          f"(sklhep at {args.threads[0]} thread(s) / POT = {n_pairs / t_sk1 / pot_rate:.2f}x); "
          f"max relative diff {rel:.1e}", flush=True)

    if not args.no_dask:
        import joblib
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster):
            # warm the workers (imports) before timing
            with joblib.parallel_backend("dask"):
                EMDTransformer(R=R, beta=beta, n_jobs=-1).fit_transform(jets[:50])
                Dd, t_dask = timed(
                    lambda: EMDTransformer(R=R, beta=beta, n_jobs=-1).fit_transform(jets)
                )
        same = np.allclose(Dd, reference, rtol=1e-12, atol=1e-12)
        print(f"[dask, 2 workers x 1 thread] {n_pairs / t_dask:9.0f} pairs/s; speed-up over "
              f"serial sklhep {t_sk1 / t_dask:.2f}x; identical matrix: {same}", flush=True)
        if ("sklhep", 2) in best:
            print(f"  (time on dask with 2 workers / time locally with 2 solver threads = "
                  f"{t_dask / best[('sklhep', 2)]:.2f})", flush=True)

    # Sinkhorn: speed and error on a small subset
    if args.sinkhorn_jets < 3:
        return
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
    sk_jets = jets[: args.sinkhorn_jets]
    ns = len(sk_jets)
    sub_iu = np.triu_indices(ns, 1)
    exact = reference[:ns, :ns][sub_iu]
    for eps in (0.05, 0.01, 0.002):
        S, t_s = timed(
            lambda: EMDTransformer(R=R, beta=beta, method="sinkhorn", epsilon=eps,
                                   device="cpu").fit_transform(sk_jets)
        )
        r = S[sub_iu] / exact - 1
        print(f"[sinkhorn eps={eps}, cpu, 1 thread] {len(exact) / t_s:7.0f} pairs/s; relative "
              f"error vs exact: mean {r.mean():+.2e}, std {r.std():.2e}, max |.| "
              f"{np.abs(r).max():.2e}", flush=True)


if __name__ == "__main__":
    main()
