"""Likelihood-ratio estimation: accuracy and fit time against reference tools, side by side.

The benchmark of the likelihood-ratio trick: N(+1, 1) vs N(-1, 1) with the exact ratio exp(2 x) in
one dimension, and N(+mu, 1) vs N(-mu, 1) with mu = 1/sqrt(d) in d dimensions (the same KL of 2).
For each method it prints the median of |r_hat/r - 1| over the central 98% of p (held-out events),
the KL estimate against the exact value, the fit time, and both as ratios to a plain histogram ratio
(numpy), the classic baseline.

Methods: sklhep's LikelihoodRatioEstimator with the histogram, bdt and mlp backends; the plain
numpy histogram ratio; hep_ml's GBReweighter (a reweighting BDT whose weights are the ratio
q -> p) and MadMiner's ParameterizedRatioEstimator (CARL, a network of the same size as sklhep's
mlp here) when they are importable. Neither is a dependency of sklhep (hep_ml needs pandas,
MadMiner pins its own torch): run this script in a throwaway environment that has them, e.g.

    python -m venv /tmp/bench && /tmp/bench/bin/pip install scikit-learn xgboost skorch tqdm \
        hep_ml madminer && PYTHONPATH=. /tmp/bench/bin/python benchmarks/bench_ratio.py

Usage: ``python benchmarks/bench_ratio.py [--n 100000] [--dims 1 3] [--no-mlp]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import sklhep  # noqa: E402
from sklhep import LikelihoodRatioEstimator  # noqa: E402
from sklhep.datasets import gaussian_kl_divergence, make_gaussian_pair  # noqa: E402


def central_error(log_ratio_hat, log_ratio_true):
    """Median |r_hat/r - 1| over the events of p inside their central 98%.

    "Central" is measured in the true log ratio (the sufficient statistic), which in one dimension
    is the central 98% of x.
    """
    lo, hi = np.quantile(log_ratio_true, [0.01, 0.99])
    inside = (log_ratio_true > lo) & (log_ratio_true < hi)
    return float(np.median(np.abs(np.expm1(log_ratio_hat[inside] - log_ratio_true[inside]))))


class NumpyHistogramRatio:
    """The baseline: per-class normalised histograms on a common grid, ratio bin by bin."""

    def __init__(self, bins):
        self.bins = bins

    def fit(self, X, y):
        self.edges_ = [np.quantile(X[:, j], np.linspace(0, 1, self.bins + 1)) for j in
                       range(X.shape[1])]
        hp, _ = np.histogramdd(X[y == 1], bins=self.edges_)
        hq, _ = np.histogramdd(X[y == 0], bins=self.edges_)
        # half an event in empty cells, so the log ratio stays finite
        self.log_ratio_ = np.log((hp + 0.5) / hp.sum()) - np.log((hq + 0.5) / hq.sum())
        return self

    def predict_log_ratio(self, X):
        idx = tuple(
            np.clip(np.searchsorted(e, X[:, j], side="right") - 1, 0, len(e) - 2)
            for j, e in enumerate(self.edges_)
        )
        return self.log_ratio_[idx]


class MadMinerCarl:
    """MadMiner's ParameterizedRatioEstimator trained with CARL (a classifier; the parameter held
    fixed, since the two hypotheses here are not points of a parameter space)."""

    def __init__(self, epochs=20):
        from madminer.ml import ParameterizedRatioEstimator

        self.model = ParameterizedRatioEstimator(n_hidden=(32, 32), activation="relu")
        self.epochs = epochs

    def fit(self, X, y):
        # MadMiner labels the numerator 0 and the denominator 1
        self.model.train(method="carl", x=X, y=(1 - y).reshape(-1, 1).astype(float),
                         theta=np.zeros((len(y), 1)), n_epochs=self.epochs, batch_size=1024,
                         verbose="none", n_workers=0)
        return self

    def predict_log_ratio(self, X):
        log_r, _ = self.model.evaluate_log_likelihood_ratio(x=X, theta=np.zeros((1, 1)))
        return np.asarray(log_r).reshape(-1)


class HepMLReweighter:
    """hep_ml's GBReweighter: learns weights that morph q into p, i.e. the ratio p/q."""

    def __init__(self):
        from hep_ml.reweight import GBReweighter

        self.model = GBReweighter()  # its defaults (40 trees of depth 3); more trees overfit

    def fit(self, X, y):
        self.model.fit(original=X[y == 0], target=X[y == 1])
        # the weights are the ratio up to a constant: fix it by <r>_q = 1 on the training q
        self.log_norm_ = np.log(np.mean(self.model.predict_weights(X[y == 0])))
        return self

    def predict_log_ratio(self, X):
        return np.log(self.model.predict_weights(X)) - self.log_norm_


