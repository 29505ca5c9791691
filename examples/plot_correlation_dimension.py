"""
The correlation dimension of quark and gluon jets
=================================================

The Energy Mover's Distance makes the jets of a sample points of a metric space. Counting the pairs
of jets closer than Q gives the correlation dimension

    dim(Q) = Q d/dQ ln sum_{i<j} [EMD_ij < Q],

how many "directions" the sample spreads into at the scale Q. At small Q each extra soft-collinear
emission adds dimensions at a rate set by the colour charge of the jet's parton, so gluon jets are
higher-dimensional than quark jets and the ratio of their dimensions tends to C_A / C_F = 9/4.

This script generates quark and gluon jets with sklhep's built-in parton shower, computes their
pairwise EMD matrices (R = 0.4, beta = 1; ``--n-jobs`` solver threads), and draws dim(Q) for both
and their ratio against 9/4. It takes about two minutes with the default 500 jets per flavour on
two cores.

    python examples/plot_correlation_dimension.py [--quick] [--n-jets 500] [--out corrdim.png]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklhep.datasets import make_jets  # noqa: E402
from sklhep.emd import EMDTransformer, correlation_dimension  # noqa: E402
from sklhep.plotting import plot_correlation_dimension  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description="Correlation dimension of quark and gluon jets")
    parser.add_argument("--quick", action="store_true", help="60 jets per flavour, 8 Q bins")
    parser.add_argument("--n-jets", type=int, default=None, help="jets per flavour (500)")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default="correlation_dimension.png")
    args = parser.parse_args(argv)
    if args.n_jets is None:
        args.n_jets = 60 if args.quick else 500
    n_edges = 8 if args.quick else 14

    quarks, _ = make_jets(args.n_jets, flavor="quark", pt=500.0, R=0.4, random_state=1)
    gluons, _ = make_jets(args.n_jets, flavor="gluon", pt=500.0, R=0.4, random_state=2)
    emd = EMDTransformer(R=0.4, beta=1.0, n_jobs=args.n_jobs, verbose=1)
    d_quark = emd.fit_transform(quarks)
    d_gluon = emd.fit_transform(gluons)

    # common log-spaced Q edges covering both samples (EMD in GeV: the jets have pt = 500 GeV)
    iu = np.triu_indices(args.n_jets, 1)
    edges = np.geomspace(np.quantile(d_quark[iu], 0.002), np.quantile(d_gluon[iu], 0.95), n_edges)
    q, dim_q, err_q = correlation_dimension(d_quark, bins=edges)
    _, dim_g, err_g = correlation_dimension(d_gluon, bins=edges)

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.5, 6), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    plot_correlation_dimension(q, dim_g, err_g, label="gluon jets", ax=top, color="C3")
    plot_correlation_dimension(q, dim_q, err_q, label="quark jets", ax=top, color="C0")
    top.set_xlabel("")
    top.set_title(f"{args.n_jets} jets of each flavour, pt = 500 GeV, R = 0.4")
    ratio = dim_g / dim_q
    ratio_err = ratio * np.sqrt((err_g / dim_g) ** 2 + (err_q / dim_q) ** 2)
    bottom.errorbar(q, ratio, ratio_err, fmt="o", color="k", ms=3, label="gluon / quark")
    bottom.axhline(9 / 4, ls="--", color="C2", label="C_A / C_F = 9/4")
    bottom.axhline(1, ls=":", color="0.5")
    bottom.set_xscale("log")
    bottom.set_xlabel("Energy Mover's Distance Q [GeV]")
    bottom.set_ylabel("dim ratio")
    bottom.set_ylim(0.5, 4)
    bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"saved {args.out}")
    for qq, dq, dg, r in zip(q, dim_q, dim_g, ratio):
        print(f"Q = {qq:8.2f} GeV   dim_quark = {dq:6.2f}   dim_gluon = {dg:6.2f}   "
              f"ratio = {r:5.2f}")


if __name__ == "__main__":
    main()
