"""A binned density-ratio classifier for one to three features: ``backend="histogram"``.

The baseline the likelihood-ratio papers start from: fill one weighted histogram per class and read
the class probabilities off the bins (interpolated between bin centres by default). It is exact in
the large-sample, fine-binning limit and needs nothing beyond numpy and scipy.
"""

from __future__ import annotations

import itertools
import numbers
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Interval, StrOptions
from ._base import BackendCapabilities, LogRatioClassifierMixin
from ._common import check_fit_data

__all__ = ["HistogramClassifier"]

#: The most features a histogram backend accepts.
MAX_FEATURES = 3
# Refuse grids that would need more cells than this (memory and emptiness both explode).
_MAX_CELLS = 10_000_000


class HistogramClassifier(LogRatioClassifierMixin, ClassifierMixin, BaseEstimator):
    """Per-class weighted histograms on a common grid; probabilities from the bin contents.

    For an event in grid cell ``b``, with ``c_k(b)`` the summed weight of class ``k`` in the cell,
    ``W_k`` the class total and ``W`` the grand total,

    .. math::

        P(k \\mid b) = \\frac{c_k(b) + \\alpha\\, \\bar w\\, W_k / W}
                           {\\sum_j c_j(b) + \\alpha\\, \\bar w},

    where ``alpha`` is ``smoothing`` and ``w̄`` the mean event weight: a pseudo-count of ``alpha``
    average events, shared out in proportion to the class totals, so an empty cell predicts the
    class priors instead of 0/0. Between bin centres (the weighted mean position of each bin's
    events), ``log P(k | b)`` is interpolated (multi)linearly by default, which removes the
    first-order bias of a step function: at a point a distance ``u`` from its cell centre the step
    is off by ``u`` times the slope of the log ratio.
    Like any classifier it respects the class totals it is given; with two classes of equal total
    weight ``decision_function`` estimates ``log p(x)/q(x)``.

    Parameters
    ----------
    bins : "auto", int or sequence of int, default="auto"
        Bins per feature (one number for all features, or one per feature). ``"auto"`` follows the
        rate at which the bias of the estimate (binning) and its variance (counting) shrink
        together, for ``n`` effective training events (Kish, ``(sum w)^2 / sum w^2``) in ``d``
        features: ``round(1.5 n^(1/(d+4)))`` per feature with linear interpolation (its bias is
        second order in the bin width; 12 bins for 40k events in 1-D, 7 per axis in 3-D) and
        ``round(n^(1/(d+2)))`` for the step function (34 and 8). At least 2.
    binning : {"quantile", "uniform"}, default="quantile"
        ``"quantile"``: edges at weighted quantiles of the training data (all classes pooled), so
        every bin holds about the same weight. ``"uniform"``: equal-width bins between the
        smallest and largest training values. Events outside the training range fall in the
        outermost bins.
    smoothing : float, default=1.0
        The pseudo-count ``alpha`` added to each cell, in units of average events. 0 turns
        smoothing off (an empty cell then predicts the class priors).
    interpolation : {"linear", "none"}, default="linear"
        ``"linear"``: interpolate the log class probabilities (multi)linearly between the centres
        of neighbouring cells (see ``bin_centres_``), constant beyond the outermost centres.
        ``"none"``: the plain step function, each event getting its cell's value.

    Attributes
    ----------
    n_bins_ : list of int
        The number of bins asked for per feature (``bins`` resolved).
    bin_edges_ : list of ndarray
        The bin edges of each feature (repeated edges of discrete features are merged).
    counts_ : ndarray of shape (n_classes, n_bins_1, ..., n_bins_d)
        Summed sample weight of each class in each cell.
    class_weight_totals_ : ndarray of shape (n_classes,)
        Summed sample weight of each class.
    bin_centres_ : list of ndarray
        The interpolation nodes of each feature: the weighted mean of the training events in each
        bin (the middle of an empty bin). With quantile bins the outermost bins are wide, and
        their events sit near the inner edge rather than at the middle.
    log_proba_ : ndarray of shape (n_classes, n_bins_1, ..., n_bins_d)
        ``log P(k | b)`` of each cell, the values interpolated.
    pseudo_counts_ : ndarray of shape (n_classes,)
        The smoothing weight added to every cell of each class, ``alpha w̄ W_k / W``.
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.

    Notes
    -----
    **Signed weights.** Events may carry negative weights (NLO simulation, a background subtracted
    from a mixture): each cell holds the signed sum of its events' weights, an unbiased estimate
    of the cell's density. Every class needs a positive total, and no cell may end with a negative
    content (rounding-level cancellations count as empty): a negative density has no log, so
    ``fit`` refuses such data with a ValueError and suggests fewer bins. The quantile edges, the
    interpolation nodes and the mean event weight of the smoothing use ``|w|``.

    See Also
    --------
    sklhep.backends.trees.BDTClassifier : for more than three features.

    References
    ----------
    .. [1] K. Cranmer, J. Pavez, G. Louppe, "Approximating Likelihood Ratios with Calibrated
       Discriminative Classifiers", arXiv:1506.02169 (histograms of a classifier output as the
       calibration step).

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.backends.histogram import HistogramClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(1, 1, (20000, 1)), rng.normal(-1, 1, (20000, 1))]
    >>> y = np.r_[np.ones(20000), np.zeros(20000)]
    >>> hist = HistogramClassifier(bins=40).fit(X, y)
    >>> g = hist.decision_function([[0.0]])  # log p/q = 2x = 0
    >>> bool(abs(g[0]) < 0.15)
    True
    """

    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=("bce",), particle_sets=False, max_features=MAX_FEATURES,
        signed_weights=True,
    )

    _parameter_constraints = {
        # per-feature sequences are checked against the number of features in fit
        "bins": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left"), "array-like"],
        "binning": [StrOptions({"quantile", "uniform"})],
        "smoothing": [Interval(Real, 0, None, closed="left")],
        "interpolation": [StrOptions({"linear", "none"})],
    }

    def __init__(self, bins="auto", binning="quantile", smoothing=1.0, interpolation="linear"):
        self.bins = bins
        self.binning = binning
        self.smoothing = smoothing
        self.interpolation = interpolation

    def _n_bins(self, n_features, weight):
        bins = self.bins
        if isinstance(bins, str) and bins == "auto":
            n_eff = weight.sum() ** 2 / np.sum(weight**2)
            if self.interpolation == "linear":
                bins = max(2, int(round(1.5 * n_eff ** (1.0 / (n_features + 4)))))
            else:
                bins = max(2, int(round(n_eff ** (1.0 / (n_features + 2)))))
        if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
            bins = [bins] * n_features
        try:
            bins = [_as_int(b) for b in bins]
        except TypeError:
            raise ValueError(
                f"bins must be 'auto', an integer >= 1 or one integer per feature; got "
                f"{self.bins!r}."
            ) from None
        if len(bins) != n_features or min(bins) < 1:
            raise ValueError(
                f"bins must be an integer >= 1 or a sequence of {n_features} integers >= 1 (one "
                f"per feature); got {self.bins!r}."
            )
        return bins

    def fit(self, X, y, sample_weight=None):
        """Fill the per-class histograms.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One to three features.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
            Per-event weights added to the bins, of either sign; every class needs a positive
            total and every cell a non-negative content (see the class Notes).

        Returns
        -------
        self : HistogramClassifier
        """
        self._validate_params()
        smoothing = self.smoothing
        X, classes, y_index, weight = check_fit_data(self, X, y, sample_weight)
        n_features = X.shape[1]
        if n_features > MAX_FEATURES:
            raise ValueError(
                f"HistogramClassifier handles at most {MAX_FEATURES} features; X has "
                f"{n_features}. Reduce the inputs (e.g. to a classifier output or a few "
                "observables) or use another backend such as 'bdt' or 'mlp'."
            )
        n_bins = self._n_bins(n_features, weight)
        n_cells = int(np.prod(n_bins, dtype=np.int64))
        if n_cells > _MAX_CELLS:
            raise ValueError(
                f"bins={self.bins!r} gives {n_cells} cells, more than the {_MAX_CELLS} allowed; "
                "use fewer bins."
            )
        # Edges and interpolation nodes follow |w|: inside the data even with signed weights.
        abs_weight = np.abs(weight)
        keep = weight != 0
        edges = []
        for j in range(n_features):
            x, w = X[keep, j], abs_weight[keep]
            if self.binning == "quantile":
                e = _weighted_quantiles(x, w, np.linspace(0.0, 1.0, n_bins[j] + 1))
            else:
                e = np.linspace(x.min(), x.max(), n_bins[j] + 1)
            edges.append(np.unique(e))
        self.n_bins_ = n_bins
        self.bin_edges_ = edges
        shape = tuple(max(e.size - 1, 1) for e in edges)
        index = self._bin_index(X, shape)
        self.bin_centres_ = []
        for j, e in enumerate(edges):
            # Interpolation nodes: where each bin's weight sits (its centre if it is empty).
            mass = np.bincount(index[j], weights=abs_weight, minlength=shape[j])
            moment = np.bincount(index[j], weights=abs_weight * X[:, j], minlength=shape[j])
            middle = 0.5 * (e[:-1] + e[1:]) if e.size > 1 else e[:1]
            with np.errstate(invalid="ignore", divide="ignore"):
                self.bin_centres_.append(np.where(mass > 0, moment / mass, middle))
        cells = np.ravel_multi_index(index, shape)
        counts = np.stack(
            [
                np.bincount(cells[y_index == k], weights=weight[y_index == k],
                            minlength=int(np.prod(shape)))
                for k in range(classes.size)
            ]
        )
        _check_cells_not_negative(counts, classes, abs_weight)
        self.counts_ = counts.reshape((classes.size, *shape))
        self.class_weight_totals_ = counts.sum(axis=1)
        self.classes_ = classes
        priors = self.class_weight_totals_ / self.class_weight_totals_.sum()
        mean_weight = abs_weight.sum() / np.count_nonzero(weight)
        self.pseudo_counts_ = float(smoothing) * mean_weight * priors
        smoothed = counts + self.pseudo_counts_[:, None]
        total = smoothed.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_proba = np.log(smoothed) - np.log(total)
        log_proba[:, total <= 0] = np.log(priors)[:, None]  # empty cells (smoothing=0): priors
        self.log_proba_ = log_proba.reshape((classes.size, *shape))
        return self

    def _bin_index(self, X, shape):
        return [
            np.clip(np.searchsorted(e[1:-1], X[:, j], side="right"), 0, shape[j] - 1)
            for j, e in enumerate(self.bin_edges_)
        ]

    def _cells(self, X, shape):
        return np.ravel_multi_index(self._bin_index(X, shape), shape)

    def _log_proba(self, X):
        """Log class probabilities (unnormalised when interpolated), (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        shape = self.counts_.shape[1:]
        table = self.log_proba_.reshape(self.classes_.size, -1)
        if self.interpolation == "none":
            return table[:, self._cells(X, shape)].T
        # Multilinear interpolation between the bin centres (constant beyond the outer ones).
        lower, upper, frac = [], [], []
        for j, centres in enumerate(self.bin_centres_):
            n = shape[j]
            if n == 1:
                zero = np.zeros(X.shape[0], dtype=np.intp)
                lower.append(zero)
                upper.append(zero)
                frac.append(np.zeros(X.shape[0]))
                continue
            x = np.clip(X[:, j], centres[0], centres[-1])
            i0 = np.clip(np.searchsorted(centres, x, side="right") - 1, 0, n - 2)
            lower.append(i0)
            upper.append(i0 + 1)
            frac.append((x - centres[i0]) / (centres[i0 + 1] - centres[i0]))
        out = np.zeros((X.shape[0], self.classes_.size))
        for corner in itertools.product((0, 1), repeat=len(shape)):
            weight = np.ones(X.shape[0])
            index = []
            for j, bit in enumerate(corner):
                weight = weight * (frac[j] if bit else 1.0 - frac[j])
                index.append(upper[j] if bit else lower[j])
            values = table[:, np.ravel_multi_index(index, shape)].T
            with np.errstate(invalid="ignore"):  # 0 * -inf where a corner does not count
                out += np.where(weight[:, None] > 0, weight[:, None] * values, 0.0)
        return out

    def predict_proba(self, X):
        """Class probabilities from the cell contents (interpolated between cell centres).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return softmax(self._log_proba(X), axis=1)

    def decision_function(self, X):
        """Log ratio of the smoothed cell contents (interpolated between cell centres).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        g : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: ``log c_1(b) / c_0(b)`` (smoothed), which estimates ``log p(x)/q(x)`` when
            the classes carry equal total weight; ``-inf``/``inf`` only next to cells empty of one
            class when ``smoothing=0``. More classes: the log class probabilities.
        """
        log_p = self._log_proba(X)
        if self.classes_.size == 2:
            with np.errstate(invalid="ignore"):
                return log_p[:, 1] - log_p[:, 0]
        return log_p - logsumexp(log_p, axis=1, keepdims=True)


