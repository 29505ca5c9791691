"""Jet topics: the mixture ratio with its anchors, the ROC curve with its endpoint fits, and
topic distributions overlaid on the truth."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_topic_ratio", "plot_topic_roc", "plot_topics"]


def _axes(ax, figsize=(5.0, 3.8)):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_topic_ratio(score, y, sample_weight=None, *, n_bins="auto", ax=None):
    """The binned ratio ``p_M1/p_M2`` of a score, with the anchor bins that give kappa.

    The ratio is drawn against the pooled quantile of the score (equal-population bins, as
    :func:`sklhep.topics.anchor_kappa` cuts them), on a log scale; the anchor bins of
    ``kappa12`` (the smallest ratio) and of ``kappa21`` (the largest) are marked, with the
    horizontal lines ``kappa12`` and ``1/kappa21``.

    Parameters
    ----------
    score : array-like of shape (n_samples,)
        The observable or the out-of-fold classifier output (``oof_decision_function_``).
    y : array-like of shape (n_samples,)
        The mixture labels; the larger one is M1.
    sample_weight : array-like of shape (n_samples,), default=None
    n_bins : int or "auto", default="auto"
    ax : matplotlib Axes or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.plotting import plot_topic_ratio
    >>> X, y, _, _ = make_topic_mixtures(5000, toy="sep", random_state=0)
    >>> ax = plot_topic_ratio(X[:, 0], y)
    >>> ax.get_yscale()
    'log'
    """
    from ..topics import anchor_kappa

    res = anchor_kappa(score, y, sample_weight, n_bins=n_bins)
    ax = _axes(ax)
    centre, r, sr, anchor12 = res.bins[0]
    anchor21 = res.bins[1][3]
    ok = np.isfinite(r) & (r > 0)
    ax.errorbar(centre[ok], r[ok], yerr=sr[ok], fmt="o", ms=3, color="k", label="binned ratio")
    for mask, color, label in ((anchor12, "tab:red", r"$\kappa_{12}$ anchor"),
                               (anchor21, "tab:blue", r"$\kappa_{21}$ anchor")):
        m = mask & ok
        ax.plot(centre[m], r[m], "s", ms=7, mfc="none", color=color, label=label)
    k12, k21 = res.kappa
    ax.axhline(k12, color="tab:red", ls="--", lw=1)
    ax.axhline(1.0 / k21, color="tab:blue", ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("pooled quantile of the score")
    ax.set_ylabel(r"$p_{M_1}/p_{M_2}$")
    ax.set_title(rf"$\kappa_{{12}}$ = {k12:.3f}, $\kappa_{{21}}$ = {k21:.3f}", fontsize="small")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_topic_roc(score, y, sample_weight=None, *, window=0.2, degree=1, axes=None):
    """The ROC curve of M1 against M2 near each endpoint, with the fits that give kappa.

    Two panels, one per endpoint: the tail mass of the numerator mixture against that of the
    denominator, its data points and the integrated slope polynomial of
    :func:`sklhep.topics.roc_fit_kappa` (the dashed line of slope kappa is the limit).

    Parameters
    ----------
    score, y, sample_weight
        As in :func:`plot_topic_ratio`.
    window : float, default=0.2
    degree : int, default=1
    axes : pair of matplotlib Axes or None, default=None

    Returns
    -------
    axes : ndarray of two matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.plotting import plot_topic_roc
    >>> X, y, _, _ = make_topic_mixtures(5000, toy="gauss", random_state=0)
    >>> len(plot_topic_roc(X[:, 0], y))
    2
    """
    import matplotlib.pyplot as plt

    from ..topics import roc_fit_kappa

    res = roc_fit_kappa(score, y, sample_weight, window=window, degree=degree)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.0, 3.6))
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    if axes.size != 2:
        raise ValueError(f"axes must hold two Axes (one per endpoint); got {axes.size}.")
    names = (("M2", "M1", r"\kappa_{12}"), ("M1", "M2", r"\kappa_{21}"))
    for i, (ax, (den, num, sym)) in enumerate(zip(axes, names)):
        upper, dv, var, coef = res.fits[i]
        v = np.cumsum(dv)
        ax.errorbar(upper, v, yerr=np.sqrt(np.cumsum(var)), fmt="o", ms=3, color="k",
                    label="data")
        u = np.linspace(0.0, upper[-1], 200)
        powers = np.arange(len(coef))
        fit = (u[:, None] ** (powers + 1) / (powers + 1)) @ coef
        ax.plot(u, fit, color="tab:red", label=f"fit, degree {len(coef) - 1}")
        ax.plot(u, res.kappa[i] * u, "--", color="tab:gray", label=f"slope ${sym}$")
        ax.set_xlabel(f"tail share of {den}")
        ax.set_ylabel(f"tail share of {num}")
        ax.set_title(
            rf"${sym}$ = {res.kappa[i]:.3f}, $\chi^2$/ndf = {res.chi2[i]:.1f}/{res.ndf[i]}",
            fontsize="small",
        )
        ax.legend(frameon=False, fontsize="small")
    return axes


def plot_topics(demixer, values, y, bins=20, *, sample_weight=None, y_topic=None, ax=None,
                labels=("topic 1", "topic 2"), xlabel=None):
    """Topic distributions of an observable, with errors, overlaid on the truth when known.

    Parameters
    ----------
    demixer : fitted TopicDemixer
    values : array-like of shape (n_samples,)
        The observable for the events of both mixtures.
    y : array-like of shape (n_samples,)
        Their mixture labels.
    bins : int or array-like, default=20
    sample_weight : array-like of shape (n_samples,), default=None
    y_topic : array-like of shape (n_samples,) or None, default=None
        The true topic (1 for topic 1, 0 for topic 2), if known (simulation): the true
        distributions are drawn as lines.
    ax : matplotlib Axes or None, default=None
    labels : (str, str), default=("topic 1", "topic 2")
        E.g. ``("quark", "gluon")``.
    xlabel : str or None, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.plotting import plot_topics
    >>> from sklhep.topics import TopicDemixer
    >>> X, y, y_topic, _ = make_topic_mixtures(5000, toy="sep", random_state=0)
    >>> d = TopicDemixer().fit(X, y)
    >>> ax = plot_topics(d, X[:, 0], y, y_topic=y_topic)
    >>> len(ax.patches)   # the two true distributions
    2
    """
    counts, variances, edges = demixer.topic_histogram(
        values, y, bins, sample_weight, density=True
    )
    ax = _axes(ax)
    centre = 0.5 * (edges[1:] + edges[:-1])
    colors = ("tab:blue", "tab:red")
    for j in range(2):
        ax.errorbar(centre, counts[j], yerr=np.sqrt(variances[j]), fmt="o", ms=3,
                    color=colors[j], label=f"{labels[j]} (demixed)")
    if y_topic is not None:
        from .._histograms import weighted_histogram

        y_topic = np.asarray(y_topic)
        values = np.asarray(values, dtype=float)
        if y_topic.shape != values.shape:
            raise ValueError(
                f"y_topic must have one entry per value ({values.shape[0]}); got shape "
                f"{y_topic.shape}."
            )
        w = np.ones(len(values)) if sample_weight is None else np.asarray(sample_weight, float)
        for j, label in enumerate((1, 0)):
            mask = y_topic == label
            truth, _, _ = weighted_histogram(values[mask], edges, w[mask])
            truth = truth / (w[mask].sum() * np.diff(edges))
            ax.stairs(truth, edges, color=colors[j], label=f"{labels[j]} (truth)")
    ax.set_xlabel(xlabel or "observable")
    ax.set_ylabel("probability density")
    ax.legend(frameon=False, fontsize="small")
    return ax
