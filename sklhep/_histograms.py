"""Weighted histograms, returned as arrays or as :mod:`hist` objects with weighted storage.

Every sklhep result that is a histogram of weighted events (unfolded spectra, topic
distributions) is built here, so that ``as_hist=True`` means the same everywhere.
"""

from __future__ import annotations

import numpy as np

from ._validation import import_optional

__all__ = ["to_hist", "weighted_histogram"]


def weighted_histogram(values, bins, weights=None):
    """Sums of weights and of squared weights per bin.

    Parameters
    ----------
    values : array-like of shape (n,)
    bins : int or array-like of edges
        As :func:`numpy.histogram`.
    weights : array-like of shape (n,) or (n, k), default=None
        Per-event weights (signed allowed); with ``k`` columns, ``k`` histograms at once.

    Returns
    -------
    counts : ndarray of shape (n_bins,) or (k, n_bins)
        Sum of weights per bin.
    variances : ndarray like ``counts``
        Sum of squared weights per bin (the Poisson variance of a weighted count).
    edges : ndarray of shape (n_bins + 1,)
    """
    values = np.asarray(values, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"values must be one-dimensional; got shape {values.shape}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("values contains NaN or inf; histogram only finite values.")
    edges = np.histogram_bin_edges(values, bins=bins)
    w = np.ones(len(values)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape[0] != len(values) or w.ndim > 2:
        raise ValueError(
            f"weights must have one row per value ({len(values)}); got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contains NaN or inf.")
    cols = w.reshape(len(values), -1)
    counts = np.stack([np.histogram(values, edges, weights=c)[0] for c in cols.T])
    variances = np.stack([np.histogram(values, edges, weights=c**2)[0] for c in cols.T])
    if w.ndim == 1:
        counts, variances = counts[0], variances[0]
    return counts, variances, edges


def to_hist(edges, counts, variances, *, name=None, label=None):
    """A :class:`hist.Hist` with weighted storage (values and variances) on a variable axis.

    Parameters
    ----------
    edges : array-like of shape (n_bins + 1,)
    counts, variances : array-like of shape (n_bins,)
    name, label : str, default=None
        The axis name and label.

    Returns
    -------
    h : hist.Hist
    """
    hist = import_optional("hist", purpose="Histograms as hist objects (as_hist=True)")
    edges = np.asarray(edges, dtype=float)
    counts = np.asarray(counts, dtype=float)
    variances = np.asarray(variances, dtype=float)
    if counts.shape != (len(edges) - 1,) or variances.shape != counts.shape:
        raise ValueError(
            f"counts and variances need one entry per bin ({len(edges) - 1}); got shapes "
            f"{counts.shape} and {variances.shape}."
        )
    h = hist.Hist(
        hist.axis.Variable(edges, name=name or "x", label=label or name or "x"),
        storage=hist.storage.Weight(),
    )
    h[...] = np.stack([counts, variances], axis=-1)
    return h