def _check_cells_not_negative(counts, classes, abs_weight):
    """Refuse cells whose signed content of a class is negative: no density is negative."""
    tolerance = 1e-9 * abs_weight.sum()  # cancellations to rounding error are an empty cell
    negative = counts < -tolerance
    if np.any(negative):
        k, cell = np.argwhere(negative)[np.argmin(counts[negative])]
        raise ValueError(
            f"The signed sample weights leave {int(negative.sum())} histogram cell(s) with a "
            f"negative total weight (class {np.asarray(classes[k]).tolist()!r}: "
            f"{counts[k, cell]:g} in cell {cell}). "
            "Negative weights are fine per event, but the content of every cell is a density "
            "and must not be negative: use fewer or wider bins (bins=...), or more events in the "
            "sample that the negative weights are subtracted from."
        )
    np.maximum(counts, 0.0, out=counts)


def _as_int(value):
    """``value`` as a Python int if it is an integer (numpy integers included), else TypeError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(value)
    return int(value)


def _weighted_quantiles(x, w, q):
    """Inverted-CDF weighted quantiles: the smallest x whose cumulative weight reaches q W.

    With integer weights this equals the same quantiles of the data with rows repeated, and rows
    of zero weight play no part.
    """
    if np.all(w == w[0]):  # equal weights: the same definition, by partial sort (faster)
        return np.quantile(x, q, method="inverted_cdf")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum = np.cumsum(w)
    idx = np.searchsorted(cum, q * cum[-1], side="left")
    return x[np.clip(idx, 0, x.size - 1)]
