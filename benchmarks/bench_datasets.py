"""Jets per second: sklhep's built-in shower, Pythia 8 + FastJet, and jet features.

Run: ``python benchmarks/bench_datasets.py [--pythia-jets 100] [--shower-jets 100000]``.
Prints the rates, the ratio shower/Pythia, and the quark/gluon multiplicity ratio and AUC of each
generator (the physics the rate buys). Everything runs on one core.
"""

import argparse
import importlib.util
import time

import numpy as np
from sklearn.metrics import roc_auc_score

from sklhep.datasets import make_jets
from sklhep.preprocessing import EFPTransformer, JetObservables


def _qg_stats(X, y):
    mult = (X[..., 0] > 0).sum(axis=1)
    return mult[y == 0].mean() / mult[y == 1].mean(), roc_auc_score(y, -mult), mult[y == 1].mean()


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shower-jets", type=int, default=100_000)
    parser.add_argument("--pythia-jets", type=int, default=100)
    args = parser.parse_args()

    rates = {}
    for splitting in ("soft", "full"):
        n = args.shower_jets // 2
        (Xq, _), tq = _timed(make_jets, n, "quark", random_state=0, splitting=splitting)
        (Xg, _), tg = _timed(make_jets, n, "gluon", random_state=1, splitting=splitting)
        rates[f"shower ({splitting})"] = 2 * n / (tq + tg)
        w = max(Xq.shape[1], Xg.shape[1])
        X = np.concatenate([np.pad(A, ((0, 0), (0, w - A.shape[1]), (0, 0))) for A in (Xq, Xg)])
        y = np.r_[np.ones(n, int), np.zeros(n, int)]
        ratio, auc, nq = _qg_stats(X, y)
        print(f"shower ({splitting}): {2 * n} jets in {tq + tg:.1f} s = "
              f"{rates[f'shower ({splitting})']:.0f} jets/s; <n_q> = {nq:.1f}, "
              f"<n_g>/<n_q> = {ratio:.2f}, multiplicity AUC = {auc:.3f}")

    if importlib.util.find_spec("pythia8mc") and importlib.util.find_spec("fastjet"):
        from sklhep.datasets import generate_pythia_jets

        (Xp, yp), tp = _timed(generate_pythia_jets, args.pythia_jets, "zjets", random_state=0,
                              cache=False, n_jobs=1)
        rates["pythia"] = args.pythia_jets / tp
        ratio, auc, nq = _qg_stats(Xp, yp)
        print(f"Pythia Z+jet: {args.pythia_jets} jets in {tp:.1f} s = {rates['pythia']:.1f} "
              f"jets/s; <n_q> = {nq:.1f}, <n_g>/<n_q> = {ratio:.2f}, multiplicity AUC = {auc:.3f}")
        (Xd, yd, cd), td = _timed(generate_pythia_jets, 2 * (args.pythia_jets // 4), "dijets",
                                  random_state=0, cache=False, n_jobs=1)
        print(f"Pythia dijets: {Xd.shape[0]} jets in {td:.1f} s = {Xd.shape[0] / td:.1f} jets/s; "
              f"quark fraction central {yd[cd == 1].mean():.2f}, forward {yd[cd == 0].mean():.2f}")
        print(f"ratio shower (soft) / Pythia: {rates['shower (soft)'] / rates['pythia']:.0f}x")
    else:
        print("pythia8mc/fastjet not installed: Pythia skipped")

    X, _ = make_jets(5000, "both", random_state=2)
    _, t_obs = _timed(JetObservables().fit_transform, X)
    print(f"JetObservables (all 10): {len(X) / t_obs:.0f} jets/s")
    if importlib.util.find_spec("energyflow"):
        import energyflow as ef

        Xs = X[:1000]
        efp = EFPTransformer(dmax=5).fit(Xs)  # builds the EFPSet once, like `ref` below
        _, t_ours = _timed(efp.transform, Xs)
        ref = ef.EFPSet("d<=5", measure="hadr", beta=1.0, normed=True, coords="ptyphim")
        _, t_ref = _timed(ref.batch_compute, [x[x[:, 0] > 0, :3] for x in Xs], 1)
        print(f"EFPTransformer d<=5: {len(Xs) / t_ours:.0f} jets/s; energyflow.EFPSet directly: "
              f"{len(Xs) / t_ref:.0f} jets/s (ratio {t_ref / t_ours:.2f})")


if __name__ == "__main__":
    main()