def run(method, make, X, y, X_test, y_test, log_ratio):
    start = time.perf_counter()
    model = make().fit(X, y)
    fit_time = time.perf_counter() - start
    g_p = model.predict_log_ratio(X_test[y_test == 1])
    err = central_error(g_p, log_ratio(X_test[y_test == 1]))
    kl = float(np.mean(g_p))
    return {"method": method, "err": err, "kl": kl, "time": fit_time}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="events per class")
    parser.add_argument("--dims", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--no-mlp", action="store_true", help="skip the torch networks")
    args = parser.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        args.no_mlp = True

    for d in args.dims:
        # means +-1/sqrt(d) per coordinate: the same separation (KL = 2) in every dimension
        mu = 1.0 / np.sqrt(d)
        X, y, log_ratio = make_gaussian_pair(args.n, mean=mu, n_features=d, random_state=0)
        X_test, y_test, _ = make_gaussian_pair(args.n, mean=mu, n_features=d, random_state=1)
        kl_true = gaussian_kl_divergence(mu, 1.0, -mu, 1.0, n_features=d)
        bins = {1: 60, 2: 30, 3: 12}.get(d, 6)
        methods = [("numpy histogram ratio", lambda bins=bins: NumpyHistogramRatio(bins))]
        if d <= 3:
            methods.append(("sklhep histogram (auto)", lambda: LikelihoodRatioEstimator(
                sklhep.get_backend("histogram"))))
        # 1-D: shallow trees (the settings of the slow tests); more dimensions: the defaults
        bce = {"max_depth": 2, "n_estimators": 100, "min_child_weight": 100} if d == 1 else {}
        mlc = {"max_depth": 2, "n_estimators": 300, "min_child_weight": 100} if d == 1 else {}
        methods.append(("sklhep bdt (bce)", lambda bce=bce: LikelihoodRatioEstimator(
            sklhep.get_backend("bdt", **bce), random_state=0)))
        methods.append(("sklhep bdt (mlc)", lambda mlc=mlc: LikelihoodRatioEstimator(
            sklhep.get_backend("bdt", **mlc), loss="mlc", random_state=0)))
        if not args.no_mlp:
            mlp = {"hidden_sizes": (32, 32), "batch_size": 1024, "max_epochs": 30, "patience": 5}
            methods.append(("sklhep mlp (bce)", lambda mlp=mlp: LikelihoodRatioEstimator(
                sklhep.get_backend("mlp", **mlp), random_state=0)))
        try:
            import hep_ml  # noqa: F401

            methods.append(("hep_ml GBReweighter", HepMLReweighter))
        except ImportError:
            print("(hep_ml is not importable here: GBReweighter skipped; see the module docstring)")
        try:
            import madminer  # noqa: F401

            methods.append(("MadMiner CARL (32x32)", MadMinerCarl))
        except ImportError:
            print("(madminer is not importable here: skipped; see the module docstring)")

        print(f"\nN(+{mu:.3g},1) vs N(-{mu:.3g},1) in {d} dimension(s), {args.n} events per "
              f"class; exact KL = {kl_true:g}; histogram bins per axis: {bins}")
        header = (f"{'method':24s} {'median|r/r-1|':>14s} {'KL':>7s} {'fit s':>8s} "
                  f"{'err/hist':>9s} {'time/hist':>10s}")
        print(header)
        print("-" * len(header))
        base = None
        for name, make in methods:
            res = run(name, make, X, y, X_test, y_test, log_ratio)
            base = base or res
            print(f"{name:24s} {res['err']:14.4f} {res['kl']:7.3f} {res['time']:8.2f} "
                  f"{res['err'] / base['err']:9.2f} {res['time'] / base['time']:10.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
