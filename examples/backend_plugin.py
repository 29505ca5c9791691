"""Write a backend, register it, and let every sklhep estimator drive it.

A backend is an ordinary scikit-learn classifier that declares what it can do
(``sklhep_capabilities``) and whose raw output ``decision_function`` estimates the log likelihood
ratio of class 1 over class 0. This script writes one -- logistic regression on polynomial
features, which is exact for two Gaussians of different widths, where ``log p/q`` is quadratic --
and uses it two ways:

1. for one session, with ``sklhep.register_backend("polylogit", PolynomialLogisticBackend)``;
2. as a plugin, the way a separate package ships it: an entry point in the ``sklhep.backends``
   group. A real package puts this in its ``pyproject.toml``::

       [project.entry-points."sklhep.backends"]
       polylogit = "mypkg.backends:PolynomialLogisticBackend"

   Here the script writes the installed-package metadata (a ``.dist-info`` folder) into a
   temporary folder on ``sys.path`` instead of running ``pip install``, and calls
   ``sklhep.refresh_backends()``.

The figure compares the learned log ratio of N(0, 1) vs N(0, 2) with the exact one.

Run::

    python examples/backend_plugin.py [--quick] [--out backend_plugin.png]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import PolynomialFeatures  # noqa: E402
from sklearn.utils.validation import check_is_fitted, validate_data  # noqa: E402

import sklhep  # noqa: E402
from sklhep import BackendCapabilities, LikelihoodRatioEstimator  # noqa: E402


class PolynomialLogisticBackend(ClassifierMixin, BaseEstimator):
    """Logistic regression on polynomial features of degree ``degree``, as an sklhep backend."""

    sklhep_capabilities = BackendCapabilities(sample_weight=True, losses=("bce",))

    def __init__(self, degree=2, C=100.0):
        self.degree = degree
        self.C = C

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"y must hold two classes; got {self.classes_.tolist()}.")
        self.poly_ = PolynomialFeatures(self.degree, include_bias=False).fit(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=1000)
        self.model_.fit(self.poly_.transform(X), y, sample_weight=sample_weight)
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.decision_function(self.poly_.transform(X))

    def predict_proba(self, X):
        p1 = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1.0 - p1, p1])


def install_as_plugin(folder, name="polylogit"):
    """Write the metadata ``pip install`` would write for a package declaring the entry point."""
    dist = Path(folder) / "sklhep_polylogit_demo-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sklhep-polylogit-demo\n"
                                   "Version: 0.1\n")
    (dist / "entry_points.txt").write_text(
        f"[sklhep.backends]\n{name} = backend_plugin:PolynomialLogisticBackend\n")
    # the module the entry point names: this very file
    (Path(folder) / "backend_plugin.py").write_text(Path(__file__).read_text())
    sys.path.insert(0, str(folder))
    sklhep.refresh_backends()


def make_figure(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(0.0, 1.0, (n, 1)), rng.normal(0.0, 2.0, (n, 1))]
    y = np.r_[np.ones(n), np.zeros(n)]
    x = np.linspace(-4, 4, 200)[:, None]
    truth = np.log(2.0) - 3 * x[:, 0] ** 2 / 8  # log N(x; 0, 1) / N(x; 0, 2)

    sklhep.register_backend("polylogit", PolynomialLogisticBackend, overwrite=True)
    session = LikelihoodRatioEstimator(backend="polylogit").fit(X, y)

    with tempfile.TemporaryDirectory() as folder:
        install_as_plugin(folder, name="polylogit_plugin")
        if "polylogit_plugin" not in sklhep.list_backends():
            raise RuntimeError("the entry point was not discovered")
        plugin = LikelihoodRatioEstimator(backend="polylogit_plugin").fit(X, y)
        g_plugin = plugin.predict_log_ratio(x)
        sys.path.remove(folder)
    sklhep.refresh_backends()

    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.plot(x, truth, "k", lw=3, label="exact log N(0,1)/N(0,2)")
    ax.plot(x, session.predict_log_ratio(x), "C1", lw=1.5, label="register_backend('polylogit')")
    ax.plot(x, g_plugin, "C0--", lw=1.5, label="entry-point plugin")
    ax.set_xlabel("x")
    ax.set_ylabel("log likelihood ratio")
    ax.legend(frameon=False, fontsize="small")
    ax.set_title(f"a user-written backend, {n} events per class")
    fig.tight_layout()
    rms = float(np.sqrt(np.mean((g_plugin - truth) ** 2)))
    return fig, rms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 events per class")
    parser.add_argument("--out", default="backend_plugin.png")
    args = parser.parse_args(argv)
    fig, rms = make_figure(n=2_000 if args.quick else 20_000)
    fig.savefig(args.out, dpi=120)
    print(f"rms deviation from the exact log ratio on [-4, 4]: {rms:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()
