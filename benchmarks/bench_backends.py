"""Benchmark the built-in ``bdt`` and ``histogram`` backends against reference tools.

* ``bdt`` (xgboost, hist) vs scikit-learn's ``HistGradientBoostingClassifier`` with matched settings
  (200 rounds, learning rate 0.1, depth-3 trees = at most 8 leaves, 256 bins, no early stopping, the
  same number of threads);
* ``histogram`` vs a hand-written numpy ratio of ``np.histogramdd`` with quantile edges: the step
  function (``interpolation="none"``) side by side with numpy, and the interpolated default.

The data are Gaussians with an analytic log likelihood ratio: class 1 ~ N(+mu, 1)^d, class 0 ~
N(-mu, 1)^d, so log p/q = 2 mu sum(x). Printed: fit and predict times (best of ``--repeat``), test
AUC, the RMS of the learned log ratio around the truth on the test events, and sklhep/reference
ratios (time ratio < 1 means sklhep is faster).

Run from the repository root::

    python benchmarks/bench_backends.py [--events 200000] [--threads 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import sklhep  # noqa: E402


def gaussians(n_events, dim, mu, seed):
    rng = np.random.default_rng(seed)
    n1 = n_events // 2
    X = np.r_[rng.normal(mu, 1.0, (n1, dim)), rng.normal(-mu, 1.0, (n_events - n1, dim))]
    y = np.r_[np.ones(n1, dtype=int), np.zeros(n_events - n1, dtype=int)]
    return X, y, 2 * mu * X.sum(axis=1)


def best_time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def logit(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


class NumpyHistogramRatio:
    """The reference: per-class np.histogramdd on given edges, log ratio looked up per event."""

    def __init__(self, edges, smoothing=1.0):
        self.edges = edges
        self.smoothing = smoothing

    def fit(self, X, y):
        self.h = [np.histogramdd(X[y == k], bins=self.edges)[0] for k in (0, 1)]
        total = len(y)
        self.pseudo = [self.smoothing * np.mean(y == k) for k in (0, 1)]
        self.total = total
        return self

    def log_ratio(self, X):
        idx = tuple(
            np.clip(np.digitize(X[:, j], e[1:-1]), 0, len(e) - 2) for j, e in enumerate(self.edges)
        )
        return np.log((self.h[1][idx] + self.pseudo[1]) / (self.h[0][idx] + self.pseudo[0]))


def row(name, fit_t, pred_t, auc, rms):
    print(f"  {name:<38s} fit {fit_t:8.3f} s   predict {pred_t:7.3f} s   AUC {auc:.4f}   "
          f"RMS(g - log p/q) {rms:.3f}")


def ratios(a, b):
    print(f"  {'ratio sklhep / reference':<38s} fit {a[0] / b[0]:8.2f}     predict "
          f"{a[1] / b[1]:7.2f}     AUC {a[2] / b[2]:.4f}   RMS ratio {a[3] / b[3]:.3f}")


def bench_bdt(n_events, threads, repeat):
    X, y, truth = gaussians(n_events, dim=4, mu=0.5, seed=0)
    Xt, yt, truth_t = gaussians(n_events, dim=4, mu=0.5, seed=1)
    print(f"\nbdt vs HistGradientBoostingClassifier: {n_events} events, 4 features, "
          f"{threads} thread(s)")
    bdt = sklhep.get_backend("bdt", n_estimators=200, max_depth=3, learning_rate=0.1,
                             n_threads=threads, random_state=0)
    hgb = HistGradientBoostingClassifier(max_iter=200, max_depth=3, max_leaf_nodes=8,
                                         learning_rate=0.1, early_stopping=False, random_state=0)
    results = []
    for name, est in (("sklhep bdt (xgboost hist)", bdt), ("sklearn HistGradientBoosting", hgb)):
        with threadpool_limits(threads):
            fit_t, _ = best_time(lambda est=est: est.fit(X, y), repeat)
            pred_t, proba = best_time(lambda est=est: est.predict_proba(Xt)[:, 1], repeat)
        g = logit(proba)
        res = (fit_t, pred_t, roc_auc_score(yt, proba), np.sqrt(np.mean((g - truth_t) ** 2)))
        row(name, *res)
        results.append(res)
    ratios(*results)
    mlc = sklhep.get_backend("bdt", n_estimators=200, max_depth=3, learning_rate=0.1,
                             n_threads=threads, random_state=0, loss="mlc")
    fit_t, _ = best_time(lambda: mlc.fit(X, y), repeat)
    pred_t, g = best_time(lambda: mlc.decision_function(Xt), repeat)
    res = (fit_t, pred_t, roc_auc_score(yt, g), np.sqrt(np.mean((g - truth_t) ** 2)))
    row("sklhep bdt, loss='mlc'", *res)
    print(f"  {'ratio mlc / bce (both sklhep bdt)':<38s} fit {res[0] / results[0][0]:8.2f}     "
          f"predict {res[1] / results[0][1]:7.2f}     AUC {res[2] / results[0][2]:.4f}   "
          f"RMS ratio {res[3] / results[0][3]:.3f}")
    print(f"  (optimal AUC from the true ratio: {roc_auc_score(yt, truth_t):.4f})")


def bench_histogram(n_events, dim, bins, repeat):
    X, y, truth = gaussians(n_events, dim=dim, mu=1.0 if dim == 1 else 0.5, seed=2)
    Xt, yt, truth_t = gaussians(n_events, dim=dim, mu=1.0 if dim == 1 else 0.5, seed=3)
    print(f"\nhistogram vs numpy np.histogramdd ratio: {n_events} events, {dim} feature(s), "
          f"{bins} quantile bins per feature")
    results = {}
    for interpolation in ("none", "linear"):
        hist = sklhep.get_backend("histogram", bins=bins, binning="quantile", smoothing=1.0,
                                  interpolation=interpolation)
        fit_t, _ = best_time(lambda hist=hist: hist.fit(X, y), repeat)
        pred_t, g = best_time(lambda hist=hist: hist.decision_function(Xt), repeat)
        results[interpolation] = (fit_t, pred_t, roc_auc_score(yt, g),
                                  np.sqrt(np.mean((g - truth_t) ** 2)))
    row("sklhep histogram, interpolated", *results["linear"])
    row("sklhep histogram, step", *results["none"])
    res_h = results["none"]

    def fit_ref():
        edges = [np.quantile(X[:, j], np.linspace(0, 1, bins + 1)) for j in range(dim)]
        return NumpyHistogramRatio(edges).fit(X, y)

    fit_t, ref = best_time(fit_ref, repeat)
    pred_t, g_ref = best_time(lambda: ref.log_ratio(Xt), repeat)
    res_r = (fit_t, pred_t, roc_auc_score(yt, g_ref), np.sqrt(np.mean((g_ref - truth_t) ** 2)))
    row("numpy histogramdd + digitize (step)", *res_r)
    ratios(res_h, res_r)
    print("  (the step function is compared with numpy; interpolation is sklhep's default)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import xgboost

    print(f"sklhep {sklhep.__version__}, xgboost {xgboost.__version__}, numpy {np.__version__}")
    bench_bdt(args.events, args.threads, args.repeat)
    bench_histogram(args.events, dim=1, bins=50, repeat=args.repeat)
    bench_histogram(args.events, dim=3, bins=12, repeat=args.repeat)


if __name__ == "__main__":
    main()
