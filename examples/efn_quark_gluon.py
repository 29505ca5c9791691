"""Energy Flow Network on quark vs gluon jets, and the filters it learns.

Generates quark and gluon jets with sklhep's built-in parton shower, trains an EFN (the ``efn``
backend) after centring and rotating the jets, compares its ROC curve with an xgboost BDT on jet
observables, and draws the EFN's latent filters Phi_a(y, phi) -- the interpretability picture of
Komiske, Metodiev and Thaler (arXiv:1810.05165). ``--pfn`` trains a Particle Flow Network as well.

Run from the repository root (about a minute on one CPU core; ``--quick``: a few seconds)::

    python examples/efn_quark_gluon.py [--quick] [--pfn] [--out efn_quark_gluon.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import sklhep  # noqa: E402
from sklhep.datasets import make_jets  # noqa: E402
from sklhep.plotting import plot_efn_filters  # noqa: E402
from sklhep.preprocessing import JetObservables, JetPreprocessor  # noqa: E402


def make_figure(n_jets=30_000, max_epochs=25, pfn=False, seed=0):
    import torch

    torch.set_num_threads(1)
    X, y = make_jets(n_jets, flavor="both", random_state=seed)
    n_train = int(0.8 * n_jets)
    train, test = slice(0, n_train), slice(n_train, None)
    sizes = dict(phi_sizes=(64, 64, 32), f_sizes=(64, 64)) if n_jets > 5000 else {}
    nets = {"EFN (particles)": "efn"} | ({"PFN (particles)": "pfn"} if pfn else {})
    probs = {}
    for name, kind in nets.items():
        model = make_pipeline(
            JetPreprocessor(),
            sklhep.get_backend(kind, max_epochs=max_epochs, random_state=seed, **sizes),
        ).fit(X[train], y[train])
        probs[name] = model.predict_proba(X[test])[:, 1]
        if kind == "efn":
            efn = model[-1]

    obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd", "e2"])
    O = obs.fit_transform(X)
    bdt = sklhep.get_backend("bdt").fit(O[train], y[train])
    probs["BDT (observables)"] = bdt.predict_proba(O[test])[:, 1]

    fig = plt.figure(figsize=(12, 4))
    ax_roc = fig.add_subplot(1, 3, 1)
    for name, p in probs.items():
        fpr, tpr, _ = roc_curve(y[test], p)
        ax_roc.plot(tpr, 1 - fpr, label=f"{name}: AUC {roc_auc_score(y[test], p):.3f}")
    ax_roc.set_xlabel("quark efficiency")
    ax_roc.set_ylabel("gluon rejection")
    ax_roc.legend(loc="lower left")
    ax_roc.set_title("quark vs gluon, built-in shower")

    plot_efn_filters(efn, kind="overlay", y_range=(-0.4, 0.4), phi_range=(-0.4, 0.4),
                     axes=fig.add_subplot(1, 3, 2))
    strongest = int(np.argmax(efn.latent_filters(n_grid=41)[2].max(axis=(1, 2))))
    plot_efn_filters(efn, filters=[strongest], y_range=(-0.4, 0.4), phi_range=(-0.4, 0.4),
                     axes=fig.add_subplot(1, 3, 3))
    fig.tight_layout()
    aucs = {name: roc_auc_score(y[test], p) for name, p in probs.items()}
    return fig, aucs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 000 jets, 2 epochs")
    parser.add_argument("--pfn", action="store_true", help="train a PFN too")
    parser.add_argument("--out", default="efn_quark_gluon.png")
    args = parser.parse_args(argv)
    fig, aucs = make_figure(n_jets=1_000 if args.quick else 30_000,
                            max_epochs=2 if args.quick else 25, pfn=args.pfn)
    fig.savefig(args.out, dpi=110)
    print(", ".join(f"{k}: AUC {v:.4f}" for k, v in aucs.items()) + f"; wrote {args.out}")


if __name__ == "__main__":
    main()
