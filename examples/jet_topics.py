"""Jet topics: quark and gluon jets defined by two mixtures, and their fractions.

Two mixtures of built-in-shower jets with hidden quark fractions 0.8 and 0.3. ``TopicDemixer``
estimates the reducibility factors kappa12 = inf p_M1/p_M2 and kappa21 = inf p_M2/p_M1 -- from
the constituent multiplicity alone (the "traditional" topics) and from the out-of-fold outputs of
a CWoLa classifier on four jet observables (the "weak-supervision" topics) -- and from them the
fractions and the topic distributions of any observable. The figure shows the multiplicity
distributions of the two topics against the true quark and gluon jets, and prints the fractions
with their uncertainties next to the hidden truth.

Run::

    python examples/jet_topics.py [--quick] [--out jet_topics.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklhep.datasets import make_mixtures  # noqa: E402
from sklhep.preprocessing import JetObservables  # noqa: E402
from sklhep.topics import TopicDemixer  # noqa: E402


def make_figure(n_jets=20_000, n_bootstrap=50, seed=0):
    jets, y_mix, y_true = make_mixtures(n_jets, fractions=(0.8, 0.3), random_state=seed)
    X = JetObservables(observables=["multiplicity", "mass", "width", "ptd"]).fit_transform(jets)
    fits = {
        "multiplicity": TopicDemixer(n_bootstrap=n_bootstrap, random_state=seed).fit(
            X[:, :1], y_mix),
        "weak supervision (bdt)": TopicDemixer(backend="bdt", cv=3, n_bootstrap=n_bootstrap,
                                               random_state=seed).fit(X, y_mix),
    }
    mult = X[:, 0]
    edges = np.arange(0, np.quantile(mult, 0.995) + 5, 4) - 0.5
    fig, ax = plt.subplots(figsize=(6, 4))
    for flavour, color, label in ((1, "C0", "true quark jets"), (0, "C3", "true gluon jets")):
        h = np.histogram(mult[y_true == flavour], edges)[0]
        ax.stairs(h / h.sum(), edges, color=color, lw=2, alpha=0.5, label=label)
    topics, _, _ = fits["weak supervision (bdt)"].topic_histogram(mult, y_mix, bins=edges)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.plot(centres, topics[0], "o", ms=3.5, color="C0", label="topic 1 (weak supervision)")
    ax.plot(centres, topics[1], "s", ms=3.5, color="C3", label="topic 2 (weak supervision)")
    ax.set_xlabel("constituent multiplicity")
    ax.set_ylabel("fraction of jets per bin")
    ax.legend(frameon=False, fontsize="small")
    ax.set_title(f"two mixtures of {n_jets} jets, hidden quark fractions 0.8 and 0.3")
    fig.tight_layout()
    return fig, fits


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 000 jets per mixture")
    parser.add_argument("--out", default="jet_topics.png")
    args = parser.parse_args(argv)
    fig, fits = make_figure(n_jets=3_000 if args.quick else 20_000,
                            n_bootstrap=10 if args.quick else 50)
    for name, fit in fits.items():
        (k12, k21), (s12, s21) = fit.kappa_, fit.kappa_std_
        (f1, f2), (e1, e2) = fit.fractions_, fit.fractions_std_
        print(f"{name}: kappa = ({k12:.3f} +- {s12:.3f}, {k21:.3f} +- {s21:.3f}); "
              f"f1 = {f1:.3f} +- {e1:.3f} (truth 0.8), f2 = {f2:.3f} +- {e2:.3f} (truth 0.3)")
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
