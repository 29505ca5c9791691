"""Quark versus gluon distributions of jet observables."""

from __future__ import annotations

import numpy as np

from .._validation import check_binary_labels

__all__ = ["plot_quark_gluon"]

_LABELS = {
    "multiplicity": "constituent multiplicity",
    "mass": "jet mass [GeV]",
    "width": "jet width (girth)",
    "ptd": r"$p_T^D$",
    "e2": r"$e_2^{(\beta)}$",
    "c2": r"$C_2^{(\beta)}$",
    "d2": r"$D_2^{(\beta)}$",
    "tau1": r"$\tau_1$",
    "tau2": r"$\tau_2$",
    "tau21": r"$\tau_{21}$",
}


def plot_quark_gluon(X, y, observables=("multiplicity", "width"), *, axes=None, bins=40,
                     sample_label=None, linestyle="-", density=True):
    """Histogram jet observables separately for quark (y = 1) and gluon (y = 0) jets.

    Parameters
    ----------
    X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
        Jets ``(pt, y, phi, ...)``; the observables are computed with
        :class:`sklhep.preprocessing.JetObservables`.
    y : array-like of shape (n_jets,)
        1 for quark jets, 0 for gluon jets.
    observables : sequence of str, default=("multiplicity", "width")
        Names understood by :class:`~sklhep.preprocessing.JetObservables`, one panel each.
    axes : sequence of matplotlib Axes or None, default=None
        One Axes per observable; None makes a new figure. Pass the Axes returned by an earlier
        call to overlay another sample (e.g. a second generator).
    bins : int, default=40
        Number of bins; multiplicity bins are whole numbers of particles wide.
    sample_label : str or None, default=None
        Prefix for the legend entries, e.g. ``"Pythia"``.
    linestyle : str, default="-"
    density : bool, default=True
        Normalise each histogram to unit area.

    Returns
    -------
    axes : ndarray of matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.datasets import make_jets
    >>> from sklhep.plotting import plot_quark_gluon
    >>> X, y = make_jets(200, "both", random_state=0)
    >>> axes = plot_quark_gluon(X, y)
    >>> len(axes)
    2
    """
    import matplotlib.pyplot as plt

    from ..preprocessing import JetObservables

    y = check_binary_labels(y, meaning="quark (1) and gluon (0) jets")
    names = list(observables)
    F = JetObservables(observables=names).fit_transform(X)
    if F.shape[0] != y.shape[0]:
        raise ValueError(f"X has {F.shape[0]} jets but y has {y.shape[0]} labels.")
    if axes is None:
        _, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), squeeze=False)
        axes = axes[0]
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    if axes.size != len(names):
        raise ValueError(f"axes must hold one Axes per observable ({len(names)}); got {axes.size}.")
    prefix = f"{sample_label} " if sample_label else ""
    for ax, name, col in zip(axes, names, F.T):
        lo, hi = np.percentile(col, [0.0, 99.5])
        if name == "multiplicity":
            step = max(1, int(np.ceil((hi - lo + 1) / bins)))
            edges = np.arange(np.floor(lo), np.ceil(hi) + step + 1, step) - 0.5
        else:
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        for label, text, color in ((1, "quark", "tab:blue"), (0, "gluon", "tab:red")):
            ax.hist(col[y == label], bins=edges, density=density, histtype="step", color=color,
                    linestyle=linestyle, label=f"{prefix}{text}")
        ax.set_xlabel(_LABELS.get(name, name))
        ax.set_ylabel("probability density" if density else "jets")
        ax.legend(frameon=False, fontsize="small")
    return axes
