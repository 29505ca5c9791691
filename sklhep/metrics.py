"""Figures of merit of collider-physics classifiers: ROC in signal/background efficiencies,
background rejection at fixed signal efficiency, the significance improvement, and the relation
between the AUCs of mixed and pure samples (CWoLa).

The curves come from :func:`sklearn.metrics.roc_curve`; these helpers name its outputs in the
language of a physics analysis (signal efficiency ``eps_S`` = true-positive rate, background
efficiency ``eps_B`` = false-positive rate).
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_curve

from ._validation import check_binary_labels, check_fractions, check_sample_weight

__all__ = [
    "auc_standard_error",
    "background_rejection",
    "efficiency_curve",
    "max_significance_improvement",
    "mixed_auc",
    "pure_auc_from_mixed",
    "significance_improvement",
    "triangular_discriminator",
]


def _check_scores(y_true, y_score, sample_weight):
    y = check_binary_labels(y_true, what="y_true", meaning="signal (1) and background (0)")
    s = np.asarray(y_score, dtype=float)
    if s.shape != y.shape:
        raise ValueError(
            f"y_score must have one value per event ({y.shape[0]}); got shape {s.shape}."
        )
    if np.any(np.isnan(s)):
        raise ValueError("y_score contains NaN; a score is needed for every event.")
    w = None if sample_weight is None else check_sample_weight(sample_weight, len(y))
    return y, s, w


def efficiency_curve(y_true, y_score, sample_weight=None):
    """Signal and background efficiencies of every cut ``score >= threshold``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 for signal, 0 for background.
    y_score : array-like of shape (n_samples,)
        Larger means more signal-like (infinite values are allowed).
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    signal_efficiency : ndarray
        ``eps_S`` (true-positive rate), increasing.
    background_efficiency : ndarray
        ``eps_B`` (false-positive rate), increasing.
    thresholds : ndarray

    Examples
    --------
    >>> from sklhep.metrics import efficiency_curve
    >>> eps_s, eps_b, _ = efficiency_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> eps_s.tolist(), eps_b.tolist()
    ([0.0, 0.5, 0.5, 1.0, 1.0], [0.0, 0.0, 0.5, 0.5, 1.0])
    """
    y, s, w = _check_scores(y_true, y_score, sample_weight)
    eps_b, eps_s, thresholds = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    return eps_s, eps_b, thresholds


def background_rejection(y_true, y_score, signal_efficiency=0.3, sample_weight=None):
    """Background rejection ``1/eps_B`` at a fixed signal efficiency.

    ``eps_B`` is interpolated linearly in ``eps_S`` along the ROC curve. The top-tagging landscape
    quotes it at ``eps_S = 0.3``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        1 for signal, 0 for background.
    y_score : array-like of shape (n_samples,)
    signal_efficiency : float or array-like, default=0.3
        Working point(s) in (0, 1].
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    rejection : float or ndarray
        ``1/eps_B``; ``inf`` where no background passes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.metrics import background_rejection
    >>> rng = np.random.default_rng(0)
    >>> y = np.r_[np.ones(20000), np.zeros(20000)]
    >>> score = np.r_[rng.normal(1, 1, 20000), rng.normal(-1, 1, 20000)]
    >>> 40 < background_rejection(y, score, 0.5) < 48    # exact: 1/Phi(-2) = 44.0
    True
    """
    eff = np.asarray(signal_efficiency, dtype=float)
    if np.any(~(eff > 0) | (eff > 1)):
        raise ValueError(f"signal_efficiency must lie in (0, 1]; got {signal_efficiency!r}.")
    eps_s, eps_b, _ = efficiency_curve(y_true, y_score, sample_weight)
    b = np.interp(eff, eps_s, eps_b)
    with np.errstate(divide="ignore"):
        rej = 1.0 / b
    return float(rej) if rej.ndim == 0 else rej


def significance_improvement(y_true, y_score, sample_weight=None, min_background_efficiency=0.0):
    """Significance improvement curve ``SIC = eps_S / sqrt(eps_B)``.

    The factor by which a cut on the score raises ``S/sqrt(B)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_score : array-like of shape (n_samples,)
    sample_weight : array-like of shape (n_samples,), default=None
    min_background_efficiency : float, default=0.0
        Keep only working points with ``eps_B`` above this (points with ``eps_B = 0`` are always
        dropped; a small positive value guards against SIC driven by a handful of background
        events).

    Returns
    -------
    signal_efficiency : ndarray
    sic : ndarray

    Examples
    --------
    >>> from sklhep.metrics import significance_improvement
    >>> eps_s, sic = significance_improvement([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> sic.round(3).tolist()
    [0.707, 1.414, 1.0]
    """
    m = min_background_efficiency
    if isinstance(m, bool) or not isinstance(m, (int, float, np.number)) or not 0.0 <= m < 1.0:
        raise ValueError(f"min_background_efficiency must be a number in [0, 1); got {m!r}.")
    eps_s, eps_b, _ = efficiency_curve(y_true, y_score, sample_weight)
    keep = (eps_b > 0) & (eps_b > m)
    return eps_s[keep], eps_s[keep] / np.sqrt(eps_b[keep])


def max_significance_improvement(
    y_true, y_score, sample_weight=None, min_background_efficiency=1e-3
):
    """The largest significance improvement over working points with ``eps_B`` above a floor.

    Parameters
    ----------
    y_true, y_score, sample_weight
        As in :func:`significance_improvement`.
    min_background_efficiency : float, default=1e-3

    Returns
    -------
    sic : float
    """
    _, sic = significance_improvement(y_true, y_score, sample_weight, min_background_efficiency)
    if sic.size == 0:
        raise ValueError(
            "No working point has a background efficiency above "
            f"min_background_efficiency={min_background_efficiency}; lower it."
        )
    return float(sic.max())


def _check_auc(auc, what):
    a = np.asarray(auc, dtype=float)
    bad = ~(np.isfinite(a) & (a >= 0.0) & (a <= 1.0))
    if np.any(bad):
        raise ValueError(f"{what} must lie in [0, 1]; got {a[bad].ravel()[0]!r}.")
    return a


def mixed_auc(pure_auc, fractions):
    """The AUC between two mixtures, given the AUC of the same classifier between pure classes.

    For mixtures with signal fractions ``f1`` and ``f2``,
    ``AUC(M1 vs M2) - 1/2 = (f1 - f2) (AUC(S vs B) - 1/2)``.

    Parameters
    ----------
    pure_auc : float or array-like
        AUC of signal vs background.
    fractions : (float, float)
        Signal fractions of M1 and M2.

    Returns
    -------
    auc : float or ndarray

    References
    ----------
    .. [1] E. M. Metodiev, B. Nachman, J. Thaler, "Classification without labels", JHEP 10 (2017)
       174, arXiv:1708.02949.

    Examples
    --------
    >>> from sklhep.metrics import mixed_auc
    >>> mixed_auc(0.9, (0.8, 0.2))
    0.74
    """
    f1, f2 = check_fractions(fractions)
    auc = 0.5 + (f1 - f2) * (_check_auc(pure_auc, "pure_auc") - 0.5)
    return float(np.round(auc, 15)) if auc.ndim == 0 else auc


def pure_auc_from_mixed(mixed, fractions):
    """Invert :func:`mixed_auc`: the signal-vs-background AUC from the mixed-sample AUC.

    Parameters
    ----------
    mixed : float or array-like
        AUC of M1 vs M2, in ``[1/2 - |f1 - f2|/2, 1/2 + |f1 - f2|/2]``, the range the relation
        allows; a value outside it (a fluctuation, or wrong fractions) would give a pure AUC
        outside [0, 1] and raises a ValueError.
    fractions : (float, float)
        Signal fractions of M1 and M2.

    Returns
    -------
    auc : float or ndarray

    Examples
    --------
    >>> from sklhep.metrics import pure_auc_from_mixed
    >>> round(pure_auc_from_mixed(0.74, (0.8, 0.2)), 12)
    0.9
    """
    f1, f2 = check_fractions(fractions)
    m = _check_auc(mixed, "mixed")
    half = abs(f1 - f2) / 2
    outside = np.abs(m - 0.5) > half * (1 + 1e-12)
    if np.any(outside):
        raise ValueError(
            f"A mixed AUC of {m[outside].ravel()[0]!r} is impossible with the fractions "
            f"{(f1, f2)}: it must lie within 1/2 +- |f1 - f2|/2 = [{0.5 - half:g}, "
            f"{0.5 + half:g}], or the pure AUC would leave [0, 1]. Check the fractions."
        )
    auc = np.clip(0.5 + (m - 0.5) / (f1 - f2), 0.0, 1.0)
    return float(auc) if auc.ndim == 0 else auc


def auc_standard_error(auc, n_positive, n_negative):
    """Statistical standard error of an AUC (Hanley & McNeil 1982).

    Parameters
    ----------
    auc : float
    n_positive, n_negative : int
        Numbers of events of the two classes.

    Returns
    -------
    se : float

    References
    ----------
    .. [1] J. A. Hanley, B. J. McNeil, "The meaning and use of the area under a receiver operating
       characteristic (ROC) curve", Radiology 143 (1982) 29.
    """
    a = float(auc)
    if not (0.0 <= a <= 1.0):
        raise ValueError(f"auc must lie in [0, 1]; got {auc!r}.")
    n1, n0 = int(n_positive), int(n_negative)
    if n1 < 1 or n0 < 1:
        raise ValueError(f"Both classes need events; got {n1} and {n0}.")
    q1 = a / (2 - a)
    q2 = 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    return float(np.sqrt(max(var, 0.0)))


def triangular_discriminator(p, q):
    """The triangular discriminator of two histograms, ``1/2 sum (p - q)^2 / (p + q)``.

    Both histograms are normalised to unit sum first, so the value lies in [0, 1]: 0 for equal
    shapes, 1 for disjoint ones. The usual distance for comparing unfolded, detector-level and
    true spectra, or topics with their truth.

    Parameters
    ----------
    p, q : array-like of shape (n_bins,)
        Non-negative bin contents (counts or weights), same binning.

    Returns
    -------
    float

    Examples
    --------
    >>> from sklhep.metrics import triangular_discriminator
    >>> triangular_discriminator([1, 2, 3], [2, 4, 6]), triangular_discriminator([1, 0], [0, 1])
    (0.0, 1.0)
    """
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    if p.ndim != 1 or p.shape != q.shape or p.size == 0:
        raise ValueError(
            f"p and q must be 1-D histograms of the same non-zero length; got shapes {p.shape} "
            f"and {q.shape}."
        )
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(q))):
        raise ValueError("p and q must be finite.")
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("p and q must be non-negative bin contents.")
    if p.sum() <= 0 or q.sum() <= 0:
        raise ValueError("p and q must each have a positive sum.")
    p, q = p / p.sum(), q / q.sum()
    s = p + q
    keep = s > 0
    return float(0.5 * np.sum((p[keep] - q[keep]) ** 2 / s[keep]))
