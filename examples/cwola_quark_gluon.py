"""Classification without labels on quark/gluon jets from the built-in parton shower.

Two mixtures with quark fractions 0.8 and 0.2; a CWoLa classifier (bdt backend, 3-fold
cross-fitting) sees only which mixture each jet came from, a supervised classifier sees the truth.
The figure compares their background-rejection curves on pure quark and gluon jets, with the
multiplicity alone as a reference.

Run::

    python examples/cwola_quark_gluon.py [--quick] [--out cwola_quark_gluon.png]
"""

import argparse

import matplotlib.pyplot as plt

import sklhep
from sklhep import CWoLaClassifier, LikelihoodRatioEstimator
from sklhep.datasets import make_mixtures
from sklhep.plotting import plot_roc, plot_sic
from sklhep.preprocessing import JetObservables


def make_figure(n_jets=20_000, seed=0):
    jets, y_mix, y_true = make_mixtures(n_jets, fractions=(0.8, 0.2), random_state=seed)
    test_jets, _, y_test = make_mixtures(n_jets // 2, fractions=(1.0, 0.0), random_state=seed + 1)
    obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd"])
    X, X_test = obs.fit_transform(jets), obs.transform(test_jets)
    bdt = sklhep.get_backend("bdt")
    cwola = CWoLaClassifier(bdt, cv=3, random_state=seed).fit(X, y_mix)
    supervised = LikelihoodRatioEstimator(bdt, random_state=seed).fit(X, y_true)
    scores = {
        "CWoLa (mixture labels)": cwola.decision_function(X_test),
        "supervised (true labels)": supervised.decision_function(X_test),
        "multiplicity only": -X_test[:, 0],  # quarks have fewer particles
    }
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    plot_roc(y_test, scores, ax=left)
    plot_sic(y_test, scores, ax=right)
    left.set_title("quark vs gluon jets")
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 500 jets per mixture")
    parser.add_argument("--out", default="cwola_quark_gluon.png")
    args = parser.parse_args(argv)
    fig = make_figure(n_jets=1_500 if args.quick else 20_000)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
