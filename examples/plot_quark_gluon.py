"""
Quark and gluon jets from the built-in shower and from Pythia
=============================================================

Generate quark and gluon jets with sklhep's fast parton shower and, with ``--pythia N`` when
pythia8mc and fastjet are installed, with Pythia 8 (the Z+jet recipe of the public quark/gluon
benchmark), then compare the two most telling observables: constituent multiplicity and jet width.
Gluons radiate with the colour factor C_A = 3 rather than C_F = 4/3, so gluon jets hold more
particles and are wider.

Run::

    python examples/plot_quark_gluon.py [--quick] [--pythia 600] [--out quark_gluon.png]
"""

import argparse
import importlib.util

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from sklhep.datasets import make_jets  # noqa: E402
from sklhep.plotting import plot_quark_gluon  # noqa: E402
from sklhep.preprocessing import JetObservables  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description="Quark and gluon jets: shower and Pythia")
    parser.add_argument("--quick", action="store_true", help="500 shower jets per flavour")
    parser.add_argument("--pythia", type=int, default=0, metavar="N",
                        help="also generate N Pythia Z+jet jets (cached on disk)")
    parser.add_argument("--out", default="quark_gluon.png")
    args = parser.parse_args(argv)

    n = 500 if args.quick else 5000
    Xq, yq = make_jets(n, "quark", random_state=0)
    Xg, yg = make_jets(n, "gluon", random_state=1)
    width = max(Xq.shape[1], Xg.shape[1])
    pad = lambda X: np.pad(X, ((0, 0), (0, width - X.shape[1]), (0, 0)))  # noqa: E731
    X_shower, y_shower = np.concatenate([pad(Xq), pad(Xg)]), np.r_[yq, yg]

    axes = plot_quark_gluon(X_shower, y_shower, ["multiplicity", "width"], sample_label="shower")
    samples = {"shower": (X_shower, y_shower)}
    if args.pythia:
        if importlib.util.find_spec("pythia8mc") and importlib.util.find_spec("fastjet"):
            from sklhep.datasets import generate_pythia_jets

            # Cached on disk under ~/.cache/sklhep: the second run of this script is instant.
            X_py, y_py = generate_pythia_jets(args.pythia, "zjets", random_state=0, n_jobs=2,
                                              verbose=1)
            plot_quark_gluon(X_py, y_py, ["multiplicity", "width"], axes=axes,
                             sample_label="Pythia", linestyle="--")
            samples["Pythia"] = (X_py, y_py)
        else:
            print("pythia8mc/fastjet not installed: showing the built-in shower only.")

    for name, (X, y) in samples.items():
        mult, w = JetObservables(["multiplicity", "width"]).fit_transform(X).T
        ratio = mult[y == 0].mean() / mult[y == 1].mean()
        print(f"{name:>7}: <n_g>/<n_q> = {ratio:.2f}, AUC(multiplicity) = "
              f"{roc_auc_score(y, -mult):.3f}, AUC(width) = {roc_auc_score(y, -w):.3f}")

    fig = axes[0].figure
    fig.suptitle("Quark vs gluon jets, pt = 500 GeV, R = 0.4")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
