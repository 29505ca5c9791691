"""Jet-topics kappa estimators: bias, spread and time versus sample size, in one table.

For each toy of :func:`sklhep.datasets.make_topic_mixtures` ("sep": pure regions of finite mass,
"beta": anchors at the endpoints, "gauss": anchors at infinity), fractions (0.8, 0.3) and exact
kappa = (0.2857, 0.375), every estimator of :mod:`sklhep.topics` runs on the same replicas at each
sample size (events per mixture). The table gives, for kappa12 and kappa21, the bias and the RMS
over the replicas, and the median time of one estimate (sorting the events included). The
reference is the plain minimum of the ratio of 50 equal-width histogram bins (numpy), the
textbook anchor estimate that the guarded anchor replaces.

Usage: ``python benchmarks/bench_topics.py [--sizes 10000 100000] [--replicas 20]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from sklhep.datasets import make_topic_mixtures  # noqa: E402
from sklhep.topics import KAPPA_METHODS  # noqa: E402

TOYS = ("sep", "beta", "gauss")


def plain_minimum(score, y, sample_weight=None, n_bins=50):
    """The textbook estimate: min over 50 equal-width bins of the ratio of normalised histograms."""
    edges = np.linspace(score.min(), score.max(), n_bins + 1)
    h1 = np.histogram(score[y == 1], edges)[0] / np.sum(y == 1)
    h2 = np.histogram(score[y == 0], edges)[0] / np.sum(y == 0)
    ok = (h1 > 0) | (h2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.array([np.nanmin(np.where(h2[ok] > 0, h1[ok] / h2[ok], np.inf)),
                         np.nanmin(np.where(h1[ok] > 0, h2[ok] / h1[ok], np.inf))])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--replicas", type=int, default=20)
    args = parser.parse_args(argv)
    methods = dict(KAPPA_METHODS)
    methods["plain (numpy)"] = None
    header = (f"{'toy':6s} {'n/mixture':>9s} {'method':15s} {'bias k12':>9s} {'bias k21':>9s} "
              f"{'rms k12':>8s} {'rms k21':>8s} {'time [ms]':>10s}")
    print(header)
    print("-" * len(header))
    for toy in TOYS:
        for n in args.sizes:
            data = [make_topic_mixtures(n, toy=toy, random_state=r) for r in range(args.replicas)]
            for name, fn in methods.items():
                errors, times = [], []
                for X, y, _, kappa in data:
                    t0 = time.perf_counter()
                    k = plain_minimum(X[:, 0], y) if fn is None else fn(X[:, 0], y).kappa
                    times.append(time.perf_counter() - t0)
                    errors.append(k - kappa)
                e = np.array(errors)
                bias, rms = e.mean(axis=0), np.sqrt((e**2).mean(axis=0))
                print(f"{toy:6s} {n:9d} {name:15s} {bias[0]:+9.4f} {bias[1]:+9.4f} {rms[0]:8.4f} "
                      f"{rms[1]:8.4f} {1e3 * np.median(times):10.1f}", flush=True)


if __name__ == "__main__":
    main()
