"""Unfolding results: unfolded vs truth vs detector level with a ratio panel, and diagnostics."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_unfolded", "plot_unfolding_diagnostics"]


def _as_spectrum(name, values, n_bins):
    if values is None:
        return None
    v = np.asarray(values, dtype=float)
    if v.shape != (n_bins,):
        raise ValueError(f"{name} must have one value per bin ({n_bins}); got shape {v.shape}.")
    return v


def plot_unfolded(edges, unfolded, variances=None, *, truth=None, detector=None, prior=None,
                  label="unfolded", xlabel="observable", density=False, axes=None):
    """Unfolded spectrum with its uncertainties against the truth, with a ratio panel.

    Parameters
    ----------
    edges : array-like of shape (n_bins + 1,)
    unfolded : array-like of shape (n_bins,)
        Unfolded counts, e.g. from ``OmniFoldUnfolder.histogram`` or
        ``IterativeBayesUnfolder.histogram``.
    variances : array-like of shape (n_bins,) or None, default=None
        Their variances (error bars).
    truth, detector, prior : array-like of shape (n_bins,) or None, default=None
        The true particle-level spectrum (if known), the measured detector-level spectrum and the
        simulation's particle level, drawn as reference lines.
    label : str, default="unfolded"
    xlabel : str, default="observable"
    density : bool, default=False
        Normalise every spectrum to unit area (per bin width).
    axes : (Axes, Axes) or None, default=None
        The main and the ratio panel; None makes a new figure.

    Returns
    -------
    axes : (Axes, Axes)
        The spectrum panel and the ratio panel (each spectrum over ``truth``, or over
        ``unfolded`` when no truth is given).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklhep.plotting import plot_unfolded
    >>> edges = np.linspace(0, 1, 5)
    >>> ax, rax = plot_unfolded(edges, [4, 5, 6, 5], [4, 5, 6, 5], truth=[4, 5, 5, 5])
    >>> rax.get_ylabel()
    'ratio to truth'
    """
    import matplotlib.pyplot as plt

    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be a strictly increasing 1-D array of at least 2 values.")
    n = edges.size - 1
    unfolded = _as_spectrum("unfolded", unfolded, n)
    variances = _as_spectrum("variances", variances, n)
    if variances is not None and np.any(variances < 0):
        raise ValueError("variances must be non-negative.")
    curves = {k: _as_spectrum(k, v, n) for k, v in
              (("truth", truth), ("detector", detector), ("prior", prior))}
    width = np.diff(edges)

    def scale(v):
        return v / (v.sum() * width) if density else v

    err = np.zeros(n) if variances is None else np.sqrt(variances)
    if density:
        err = err / (unfolded.sum() * width)
    if axes is None:
        fig, axes = plt.subplots(2, 1, sharex=True, figsize=(5, 5),
                                 gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05})
    ax, rax = axes
    styles = {"truth": ("k", "-", "truth"), "detector": ("tab:gray", ":", "detector level"),
              "prior": ("tab:blue", "--", "simulation (prior)")}
    for key, v in curves.items():
        if v is not None:
            c, ls, lab = styles[key]
            ax.stairs(scale(v), edges, color=c, linestyle=ls, label=lab)
    centres = 0.5 * (edges[:-1] + edges[1:])
    u = scale(unfolded)
    ax.errorbar(centres, u, yerr=err, fmt="o", color="tab:red", ms=3, label=label)
    ax.set_ylabel("density" if density else "events per bin")
    ax.legend(frameon=False)
    reference = curves["truth"] if curves["truth"] is not None else unfolded
    ref = scale(reference)
    with np.errstate(divide="ignore", invalid="ignore"):
        rax.errorbar(centres, u / ref, yerr=err / ref, fmt="o", color="tab:red", ms=3)
        for key in ("detector", "prior"):
            if curves[key] is not None:
                c, ls, _ = styles[key]
                rax.stairs(scale(curves[key]) / ref, edges, color=c, linestyle=ls)
    rax.axhline(1.0, color="k", lw=0.8)
    rax.set_ylabel("ratio to truth" if curves["truth"] is not None else "ratio to unfolded")
    rax.set_xlabel(xlabel)
    return ax, rax


def plot_unfolding_diagnostics(diagnostics, *, axes=None):
    """Per-iteration diagnostics of :class:`~sklhep.unfolding.OmniFoldUnfolder`.

    Parameters
    ----------
    diagnostics : list of dict
        ``OmniFoldUnfolder.diagnostics_``.
    axes : sequence of 4 Axes or None, default=None

    Returns
    -------
    axes : ndarray of 4 Axes
        Loss, AUC, effective sample size / N and maximum weight against the iteration, one line
        per step.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.plotting import plot_unfolding_diagnostics
    >>> diag = [{"iteration": 1, "step": "1", "loss": 0.69, "auc": 0.52, "ess_fraction": 0.9,
    ...          "max_weight": 2.0, "n_clipped": 0}]
    >>> len(plot_unfolding_diagnostics(diag))
    4
    """
    import matplotlib.pyplot as plt

    diagnostics = list(diagnostics)
    keys = ("loss", "auc", "ess_fraction", "max_weight")
    if not diagnostics or not all(
        isinstance(d, dict) and {"iteration", "step", *keys} <= set(d) for d in diagnostics
    ):
        raise ValueError(
            "diagnostics must be a non-empty list of dicts with the keys iteration, step, "
            f"{', '.join(keys)} (OmniFoldUnfolder.diagnostics_)."
        )
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(14, 3.2))
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    if axes.size != 4:
        raise ValueError(f"axes must hold 4 Axes; got {axes.size}.")
    labels = ("loss (balanced BCE)", "AUC", "effective N / N", "max weight")
    steps = sorted({d["step"] for d in diagnostics})
    for ax, key, lab in zip(axes, keys, labels):
        for step in steps:
            rows = [d for d in diagnostics if d["step"] == step]
            ax.plot([d["iteration"] for d in rows], [d[key] for d in rows], "o-",
                    label=f"step {step}")
        ax.set_xlabel("iteration")
        ax.set_ylabel(lab)
    axes[0].axhline(np.log(2), color="k", lw=0.8, ls=":")
    axes[1].axhline(0.5, color="k", lw=0.8, ls=":")
    axes[0].legend(frameon=False)
    return axes
