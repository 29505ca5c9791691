"""The likelihood-ratio trick on a toy with analytic truth: learned against exact log ratio.

Two densities, p = N(+1, 1) in 2-D (class 1) and q = N(-1, 1) (class 0), have the exact log ratio
log p/q = 2 (x1 + x2). A LikelihoodRatioEstimator learns it with the bdt backend, with classes of
unequal size (the estimator balances them), and with a strongly regularised linear model repaired
by isotonic calibration. The figure shows learned against exact log ratio.

Run::

    python examples/likelihood_ratio.py [--quick] [--out likelihood_ratio.png]
"""

import argparse

import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression

import sklhep
from sklhep import LikelihoodRatioEstimator
from sklhep.datasets import make_gaussian_pair
from sklhep.plotting import plot_ratio_calibration


def make_figure(seed=0, n=20_000):
    X, y, log_ratio = make_gaussian_pair((3 * n, n), n_features=2, random_state=seed)
    X_test, y_test, _ = make_gaussian_pair(n, n_features=2, random_state=seed + 1)
    models = {
        "bdt": LikelihoodRatioEstimator(sklhep.get_backend("bdt"), random_state=seed),
        "linear, C=1e-5 (uncalibrated)": LikelihoodRatioEstimator(LogisticRegression(C=1e-5)),
        "linear, C=1e-5 + isotonic calibration": LikelihoodRatioEstimator(
            LogisticRegression(C=1e-5), calibration="isotonic", random_state=seed
        ),
    }
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    truth = log_ratio(X_test)
    for label, model in models.items():
        model.fit(X, y)
        kl = model.kl_divergence(X_test, y_test)
        plot_ratio_calibration(truth, model.predict_log_ratio(X_test), ax=ax,
                               label=f"{label}: KL = {kl:.2f}")
    ax.set_title("N(+1,1) vs N(-1,1) in 2-D: exact KL = 4")
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 events in the smaller class")
    parser.add_argument("--out", default="likelihood_ratio.png")
    args = parser.parse_args(argv)
    fig = make_figure(n=2_000 if args.quick else 20_000)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
