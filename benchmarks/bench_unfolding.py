"""Unfolding: closure and wall time of OmniFold and IBU against reference tools, side by side.

On the OmniFold paper's Gaussian toy (simulation N(0, 1), nature N(0.2, 0.8), smearing 0.5), for
each method it prints the chi^2/ndf of the unfolded particle-level histogram against nature's
truth (Poisson errors of the truth plus the method's own variance where it has one), the unfolded
mean and std against the exact EM recursion, and the wall time:

* sklhep's IterativeBayesUnfolder and pyunfold's ``iterative_unfold`` (same response and prior);
* sklhep's OmniFoldUnfolder with the ``bdt`` and ``mlp`` backends;
* hep_ml's GBReweighter used as a one-step reweighter (detector-level weights applied to the
  particle level), when hep_ml is importable (``pip install --no-deps hep_ml``);
* optionally (``--big``) OmniFold with ``bdt`` on 1M events x 5 iterations: time and peak memory.

Usage: ``python benchmarks/bench_unfolding.py [--n 100000] [--iterations 4] [--no-mlp] [--big]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sklhep.datasets import make_gaussian_unfolding  # noqa: E402
from sklhep.unfolding import IterativeBayesUnfolder, OmniFoldUnfolder  # noqa: E402

EDGES = np.linspace(-3.0, 3.0, 25)


def em_recursion(k, mu=0.0, s=1.0, mu_t=0.2, s_t=0.8, e=0.5):
    var = s**2
    for _ in range(k):
        a = var / (var + e**2)
        mu, var = mu + a * (mu_t - mu), var * e**2 / (var + e**2) + a**2 * (s_t**2 + e**2)
    return mu, np.sqrt(var)


def chi2_ndf(counts, variances, truth):
    v = variances + truth
    keep = v > 0
    return float(np.sum((counts[keep] - truth[keep]) ** 2 / v[keep]) / keep.sum())


def moments(t, w):
    m = np.average(t, weights=w)
    return m, np.sqrt(np.average((t - m) ** 2, weights=w))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--iterations", type=int, default=4)
    ap.add_argument("--no-mlp", action="store_true")
    ap.add_argument("--big", action="store_true", help="also 1M events x 5 iterations (bdt)")
    args = ap.parse_args()
    K = args.iterations
    d = make_gaussian_unfolding(args.n, random_state=0)
    t_sim, t_nat = d.sim_truth[:, 0], d.nature_truth[:, 0]
    truth = np.histogram(t_nat, EDGES)[0].astype(float)
    rows = []
    em = em_recursion(K)

    t0 = time.perf_counter()
    ibu = IterativeBayesUnfolder(EDGES, EDGES, n_iterations=K).fit(
        d.sim_reco, d.sim_truth, d.nature_reco)
    dt = time.perf_counter() - t0
    centres = 0.5 * (EDGES[1:] + EDGES[:-1])
    rows.append(("sklhep IBU", chi2_ndf(ibu.unfolded_, np.diag(ibu.covariance_), truth),
                 moments(centres, ibu.unfolded_), dt))
    try:
        import pyunfold

        t0 = time.perf_counter()
        data = ibu.purity_ * ibu.data_  # fakes: gen outside the edges, reco inside
        res = pyunfold.iterative_unfold(
            data=data, data_err=ibu.purity_ * np.sqrt(ibu.data_), response=ibu.response_,
            response_err=np.full_like(ibu.response_, 1e-3), efficiencies=ibu.efficiency_,
            efficiencies_err=np.full_like(ibu.efficiency_, 1e-3),
            prior=ibu.prior_ / ibu.prior_.sum(), ts_stopping=-1.0, max_iter=K)
        dt = time.perf_counter() - t0 + 0.0
        rows.append(("pyunfold IBU (response given)", chi2_ndf(res["unfolded"],
                     res["stat_err"] ** 2, truth), moments(centres, res["unfolded"]), dt))
        print(f"max |sklhep - pyunfold| / pyunfold = "
              f"{np.max(np.abs(ibu.unfolded_ / res['unfolded'] - 1)):.1e}")
    except ImportError:
        print("pyunfold not importable: skipped")

    backends = ["bdt"] + ([] if args.no_mlp else ["mlp"])
    for backend in backends:
        t0 = time.perf_counter()
        of = OmniFoldUnfolder(backend, n_iterations=K, random_state=0).fit(
            d.sim_reco, d.sim_truth, d.nature_reco)
        dt = time.perf_counter() - t0
        counts, variances, _ = of.histogram(t_sim, EDGES)
        rows.append((f"sklhep OmniFold {backend}", chi2_ndf(counts, variances, truth),
                     moments(t_sim, of.weights_), dt))
        print(f"OmniFold {backend} per iteration (mean, std) vs EM recursion:")
        for k in range(1, K + 1):
            m, s = moments(t_sim, of.weights_history_["push"][k - 1])
            e = em_recursion(k)
            print(f"  k={k}: ({m:.4f}, {s:.4f})  exact ({e[0]:.4f}, {e[1]:.4f})")
    try:
        from hep_ml.reweight import GBReweighter

        t0 = time.perf_counter()
        gb = GBReweighter(n_estimators=200, max_depth=3, learning_rate=0.1)
        gb.fit(d.sim_reco, d.nature_reco)
        w = gb.predict_weights(d.sim_reco)
        w *= len(d.nature_reco) / w.sum()
        dt = time.perf_counter() - t0
        counts = np.histogram(t_sim, EDGES, weights=w)[0]
        var = np.histogram(t_sim, EDGES, weights=w**2)[0]
        rows.append(("hep_ml GBReweighter (one step)", chi2_ndf(counts, var, truth),
                     moments(t_sim, w), dt))
    except ImportError:
        print("hep_ml not importable: skipped")

    print(f"\n{args.n} events, {K} iterations; exact EM recursion at k={K}: "
          f"({em[0]:.4f}, {em[1]:.4f}); truth sample ({t_nat.mean():.4f}, {t_nat.std():.4f})")
    print(f"{'method':34s} {'chi2/ndf':>9s} {'mean':>8s} {'std':>8s} {'time [s]':>9s}")
    for name, chi2, (m, s), dt in rows:
        print(f"{name:34s} {chi2:9.2f} {m:8.4f} {s:8.4f} {dt:9.2f}")

    if args.big:
        big = make_gaussian_unfolding(1_000_000, random_state=1)
        before = peak_rss_mb()
        t0 = time.perf_counter()
        of = OmniFoldUnfolder("bdt", n_iterations=5, random_state=0).fit(
            big.sim_reco, big.sim_truth, big.nature_reco)
        dt = time.perf_counter() - t0
        m, s = moments(big.sim_truth[:, 0], of.weights_)
        print(f"\n1M events x 5 iterations (bdt): {dt:.1f} s, peak RSS {peak_rss_mb():.0f} MB "
              f"(before the fit {before:.0f} MB); (mean, std) = ({m:.4f}, {s:.4f}), exact "
              f"{tuple(round(v, 4) for v in em_recursion(5))}")


if __name__ == "__main__":
    main()
