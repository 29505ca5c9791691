"""OmniFold and iterative Bayesian unfolding on the OmniFold paper's Gaussian toy.

Simulation N(0, 1) and nature N(0.2, 0.8) at particle level, a Gaussian detector of resolution
0.5 that loses 10% of the events and adds 10% fakes. ``OmniFoldUnfolder`` (the ``bdt`` backend,
unbinned) and ``IterativeBayesUnfolder`` (D'Agostini, binned) both unfold the detector-level
"data" to particle level; the figure compares them with nature's truth, the detector level and
the simulation's prior, and prints OmniFold's mean and width after every iteration next to the
exact EM recursion of the paper (which they follow without misses and fakes).

Run::

    python examples/omnifold_unfolding.py [--quick] [--out omnifold_unfolding.png]
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklhep.datasets import make_gaussian_unfolding  # noqa: E402
from sklhep.plotting import plot_unfolded  # noqa: E402
from sklhep.unfolding import IterativeBayesUnfolder, OmniFoldUnfolder  # noqa: E402


def make_figure(n=100_000, n_iterations=4, seed=0):
    d = make_gaussian_unfolding(n, efficiency=0.9, fake_rate=0.1, random_state=seed)
    sim = dict(pass_reco=d.sim_pass_reco, pass_gen=d.sim_pass_truth)
    data = d.nature_reco[d.nature_pass_reco]
    omnifold = OmniFoldUnfolder("bdt", n_iterations=n_iterations, random_state=seed)
    omnifold.fit(d.sim_reco, d.sim_truth, data, **sim)
    edges = np.linspace(-3, 3, 25)
    ibu = IterativeBayesUnfolder(edges, edges, n_iterations=n_iterations)
    ibu.fit(d.sim_reco, d.sim_truth, data, **sim)

    t_sim = d.sim_truth[:, 0]
    truth = np.histogram(d.nature_truth[d.nature_pass_truth, 0], edges)[0]
    detector = np.histogram(data[:, 0], edges)[0]
    prior = np.histogram(t_sim[d.sim_pass_truth], edges)[0]
    counts, variances, _ = omnifold.histogram(np.where(d.sim_pass_truth, t_sim, 0.0), edges)

    fig = plt.figure(figsize=(6, 5.5))
    grid = fig.add_gridspec(2, 1, height_ratios=[3, 1], hspace=0.05)
    axes = (fig.add_subplot(grid[0]), fig.add_subplot(grid[1]))
    plot_unfolded(edges, counts, variances, truth=truth, detector=detector, prior=prior,
                  label=f"OmniFold (bdt), {n_iterations} iterations", xlabel="x", axes=axes)
    centres = 0.5 * (edges[1:] + edges[:-1])
    axes[0].plot(centres, ibu.unfolded_, "s", ms=3, color="C2", label="IBU")
    axes[0].legend(frameon=False, fontsize="small")
    with np.errstate(divide="ignore", invalid="ignore"):
        axes[1].plot(centres, ibu.unfolded_ / truth, "s", ms=3, color="C2")
    axes[0].set_title(f"Gaussian toy, {n} events, 10% misses and 10% fakes")

    t = t_sim[d.sim_pass_truth]
    moments = []
    for k, push in enumerate(omnifold.weights_history_["push"], start=1):
        w = push[d.sim_pass_truth]
        mean = np.average(t, weights=w)
        moments.append((k, mean, np.sqrt(np.average((t - mean) ** 2, weights=w))))
    return fig, moments


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 000 events, 2 iterations")
    parser.add_argument("--out", default="omnifold_unfolding.png")
    args = parser.parse_args(argv)
    fig, moments = make_figure(n=5_000 if args.quick else 100_000,
                               n_iterations=2 if args.quick else 4)
    for k, mean, std in moments:
        print(f"iteration {k}: unfolded mean {mean:.3f}, std {std:.3f} (nature: 0.2, 0.8)")
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
