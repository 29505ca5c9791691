"""ROC, significance-improvement and likelihood-ratio calibration plots."""

from __future__ import annotations

import warnings

import numpy as np

from ..metrics import efficiency_curve, significance_improvement

__all__ = ["plot_ratio_calibration", "plot_roc", "plot_sic"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def _as_dict(y_score):
    if isinstance(y_score, dict):
        if not y_score:
            raise ValueError("y_score is an empty dict; give at least one labelled score array.")
        return y_score
    return {"": y_score}


def _finish_efficiency_axes(ax):
    """Signal efficiency on x in [0, 1], and a legend when any curve carries a label."""
    ax.set_xlabel(r"signal efficiency $\varepsilon_S$")
    ax.set_xlim(0, 1)
    if any(line.get_label() and not line.get_label().startswith("_") for line in ax.lines):
        ax.legend()
    return ax


def plot_roc(y_true, y_score, *, kind="rejection", sample_weight=None, ax=None):
    """ROC curves of one or several classifiers, in the physicist's or the statistician's form.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 for signal, 0 for background.
    y_score : array-like of shape (n_samples,) or dict of str -> array-like
        Scores (larger = more signal-like); a dict draws one labelled curve per entry.
    kind : {"rejection", "roc"}, default="rejection"
        ``"rejection"``: background rejection ``1/eps_B`` (log scale) against signal efficiency
        ``eps_S``, as in the top-tagging landscape. ``"roc"``: ``eps_B`` against ``eps_S`` with the
        diagonal of a random guess.
    sample_weight : array-like of shape (n_samples,), default=None
    ax : matplotlib Axes, default=None
        Axes to draw on (a new figure when None).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.plotting import plot_roc
    >>> y = np.r_[np.ones(500), np.zeros(500)]
    >>> score = np.r_[np.random.default_rng(0).normal(1, 1, 500), np.zeros(500)]
    >>> ax = plot_roc(y, {"toy": score})
    >>> len(ax.lines)
    1
    """
    if kind not in ("rejection", "roc"):
        raise ValueError(f"kind must be 'rejection' or 'roc'; got {kind!r}.")
    ax = _axes(ax)
    for label, score in _as_dict(y_score).items():
        eps_s, eps_b, _ = efficiency_curve(y_true, score, sample_weight)
        if kind == "rejection":
            keep = eps_b > 0
            ax.plot(eps_s[keep], 1.0 / eps_b[keep], label=label or None)
        else:
            ax.plot(eps_s, eps_b, label=label or None)
    if kind == "rejection":
        ax.set_yscale("log")
        ax.set_ylabel(r"background rejection $1/\varepsilon_B$")
    else:
        ax.plot([0, 1], [0, 1], color="0.6", linestyle=":", label="random")
        ax.set_ylabel(r"background efficiency $\varepsilon_B$")
    return _finish_efficiency_axes(ax)


def plot_sic(y_true, y_score, *, sample_weight=None, min_background_efficiency=1e-3, ax=None):
    """Significance improvement ``eps_S/sqrt(eps_B)`` against signal efficiency.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_score : array-like or dict of str -> array-like
    sample_weight : array-like of shape (n_samples,), default=None
    min_background_efficiency : float, default=1e-3
        Working points with fewer passing background events are not drawn.
    ax : matplotlib Axes, default=None

    Returns
    -------
    ax : matplotlib Axes
    """
    ax = _axes(ax)
    for label, score in _as_dict(y_score).items():
        eps_s, sic = significance_improvement(
            y_true, score, sample_weight, min_background_efficiency
        )
        ax.plot(eps_s, sic, label=label or None)
    ax.axhline(1.0, color="0.6", linestyle=":")
    ax.set_ylabel(r"significance improvement $\varepsilon_S/\sqrt{\varepsilon_B}$")
    return _finish_efficiency_axes(ax)


def plot_ratio_calibration(true_log_ratio, predicted_log_ratio, *, bins=30, ax=None, label=None):
    """Learned against true log likelihood ratio, when the truth is known.

    Events are binned in the true log ratio; the plot shows the mean and the spread (16-84%
    quantiles) of the learned log ratio in each bin, with the diagonal of a perfect estimate.

    Parameters
    ----------
    true_log_ratio : array-like of shape (n_samples,)
        The exact ``log p/q`` (e.g. from a toy of :mod:`sklhep.datasets`).
    predicted_log_ratio : array-like of shape (n_samples,)
        The learned one (e.g. ``LikelihoodRatioEstimator.predict_log_ratio``). Events where
        either is NaN or infinite are left out, with a warning that counts them.
    bins : int, default=30
        Number of equal-population bins in the true log ratio.
    ax : matplotlib Axes, default=None
    label : str, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np, matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.plotting import plot_ratio_calibration
    >>> t = np.linspace(-3, 3, 1000)
    >>> ax = plot_ratio_calibration(t, t + 0.1)
    >>> len(ax.lines), len(ax.collections)
    (2, 1)
    """
    t = np.asarray(true_log_ratio, dtype=float).ravel()
    g = np.asarray(predicted_log_ratio, dtype=float).ravel()
    if t.shape != g.shape:
        raise ValueError(
            f"true_log_ratio and predicted_log_ratio must have the same length; got {t.size} and "
            f"{g.size}."
        )
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer; got {bins!r}.")
    finite = np.isfinite(t) & np.isfinite(g)
    if not np.any(finite):
        raise ValueError("No event has a finite true and predicted log ratio.")
    if not np.all(finite):
        warnings.warn(
            f"{int(np.sum(~finite))} of {t.size} events have a NaN or infinite true or predicted "
            "log ratio and are left out of the calibration plot.",
            UserWarning,
            stacklevel=2,
        )
    t, g = t[finite], g[finite]
    edges = np.unique(np.quantile(t, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:
        raise ValueError(
            f"true_log_ratio takes the single value {float(edges[0])!r}; binning in it needs a "
            "spread of values (e.g. events from a toy whose densities differ)."
        )
    ids = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
    centers, mean, lo, hi = [], [], [], []
    for b in range(len(edges) - 1):
        sel = ids == b
        if not np.any(sel):
            continue
        centers.append(t[sel].mean())
        mean.append(g[sel].mean())
        q = np.quantile(g[sel], [0.16, 0.84])
        lo.append(q[0])
        hi.append(q[1])
    ax = _axes(ax)
    if not any(line.get_label() == "exact" for line in ax.lines):  # one diagonal per Axes
        span = [min(edges[0], np.min(lo)), max(edges[-1], np.max(hi))]
        ax.plot(span, span, color="0.6", linestyle=":", label="exact")
    ax.fill_between(centers, lo, hi, alpha=0.3)
    ax.plot(centers, mean, marker="o", markersize=3, label=label or "learned")
    ax.set_xlabel(r"true $\log\, p(x)/q(x)$")
    ax.set_ylabel(r"learned $\log\, \hat r(x)$")
    ax.legend()
    return ax
