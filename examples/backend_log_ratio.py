"""The log likelihood ratio learned by the built-in backends, against the analytic truth.

Two classes, N(+1, 1) and N(-1, 1), have the log likelihood ratio log p/q = 2x. Every sklhep
backend's raw output ``decision_function`` estimates it; this script fits the ``bdt`` backend with
both of its losses and the ``histogram`` backend, and draws g(x) and its residual from 2x.

Run::

    python examples/backend_log_ratio.py [--quick] [--out backend_log_ratio.png]
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np

import sklhep


def make_figure(n_per_class=20_000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.r_[rng.normal(1.0, 1.0, (n_per_class, 1)), rng.normal(-1.0, 1.0, (n_per_class, 1))]
    y = np.r_[np.ones(n_per_class), np.zeros(n_per_class)]
    x = np.linspace(-2.5, 2.5, 400)

    backends = {
        "bdt, loss='bce'": sklhep.get_backend("bdt", loss="bce", random_state=seed),
        "bdt, loss='mlc'": sklhep.get_backend("bdt", loss="mlc", random_state=seed),
        "histogram (default: auto bins, interpolated)": sklhep.get_backend("histogram"),
    }
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 5.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    top.plot(x, 2 * x, color="black", lw=2, label=r"truth $\log p/q = 2x$")
    for label, backend in backends.items():
        g = backend.fit(X, y).decision_function(x[:, None])
        top.plot(x, g, lw=1.2, label=label)
        bottom.plot(x, g - 2 * x, lw=1.2)
    bottom.axhline(0.0, color="black", lw=1)
    top.set_ylabel(r"raw output $g(x)$")
    bottom.set_ylabel(r"$g(x) - 2x$")
    bottom.set_xlabel("x")
    bottom.set_ylim(-0.6, 0.6)
    top.legend(frameon=False, loc="upper left", fontsize="small")
    top.set_title(f"N(+1,1) vs N(-1,1), {n_per_class} events per class")
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 events per class")
    parser.add_argument("--out", default="backend_log_ratio.png")
    args = parser.parse_args(argv)
    fig = make_figure(n_per_class=2_000 if args.quick else 20_000)
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
