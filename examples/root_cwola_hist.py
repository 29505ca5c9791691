"""From a ROOT file of jets to CWoLa and hist objects.

Writes two mixed samples of detector-level jets (quark fractions 0.8 and 0.2, from the built-in
parton shower and detector model) as two TTrees of one ROOT file, reads them back with
``sklhep.io.read_jets`` exactly as a user reads their own ntuple, fits a CWoLa classifier on the
two samples (mixture labels only), unfolds the multiplicity of sample A to particle level
(iterative Bayesian unfolding, with a separate simulation), and writes the histograms (the CWoLa
output per sample, the unfolded multiplicity) as ``hist.Hist`` objects with weighted storage
(pickled, ready for mplhep), and draws them.

Run::

    python examples/root_cwola_hist.py [--quick] [--out figure.png]
"""

import argparse
import os
import pickle
import sys
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from sklhep import CWoLaClassifier
from sklhep._histograms import to_hist, weighted_histogram
from sklhep.datasets import DetectorSmearing, make_mixtures
from sklhep.io import read_jets, write_jets
from sklhep.preprocessing import JetObservables
from sklhep.unfolding import IterativeBayesUnfolder

FIELDS = ("pt", "y", "phi", "pid")


def make_figure(n_jets=20_000, seed=0, workdir=None):
    workdir = workdir or tempfile.mkdtemp()
    # 1. a ROOT file with two samples of detector-level jets, as an analysis would have
    truth_jets, y_mix, _ = make_mixtures(n_jets, fractions=(0.8, 0.2), random_state=seed)
    jets = DetectorSmearing(random_state=seed).fit_transform(truth_jets)
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
    test = DetectorSmearing(random_state=seed + 1).fit_transform(test)
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

    # 5. unfold the multiplicity of sample A with a simulation (particle and detector level)
    sim_gen, _, _ = make_mixtures(n_jets, fractions=(0.5, 0.5), random_state=seed + 2)
    sim_reco = DetectorSmearing(random_state=seed + 2).fit_transform(sim_gen)

    def multiplicity(x):
        return (x[:, :, 0] > 0).sum(1)[:, None].astype(float)

    mult_edges = np.arange(0.5, 80.5, 4.0)
    ibu = IterativeBayesUnfolder(bins_reco=mult_edges, bins_gen=mult_edges, n_iterations=4)
    ibu.fit(multiplicity(sim_reco), multiplicity(sim_gen), multiplicity(a))
    hists["unfolded multiplicity, sample A"] = ibu.histogram(as_hist=True)
    true_a = multiplicity(truth_jets[y_mix == 1])[:, 0]
    counts, variances, _ = weighted_histogram(np.clip(true_a, 0.5, 80.4), mult_edges)
    hists["true multiplicity, sample A"] = to_hist(mult_edges, counts, variances, name="gen")
    with open(os.path.join(workdir, "sklhep_hists.pkl"), "wb") as f:
        pickle.dump(hists, f)

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for name in samples:
        h = hists[name]
        ax.stairs(h.values(), h.axes[0].edges, label=name)
        centres = h.axes[0].centers
        ax.errorbar(centres, h.values(), np.sqrt(h.variances()), fmt="none", lw=0.8)
    ax.set_xlabel(hists[name].axes[0].label)
    ax.set_ylabel("fraction of jets")
    ax.legend(fontsize=8)
    ax.set_title(f"CWoLa on jets read from {os.path.basename(path)}")
    unfolded = hists["unfolded multiplicity, sample A"]
    truth = hists["true multiplicity, sample A"]
    ax2.stairs(truth.values(), truth.axes[0].edges, label="particle level (truth)")
    ax2.errorbar(unfolded.axes[0].centers, unfolded.values(), np.sqrt(unfolded.variances()),
                 fmt="o", ms=3, label="unfolded (IBU, 4 iterations)")
    ax2.set_xlabel("particle multiplicity")
    ax2.set_ylabel("jets per bin")
    ax2.legend(fontsize=8)
    ax2.set_title("sample A, unfolded")
    fig.tight_layout()
    return fig, hists


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 jets per mixture")
    parser.add_argument("--out", default="root_cwola_hist.png")
    args = parser.parse_args(argv)
    fig, hists = make_figure(n_jets=2_000 if args.quick else 20_000)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}; histograms: {', '.join(hists)}")


if __name__ == "__main__":
    main()
