"""From a ROOT file of jets to CWoLa and hist objects.

Writes two mixed samples of jets (quark fractions 0.8 and 0.2, from the built-in parton shower)
as two TTrees of one ROOT file, reads them back with ``sklhep.io.read_jets`` exactly as a user
reads their own ntuple, fits a CWoLa classifier on the two samples (mixture labels only), and
writes the histograms of its output for each sample, and for pure quark and gluon jets, as
``hist.Hist`` objects with weighted storage (pickled, ready for mplhep) and draws them.

Run::

    python examples/root_cwola_hist.py [figure.png]
"""

import os
import pickle
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from sklhep import CWoLaClassifier
from sklhep._histograms import to_hist, weighted_histogram
from sklhep.datasets import make_mixtures
from sklhep.io import read_jets, write_jets
from sklhep.preprocessing import JetObservables

FIELDS = ("pt", "y", "phi", "pid")


def make_figure(n_jets=20_000, seed=0, workdir=None):
    workdir = workdir or tempfile.mkdtemp()
    # 1. a ROOT file with two samples, as an analysis would have
    jets, y_mix, _ = make_mixtures(n_jets, fractions=(0.8, 0.2), random_state=seed)
    path = os.path.join(workdir, "mixtures.root")
    write_jets(path, jets[y_mix == 1], fields=FIELDS, tree="sample_a")
    write_jets(path, jets[y_mix == 0], fields=FIELDS, tree="sample_b", append=True)

    # 2. read it back, as the user's own file
    a = read_jets(path, tree="sample_a", fields=FIELDS)
    b = read_jets(path, tree="sample_b", fields=FIELDS)
    width = max(a.shape[1], b.shape[1])
    pad = [(0, 0), (0, 0), (0, 0)]
    X = np.concatenate([np.pad(a, [pad[0], (0, width - a.shape[1]), pad[2]]),
                        np.pad(b, [pad[0], (0, width - b.shape[1]), pad[2]])])
    y = np.r_[np.ones(len(a), int), np.zeros(len(b), int)]

    # 3. CWoLa on the two samples: only the sample labels are used
    obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd"])
    cwola = CWoLaClassifier(backend="bdt", random_state=seed).fit(obs.fit_transform(X), y)

    # 4. histograms of the classifier output as hist objects
    test, _, truth = make_mixtures(n_jets // 2, fractions=(1.0, 0.0), random_state=seed + 1)
    score_test = cwola.decision_function(obs.transform(test))
    score_train = cwola.decision_function(obs.transform(X))
    edges = np.linspace(*np.percentile(score_test, [0.5, 99.5]), 31)
    samples = {"sample A (80% quarks)": score_train[y == 1],
               "sample B (20% quarks)": score_train[y == 0],
               "pure quark jets": score_test[truth == 1],
               "pure gluon jets": score_test[truth == 0]}
    hists = {}
    for name, s in samples.items():
        s = np.clip(s, edges[0], edges[-1])
        counts, variances, _ = weighted_histogram(s, edges, np.full(len(s), 1.0 / len(s)))
        hists[name] = to_hist(edges, counts, variances, name="score",
                              label="CWoLa output (log ratio)")
    with open(os.path.join(workdir, "cwola_hists.pkl"), "wb") as f:
        pickle.dump(hists, f)

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, h in hists.items():
        ax.stairs(h.values(), h.axes[0].edges, label=name)
        centres = h.axes[0].centers
        ax.errorbar(centres, h.values(), np.sqrt(h.variances()), fmt="none", lw=0.8)
    ax.set_xlabel(hists[name].axes[0].label)
    ax.set_ylabel("fraction of jets")
    ax.legend(fontsize=8)
    ax.set_title(f"jets read from {os.path.basename(path)}")
    fig.tight_layout()
    return fig, hists


if __name__ == "__main__":
    fig, hists = make_figure()
    out = sys.argv[1] if len(sys.argv) > 1 else "root_cwola_hist.png"
    fig.savefig(out, dpi=120)
    print(f"wrote {out}; histograms: {', '.join(hists)}")
