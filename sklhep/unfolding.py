"""Unfolding: remove detector effects from measured distributions.

Two estimators share one ``fit(X_reco, X_gen, X_data, ...)`` signature:

* :class:`OmniFoldUnfolder` reweights the simulation, without bins and in any number of
  dimensions, by iterating two likelihood-ratio fits (any sklhep backend drives them through
  :class:`~sklhep.LikelihoodRatioEstimator`);
* :class:`IterativeBayesUnfolder` is D'Agostini's binned iteration with efficiency and purity
  corrections and Adye's error propagation, the baseline every comparison needs.

With the ``histogram`` backend on the IBU bins, OmniFold's iteration ``k`` *is* IBU's iteration
``k`` (see ``docs/unfolding.rst``).
"""

from __future__ import annotations

import numbers
import time

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._histograms import to_hist, weighted_histogram
from ._validation import check_int

__all__ = ["IterativeBayesUnfolder", "OmniFoldUnfolder"]

_PRIORS = ("simulation", "uniform")


# --------------------------------------------------------------------------------------------------
# input checks shared by both unfolders
# --------------------------------------------------------------------------------------------------
def _as_2d(X, name):
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_events, n_features); got a 1-D array of length {len(X)}. "
            f"Use {name}.reshape(-1, 1) for a single observable."
        )
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_events, n_features); got shape {X.shape}.")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 events); unfolding needs events.")
    if X.shape[1] == 0:
        raise ValueError(f"{name} has 0 features; give at least one observable.")
    return X


def _check_mask(mask, n, name):
    if mask is None:
        return np.ones(n, dtype=bool)
    m = np.asarray(mask)
    if m.shape != (n,):
        raise ValueError(
            f"{name} must be a boolean mask with one entry per simulated event ({n}); got shape "
            f"{m.shape}."
        )
    if m.dtype != bool:
        if m.dtype.kind not in "iu" or not np.all((m == 0) | (m == 1)):
            raise ValueError(f"{name} must be boolean (True = passes); got dtype {m.dtype}.")
        m = m.astype(bool)
    return m


def _check_weights(w, n, name, what):
    if w is None:
        return np.ones(n)
    w = np.asarray(w, dtype=float)
    if w.shape != (n,):
        raise ValueError(f"{name} must have one entry per {what} ({n}); got shape {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contains NaN or inf; event weights must be finite.")
    return w


def _check_positive_total(w, name, where):
    total = float(np.sum(w))
    if not total > 0:
        raise ValueError(
            f"The total {name} of {where} is {total:g}; it must be positive (negative entries may "
            "subtract, but the sum must stay above zero)."
        )


def _check_unfolding_input(X_reco, X_gen, X_data, pass_reco, pass_gen, sample_weight,
                           data_weight):
    """Validated arrays; rows a mask excludes may hold anything (NaN included) and are zeroed."""
    X_reco = _as_2d(X_reco, "X_reco")
    X_gen = _as_2d(X_gen, "X_gen")
    X_data = _as_2d(X_data, "X_data")
    n = X_reco.shape[0]
    if X_gen.shape[0] != n:
        raise ValueError(
            f"X_reco and X_gen must have one row per simulated event each; got {n} and "
            f"{X_gen.shape[0]} rows."
        )
    if X_data.shape[1] != X_reco.shape[1]:
        raise ValueError(
            f"X_data must have the detector-level features of X_reco ({X_reco.shape[1]}); got "
            f"{X_data.shape[1]}."
        )
    reco = _check_mask(pass_reco, n, "pass_reco")
    gen = _check_mask(pass_gen, n, "pass_gen")
    if not reco.any():
        raise ValueError("No simulated event passes the detector selection (pass_reco is all "
                         "False); step 1 needs detector-level simulation.")
    if not gen.any():
        raise ValueError("No simulated event has a particle-level partner (pass_gen is all "
                         "False); there is nothing to unfold to.")
    neither = ~reco & ~gen
    if neither.any():
        raise ValueError(
            f"{int(neither.sum())} simulated event(s) pass neither pass_reco nor pass_gen (e.g. "
            f"row {int(np.flatnonzero(neither)[0])}); they carry no information: drop them."
        )
    for X, mask, name in ((X_reco, reco, "X_reco"), (X_gen, gen, "X_gen")):
        bad = ~np.all(np.isfinite(X), axis=1) & mask
        if bad.any():
            raise ValueError(
                f"{name} has NaN or inf in {int(bad.sum())} row(s) that pass the selection (e.g. "
                f"row {int(np.flatnonzero(bad)[0])}); only rows a mask excludes may hold "
                "placeholders."
            )
    if not np.all(np.isfinite(X_data)):
        raise ValueError("X_data contains NaN or inf; every measured event needs finite values.")
    # Placeholders of excluded rows never reach a model or a histogram.
    X_reco = np.where(reco[:, None], X_reco, 0.0)
    X_gen = np.where(gen[:, None], X_gen, 0.0)
    w = _check_weights(sample_weight, n, "sample_weight", "simulated event")
    wd = _check_weights(data_weight, X_data.shape[0], "data_weight", "measured event")
    _check_positive_total(w[reco], "sample_weight", "the simulated events passing pass_reco")
    _check_positive_total(w[gen], "sample_weight", "the simulated events passing pass_gen")
    _check_positive_total(wd, "data_weight", "the measured events")
    return X_reco, X_gen, X_data, reco, gen, w, wd


# --------------------------------------------------------------------------------------------------
# IterativeBayesUnfolder
# --------------------------------------------------------------------------------------------------
def _check_bins(bins, X, mask, name):
    """Per-feature bin edges from ``bins`` (edges, an int, or one of those per feature)."""
    d = X.shape[1]
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        spec = [int(bins)] * d
    else:
        try:
            arr = np.asarray(bins, dtype=float)
        except (TypeError, ValueError):
            arr = None
        if arr is not None and arr.ndim == 1 and d == 1 and arr.size > 1:
            spec = [arr]
        else:
            spec = list(bins) if not isinstance(bins, (str, bytes)) else None
            if spec is None or len(spec) != d:
                raise ValueError(
                    f"{name} must be bin edges (1 feature), an int, or one int / edge array per "
                    f"feature ({d}); got {bins!r}."
                )
    edges = []
    for j, s in enumerate(spec):
        if isinstance(s, numbers.Integral) and not isinstance(s, bool):
            n_bins = check_int(s, name, 1)
            x = X[mask, j]
            lo, hi = float(x.min()), float(x.max())
            if hi == lo:
                lo, hi = lo - 0.5, hi + 0.5
            e = np.linspace(lo, hi, n_bins + 1)
        else:
            e = np.asarray(s, dtype=float)
            if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
                raise ValueError(
                    f"{name}: the edges of feature {j} must be a finite, strictly increasing 1-D "
                    f"array of at least 2 values; got {s!r}."
                )
        edges.append(e)
    return edges


def _flat_bin(X, edges):
    """Flat bin index of each row (C order over the features), -1 outside the edges."""
    shape = tuple(e.size - 1 for e in edges)
    idx = np.zeros(X.shape[0], dtype=np.int64)
    inside = np.ones(X.shape[0], dtype=bool)
    for j, e in enumerate(edges):
        k = np.searchsorted(e, X[:, j], side="right") - 1
        k[X[:, j] == e[-1]] = e.size - 2  # the last edge belongs to the last bin (np.histogram)
        inside &= (k >= 0) & (k < e.size - 1)
        idx = idx * shape[j] + np.clip(k, 0, e.size - 2)
    return np.where(inside, idx, -1), shape


def _ibu_iterations(data, response, efficiency, prior, n_iterations):
    """D'Agostini's iterations; the unfolded counts and the per-iteration state for Adye.

    ``n'_i = (n_i / eps_i) sum_j R_ji d_j / (R n)_j``; bins with zero efficiency stay 0.
    """
    R, d, eff = response, data, efficiency
    n = np.asarray(prior, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_eff = np.where(eff > 0, 1.0 / eff, 0.0)
    history, states = [], []
    for _ in range(n_iterations):
        S = R @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_S = np.where(S > 0, 1.0 / S, 0.0)
        M = (n * inv_eff)[:, None] * R.T * inv_S[None, :]  # unfolding matrix (causes x effects)
        n_new = M @ d
        states.append((n, n_new, M, inv_S))
        history.append(n_new)
        n = n_new
    return np.array(history), states


def _adye_covariances(states, response, efficiency, data, var_data, cells, var_cells):
    """Adye's linear propagation through every iteration: data and Monte Carlo terms.

    The data term is ``J V_d J^T`` with ``J = dn/dd`` accumulated iteration by iteration (the prior
    held fixed). The Monte Carlo term treats the weighted response counts ``M_ji`` and the misses of
    each cause bin as independent Poisson-like cells of variance ``sum w^2``; it is accumulated one
    cause column at a time, so memory stays ``O(n_causes * n_effects)``.
    """
    R, d = response, data
    n_c, n_e = R.shape[1], R.shape[0]
    eff = efficiency
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_eff = np.where(eff > 0, 1.0 / eff, 0.0)
    # Per-iteration linear maps: B = dn'/dn (causes x causes) and A = M * (d / S).
    maps = []
    J = np.zeros((n_c, n_e))
    for n, n_new, M, inv_S in states:
        A = M * (d * inv_S)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(n > 0, n_new / n, 0.0)
        B = np.diag(ratio) - A @ R
        J = B @ J + M
        maps.append((n, n_new, A, B, inv_S))
    cov_data = (J * var_data[None, :]) @ J.T

    cov_mc = np.zeros((n_c, n_c))
    if cells is None:
        return cov_data, cov_mc
    M_counts, misses = cells
    var_M, var_miss = var_cells
    m = M_counts.sum(axis=0) + misses  # all particle-level weight per cause bin
    for col in range(n_c):
        if m[col] <= 0:
            continue
        Jl = np.zeros((n_c, n_e + 1))  # d n / d (M_{., col}, miss_col)
        for n, n_new, A, B, inv_S in maps:
            # G = d n' / d R_{., col}: the response column enters S, eps and the numerator.
            G = -n[col] * A
            G[col] += inv_eff[col] * (n[col] * d * inv_S - n_new[col])
            GR = G @ R[:, col]
            D = np.empty((n_c, n_e + 1))
            D[:, :n_e] = (G - GR[:, None]) / m[col]
            D[:, n_e] = -GR / m[col]
            Jl = B @ Jl + D
        v = np.concatenate([var_M[:, col], [var_miss[col]]])
        cov_mc += (Jl * v[None, :]) @ Jl.T
    return cov_data, cov_mc


class IterativeBayesUnfolder(BaseEstimator):
    """Iterative Bayesian unfolding (D'Agostini) of binned, weighted, multi-dimensional spectra.

    The response ``R_ji = P(reco bin j | gen bin i)`` is normalised by *all* particle-level events
    of gen bin ``i``, so its column sums are the efficiencies ``eps_i`` (misses lower them). Fakes
    (detector-level events without a particle-level partner) are removed by the purity correction:
    the data in reco bin ``j`` are multiplied by the fraction ``p_j`` of simulated reco events in
    ``j`` that have a partner. Each iteration updates the particle-level counts

    .. math::

        n_i^{(k+1)} = \\frac{n_i^{(k)}}{\\epsilon_i} \\sum_j
            \\frac{R_{ji}\\, p_j d_j}{\\sum_l R_{jl} n_l^{(k)}} .

    Several features are binned on a grid and flattened (C order), so the response stays a matrix.

    Parameters
    ----------
    bins_reco, bins_gen : int, array-like of edges, or a sequence of those (one per feature)
        Detector-level and particle-level binning. An int gives equal-width bins over the range
        of the passing simulated events. Simulated events outside the reco bins count as not
        reconstructed (they lower the efficiency); outside the gen bins they count as fakes; data
        outside the reco bins are ignored.
    n_iterations : int, default=4
        Number of D'Agostini iterations.
    prior : {"simulation", "uniform"} or array-like, default="simulation"
        The starting particle-level spectrum (its normalisation does not matter): the weighted
        simulation, a flat spectrum, or one value per (flattened) gen bin.
    fakes : {"purity", "ignore"}, default="purity"
        Correct the data for fakes by the simulated purity, or leave the data as measured.

    Attributes
    ----------
    unfolded_ : ndarray of shape (n_gen_bins,)
        Unfolded counts per (flattened) particle-level bin after the last iteration.
    unfolded_history_ : ndarray of shape (n_iterations, n_gen_bins)
        The counts after every iteration.
    covariance_ : ndarray of shape (n_gen_bins, n_gen_bins)
        Adye's covariance: ``covariance_data_ + covariance_mc_``.
    covariance_data_ : ndarray of shape (n_gen_bins, n_gen_bins)
        The data statistics (variance of each reco bin: the sum of squared data weights).
    covariance_mc_ : ndarray of shape (n_gen_bins, n_gen_bins)
        The response's Monte Carlo statistics (the purity and the prior held fixed).
    response_ : ndarray of shape (n_reco_bins, n_gen_bins)
        ``P(reco bin j | gen bin i)``; its column sums are ``efficiency_``.
    efficiency_ : ndarray of shape (n_gen_bins,)
    purity_ : ndarray of shape (n_reco_bins,)
        Fraction of simulated reco weight per bin with a particle-level partner (1 where empty).
    data_ : ndarray of shape (n_reco_bins,)
        Measured (weighted) counts per reco bin, before the purity correction.
    prior_ : ndarray of shape (n_gen_bins,)
    bin_edges_reco_, bin_edges_gen_ : list of ndarray
        The edges per feature.
    shape_reco_, shape_gen_ : tuple of int
        Bins per feature; ``unfolded_.reshape(shape_gen_)`` restores the grid.

    See Also
    --------
    OmniFoldUnfolder : the unbinned, multi-dimensional generalisation.

    Notes
    -----
    The covariance is propagated through every iteration (Adye [2]_) with the prior held fixed;
    memory grows as ``n_reco_bins * n_gen_bins`` (the response itself), never as its square, and
    the Monte Carlo term costs ``O(n_iterations * n_gen^3 * n_reco)`` operations.

    References
    ----------
    .. [1] G. D'Agostini, "A multidimensional unfolding method based on Bayes' theorem", Nucl.
       Instrum. Meth. A 362 (1995) 487.
    .. [2] T. Adye, "Corrected error calculation for iterative Bayesian unfolding" (2011),
       https://hepunx.rl.ac.uk/~adye/software/unfold/bayes_errors.pdf.

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.datasets import make_gaussian_unfolding
    >>> from sklhep.unfolding import IterativeBayesUnfolder
    >>> d = make_gaussian_unfolding(20000, random_state=0)
    >>> edges = np.linspace(-3, 3, 13)
    >>> ibu = IterativeBayesUnfolder(edges, edges, n_iterations=4)
    >>> ibu = ibu.fit(d.sim_reco, d.sim_truth, d.nature_reco)
    >>> ibu.unfolded_.shape
    (12,)
    >>> bool(abs(ibu.unfolded_.sum() / 20000 - 1) < 0.05)
    True
    """

    def __init__(self, bins_reco, bins_gen, n_iterations=4, prior="simulation", fakes="purity"):
        self.bins_reco = bins_reco
        self.bins_gen = bins_gen
        self.n_iterations = n_iterations
        self.prior = prior
        self.fakes = fakes

    def fit(self, X_reco, X_gen, X_data, *, pass_reco=None, pass_gen=None, sample_weight=None,
            data_weight=None):
        """Build the response from the simulation and unfold the data.

        Parameters
        ----------
        X_reco : array-like of shape (n_sim, n_reco_features)
            Detector level of each simulated event (rows failing ``pass_reco`` are ignored).
        X_gen : array-like of shape (n_sim, n_gen_features)
            Particle level of the same events (rows failing ``pass_gen`` are ignored).
        X_data : array-like of shape (n_data, n_reco_features)
            The measured events.
        pass_reco, pass_gen : array-like of bool of shape (n_sim,), default=None (all True)
            Which simulated events pass the detector selection / have a particle-level partner.
        sample_weight : array-like of shape (n_sim,), default=None
            Prior weights of the simulation (signed allowed).
        data_weight : array-like of shape (n_data,), default=None
            Weights of the data; negative entries subtract a simulated background.

        Returns
        -------
        self : IterativeBayesUnfolder
        """
        K = check_int(self.n_iterations, "n_iterations", 1)
        if self.fakes not in ("purity", "ignore"):
            raise ValueError(f"fakes must be 'purity' or 'ignore'; got {self.fakes!r}.")
        X_reco, X_gen, X_data, reco, gen, w, wd = _check_unfolding_input(
            X_reco, X_gen, X_data, pass_reco, pass_gen, sample_weight, data_weight
        )
        self.bin_edges_reco_ = _check_bins(self.bins_reco, X_reco, reco, "bins_reco")
        self.bin_edges_gen_ = _check_bins(self.bins_gen, X_gen, gen, "bins_gen")
        j, self.shape_reco_ = _flat_bin(X_reco, self.bin_edges_reco_)
        i, self.shape_gen_ = _flat_bin(X_gen, self.bin_edges_gen_)
        n_e, n_c = int(np.prod(self.shape_reco_)), int(np.prod(self.shape_gen_))
        j = np.where(reco, j, -1)
        i = np.where(gen, i, -1)
        in_gen, in_reco = i >= 0, j >= 0
        both = in_gen & in_reco
        flat = j[both] * n_c + i[both]
        M = np.bincount(flat, weights=w[both], minlength=n_e * n_c).reshape(n_e, n_c)
        var_M = np.bincount(flat, weights=w[both] ** 2, minlength=n_e * n_c).reshape(n_e, n_c)
        miss = in_gen & ~in_reco
        misses = np.bincount(i[miss], weights=w[miss], minlength=n_c)
        var_miss = np.bincount(i[miss], weights=w[miss] ** 2, minlength=n_c)
        fake = in_reco & ~in_gen
        fakes = np.bincount(j[fake], weights=w[fake], minlength=n_e)
        m = M.sum(axis=0) + misses
        if not np.any(m > 0):
            raise ValueError("No simulated particle-level event falls inside bins_gen.")
        with np.errstate(divide="ignore", invalid="ignore"):
            R = np.where(m[None, :] != 0, M / m[None, :], 0.0)
            true_reco = M.sum(axis=1)
            purity = np.where(true_reco + fakes != 0, true_reco / (true_reco + fakes), 1.0)
        if self.fakes == "ignore":
            purity = np.ones(n_e)
        dj, _ = _flat_bin(X_data, self.bin_edges_reco_)
        keep = dj >= 0
        data = np.bincount(dj[keep], weights=wd[keep], minlength=n_e)
        var_data = np.bincount(dj[keep], weights=wd[keep] ** 2, minlength=n_e)
        if not data.sum() > 0:
            raise ValueError("The data inside bins_reco have no positive total weight.")
        self.prior_ = self._prior(m, n_c)
        eff = R.sum(axis=0)
        d_corr = purity * data
        history, states = _ibu_iterations(d_corr, R, eff, self.prior_, K)
        cov_data, cov_mc = _adye_covariances(
            states, R, eff, d_corr, purity**2 * var_data, (M, misses), (var_M, var_miss)
        )
        self.response_, self.efficiency_, self.purity_, self.data_ = R, eff, purity, data
        self.unfolded_history_ = history
        self.unfolded_ = history[-1]
        self.covariance_data_, self.covariance_mc_ = cov_data, cov_mc
        self.covariance_ = cov_data + cov_mc
        return self

    def _prior(self, m, n_c):
        prior = self.prior
        if isinstance(prior, str):
            if prior not in _PRIORS:
                raise ValueError(
                    f"prior must be one of {', '.join(map(repr, _PRIORS))} or an array of one "
                    f"value per gen bin; got {prior!r}."
                )
            return m.astype(float) if prior == "simulation" else np.ones(n_c)
        p = np.asarray(prior, dtype=float).ravel()
        if p.shape != (n_c,) or not np.all(np.isfinite(p)) or np.any(p < 0) or not p.sum() > 0:
            raise ValueError(
                f"An array prior needs {n_c} finite, non-negative values (one per flattened gen "
                f"bin) with a positive sum; got shape {np.shape(prior)}."
            )
        return p

    def histogram(self, *, as_hist=False):
        """The unfolded spectrum of a one-feature particle-level binning with its uncertainties.

        Parameters
        ----------
        as_hist : bool, default=False
            Return a :class:`hist.Hist` with weighted storage instead of arrays.

        Returns
        -------
        counts, variances, edges : ndarrays, or a hist.Hist
            ``variances`` is the diagonal of ``covariance_``.
        """
        check_is_fitted(self)
        if len(self.bin_edges_gen_) != 1:
            raise ValueError(
                "histogram() needs a one-feature particle-level binning; with several features "
                "use unfolded_.reshape(shape_gen_) and covariance_."
            )
        edges = self.bin_edges_gen_[0]
        counts, variances = self.unfolded_, np.diag(self.covariance_).copy()
        if as_hist:
            return to_hist(edges, counts, variances, name="gen")
        return counts, variances, edges


# --------------------------------------------------------------------------------------------------
# OmniFoldUnfolder
# --------------------------------------------------------------------------------------------------
_STEP_NAMES = {
    "1": "step 1 (detector level: data vs simulation)",
    "1b": "step 1b (particle level: pull weights of the misses)",
    "2": "step 2 (particle level: pulled vs previous simulation)",
    "2b": "step 2b (detector level: push weights of the fakes)",
}


def _clip_bounds(weight_clip):
    """``weight_clip`` as (low, high) bounds on a step's ratio, or None."""
    if weight_clip is None:
        return None
    if isinstance(weight_clip, numbers.Real) and not isinstance(weight_clip, bool):
        c = float(weight_clip)
        return (1.0 / c, c)
    try:
        lo, hi = (float(v) for v in weight_clip)
    except (TypeError, ValueError):
        lo = hi = np.nan
    if not (0.0 <= lo < hi < np.inf):
        raise ValueError(
            f"weight_clip must be a number > 1 (ratios kept in [1/clip, clip]), a pair "
            f"(low, high) with 0 <= low < high < inf, or None; got {weight_clip!r}."
        )
    return (lo, hi)


def _auc(g, y, w):
    """Weighted ROC AUC of score ``g`` for class 1 against class 0, ties counted half.

    One sort (the diagnostics run at every step on every event); rank-based, so infinite log
    ratios keep their order. NaN scores give NaN here and an error where the weights are formed.
    """
    if np.isnan(g).any():
        return float("nan")
    order = np.argsort(g, kind="stable")
    gs, ys, ws = g[order], y[order], w[order]
    group = np.cumsum(np.r_[True, gs[1:] != gs[:-1]]) - 1
    c1 = np.bincount(group, weights=np.where(ys == 1, ws, 0.0))
    c0 = np.bincount(group, weights=np.where(ys == 0, ws, 0.0))
    below = np.cumsum(c0) - c0
    return float(np.sum(c1 * (below + 0.5 * c0)) / (c1.sum() * c0.sum()))


def _ess_fraction(w):
    s2 = np.sum(w**2)
    return float(np.sum(w) ** 2 / s2 / len(w)) if s2 > 0 else 0.0


class _Step:
    """One likelihood-ratio fit of an OmniFold step: class 1 (numerator) vs class 0."""

    def __init__(self, settings, backend, seed, diagnose=True):
        self.settings = settings
        self.backend = backend
        self.seed = seed
        self.diagnose = diagnose

    def fit(self, X1, w1, X0, w0, *, cross_fit=False, same_events=False, read=True):
        """Fit class 1 (X1, w1) against class 0 (X0, w0).

        With ``cross_fit`` (and ``cv`` set) every training event is scored by a fold model that
        did not see it. ``same_events`` says that X1 and X0 are the same events under two
        weightings (steps 2, 1b, 2b): they are fitted as one row each
        (:meth:`~sklhep.LikelihoodRatioEstimator.fit_weightings`), so both weightings of an event
        go to the same fold, and a backend with soft labels trains on half the rows. ``read``
        says the ratio is read at the class-0 training events (:meth:`log_ratio_den`); without
        it and without ``diagnose`` (bootstrap replicas) no training event is scored.
        """
        from .ratio import LikelihoodRatioEstimator, balanced_log_loss_score

        s = self.settings
        cv = s["cv"] if cross_fit else None
        self.model_ = LikelihoodRatioEstimator(
            backend=self.backend, loss=s["loss"], cv=cv, n_jobs=s["inner_jobs"],
            random_state=self.seed,
        )
        if same_events:
            self.model_.fit_weightings(X0, w1, w0)
        else:
            X = np.concatenate([X0, X1])
            y = np.concatenate([np.zeros(len(X0), dtype=int), np.ones(len(X1), dtype=int)])
            self.model_.fit(X, y, sample_weight=np.concatenate([w0, w1]))
        # The classes are balanced inside the LRE, so its ratio compares normalised densities;
        # the ratio of the totals restores the absolute normalisation of the reweighting.
        self.log_norm_ = float(np.log(np.sum(w1)) - np.log(np.sum(w0)))
        self.n0_ = len(X0)
        self.loss_ = self.auc_ = float("nan")
        if cv is not None:
            g = self.model_.oof_decision_function_
        elif self.diagnose:
            g = self.model_.decision_function(X0 if same_events else X)
        elif read:  # only the class-0 events are read
            g = self.model_.decision_function(X0)
        else:
            return self
        self.g_train_ = g
        if not self.diagnose:
            return self
        if same_events:  # the two copies of an event have one score
            g = np.concatenate([g, g])
        y = np.r_[np.zeros(len(X0), dtype=int), np.ones(len(X1), dtype=int)]
        w = np.concatenate([w0, w1])
        half = 0.5 * np.sum(w)
        wb = np.where(y == 1, w * half / np.sum(w1), w * half / np.sum(w0))
        self.loss_ = -balanced_log_loss_score(g, y, wb)
        self.auc_ = _auc(g, y, wb)
        return self

    def log_ratio_den(self):
        """log of the (normalised) ratio at the class-0 training events."""
        return self.g_train_[: self.n0_] + self.log_norm_

    def log_ratio(self, X):
        return self.model_.decision_function(X) + self.log_norm_


def _to_ratio(log_r, bounds, where, iteration):
    """exp(log_r), clipped to ``bounds``; NaN always raises, inf raises unless clipped."""
    if np.isnan(log_r).any():
        raise ValueError(
            f"The {where} of iteration {iteration} gave {int(np.isnan(log_r).sum())} undefined "
            "(NaN) weight(s). Regularise the backend (e.g. smoothing for 'histogram')."
        )
    with np.errstate(over="ignore"):
        r = np.exp(log_r)
    if bounds is None:
        if not np.all(np.isfinite(r)) or np.any(r == 0):
            bad = int(np.sum(~np.isfinite(r) | (r == 0)))
            raise ValueError(
                f"The {where} of iteration {iteration} gave {bad} infinite or zero weight(s) "
                "(the classifier was certain). Set weight_clip to bound the ratios, or "
                "regularise the backend."
            )
        return r, 0
    n_clipped = int(np.sum((r < bounds[0]) | (r > bounds[1])))
    return np.clip(r, *bounds), n_clipped


def _omnifold_run(settings, arrays, seed, data_resample, sim_resample, keep_models, progress):
    """One full OmniFold unfolding (the nominal one or a bootstrap replica).

    Module-level so that loky and Dask workers can run it. A replica (``keep_models`` False)
    keeps neither models nor diagnostics, so it scores no more events than its weights need.
    Every random choice (the Poisson
    replica, the seed of every model) comes from ``seed``, so the result does not depend on how
    many workers run the replicas.
    """
    X_reco, X_gen, X_data, reco, gen, w0, wd = arrays
    rng = np.random.RandomState(seed)
    if data_resample:
        wd = wd * rng.poisson(1.0, size=len(wd))
    sim_factor = np.ones(len(w0))
    if sim_resample:
        sim_factor = rng.poisson(1.0, size=len(w0)).astype(float)
        w0 = w0 * sim_factor
    both, miss, fake = reco & gen, gen & ~reco, reco & ~gen
    K = settings["n_iterations"]
    bounds = settings["bounds"]
    push = np.ones(len(w0))
    pulls, pushes, diagnostics, step2_models = [], [], [], []

    def draw():
        return int(rng.randint(np.iinfo(np.int32).max))

    def record(k, name, steps, weights, n_clipped, t0):
        if not keep_models:  # a bootstrap replica: its diagnostics are not kept
            return
        diagnostics.append({
            "iteration": k + 1,
            "step": name,
            "loss": float(np.mean([s.loss_ for s in steps])),
            "auc": float(np.mean([s.auc_ for s in steps])),
            "ess_fraction": _ess_fraction(weights),
            "max_weight": float(np.max(np.abs(weights))),
            "n_clipped": n_clipped,
            "seconds": time.perf_counter() - t0,
        })
        if progress is not None:
            progress.set_postfix_str(f"iteration {k + 1}, step {name}")
            progress.update(1)

    for k in range(K):
        # Step 1: data vs simulation (with the current push weights) at detector level.
        t0 = time.perf_counter()
        steps = [
            _Step(settings, settings["step1_backend"], draw(), keep_models).fit(
                X_data, wd, X_reco[reco], w0[reco] * push[reco], cross_fit=True
            )
            for _ in range(settings["n_ensemble"])
        ]
        log_r = np.log(np.mean([np.exp(s.log_ratio_den()) for s in steps], axis=0))
        r1, n_clip = _to_ratio(log_r, bounds, _STEP_NAMES["1"], k + 1)
        pull = push.copy()
        pull[reco] = push[reco] * r1
        record(k, "1", steps, w0[reco] * pull[reco], n_clip, t0)

        # Step 1b: the misses have no detector level; their pull weight is the mean pull factor
        # of the reconstructed events with the same particle level.
        if miss.any():
            t0 = time.perf_counter()
            if settings["misses"] == "regress":
                step = _Step(settings, settings["step2_backend"], draw(), keep_models).fit(
                    X_gen[both], w0[both] * pull[both], X_gen[both], w0[both] * push[both],
                    same_events=True, read=False,
                )
                r, n_clip = _to_ratio(step.log_ratio(X_gen[miss]), bounds, _STEP_NAMES["1b"],
                                      k + 1)
                pull[miss] = push[miss] * r
                record(k, "1b", [step], w0[miss] * pull[miss], n_clip, t0)
            else:  # "unit": the known-wrong shortcut, kept selectable for comparisons
                pull[miss] = 1.0

        # Step 2: simulation with the pull weights vs with the previous push weights.
        t0 = time.perf_counter()
        step = _Step(settings, settings["step2_backend"], draw(), keep_models).fit(
            X_gen[gen], w0[gen] * pull[gen], X_gen[gen], w0[gen] * push[gen], cross_fit=True,
            same_events=True,
        )
        r2, n_clip = _to_ratio(step.log_ratio_den(), bounds, _STEP_NAMES["2"], k + 1)
        new_push = push.copy()
        new_push[gen] = push[gen] * r2
        if keep_models:
            step2_models.append(step)
        record(k, "2", [step], w0[gen] * new_push[gen], n_clip, t0)

        # Step 2b: the fakes have no particle level; their push weight is the mean push weight
        # of the events with a partner at the same detector level.
        if fake.any():
            t0 = time.perf_counter()
            if settings["fakes"] == "regress":
                fstep = _Step(settings, settings["step1_backend"], draw(), keep_models).fit(
                    X_reco[both], w0[both] * new_push[both], X_reco[both], w0[both],
                    same_events=True, read=False,
                )
                r, n_clip = _to_ratio(fstep.log_ratio(X_reco[fake]), bounds, _STEP_NAMES["2b"],
                                      k + 1)
                new_push[fake] = r
                record(k, "2b", [fstep], w0[fake] * new_push[fake], n_clip, t0)
            else:
                new_push[fake] = 1.0
        push = new_push
        pulls.append(pull)
        pushes.append(push)
    return {
        "pull": np.array(pulls),
        "push": np.array(pushes),
        "diagnostics": diagnostics,
        "step2": step2_models,
        "sim_factor": sim_factor,
    }


class OmniFoldUnfolder(BaseEstimator):
    """OmniFold: unbinned, multi-dimensional unfolding by iterated likelihood-ratio reweighting.

    The simulation (particle level ``X_gen`` and detector level ``X_reco``, row by row) is
    reweighted until its detector level matches the data; the weights, as functions of the
    particle level, then give the unfolded distribution of *every* particle-level observable.
    Iteration ``k`` (``nu_0 = 1``, every weight a factor on the prior ``sample_weight``):

    1. **pull**: ``omega_k = nu_{k-1} r_1(x)`` with ``r_1`` the ratio of data to the simulation
       weighted by ``nu_{k-1}``, at detector level;
    2. **push**: ``nu_k = nu_{k-1} r_2(t)`` with ``r_2`` the ratio of the simulation weighted by
       ``omega_k`` to the simulation weighted by ``nu_{k-1}``, at particle level.

    Each ratio is a fresh :class:`~sklhep.LikelihoodRatioEstimator` (balanced classes), times the
    ratio of the two classes' total weights, so the weights keep the data's normalisation. Events
    without detector level (misses) get their pull weight from a particle-level fit of the pull
    factors of the reconstructed events (step 1b); events without particle level (fakes) get
    their push weight from a detector-level fit of the push weights (step 2b).

    Parameters
    ----------
    backend : str or estimator, default="bdt"
        The learning machine of every step (a name from :func:`sklhep.list_backends` or a
        classifier instance), unless ``step1_backend`` / ``step2_backend`` is given.
    n_iterations : int, default=4
        Number of (step 1, step 2) iterations.
    step1_backend, step2_backend : str, estimator or None, default=None
        The machine of the detector-level steps (1, 2b) and of the particle-level steps (2, 1b).
    loss : {"bce", "mlc", "mse", "sqrt"}, default="bce"
        The loss of every likelihood-ratio fit.
    cv : None, int or cross-validation splitter, default=None
        Cross-fitting of steps 1 and 2: the weights of the training events come from fold models
        that did not see them (``oof_decision_function_`` of the step's
        :class:`~sklhep.LikelihoodRatioEstimator`), so a model cannot pass its own fluctuations
        on as weights. An int ``k`` gives shuffled ``k``-fold splits seeded from
        ``random_state``; in step 2, whose two classes are the same events, both copies of an
        event are held out together. None reads the weights from the model trained on all
        events. Steps 1b and 2b predict for events outside their training set and never need it.
    weight_clip : float, (float, float) or None, default=None
        Keep every step's ratio in ``[1/weight_clip, weight_clip]`` (or ``[low, high]``); the
        number clipped is recorded in ``diagnostics_``. None clips nothing, and an infinite or
        zero ratio then raises.
    misses : {"regress", "unit"}, default="regress"
        The pull weight of simulated events that fail the detector selection: ``"regress"``
        (step 1b, the mean pull factor at their particle level) or ``"unit"`` (pull weight 1, the
        shortcut of several public implementations, which converges to the wrong answer).
    fakes : {"regress", "unit"}, default="regress"
        The push weight of simulated detector-level events without a particle-level partner:
        ``"regress"`` (step 2b, the mean push weight at their detector level) or ``"unit"``.
    n_ensemble : int, default=1
        Step-1 models per iteration (different seeds), whose ratios are averaged before pushing.
    n_bootstrap : int, default=0
        Poisson(1) bootstrap replicas of the data (and of the simulation with
        ``bootstrap_simulation``), each unfolded in full; their weights give the uncertainty of
        any histogram chosen later.
    bootstrap_simulation : bool, default=False
        Also resample the simulation in every replica.
    random_state : int, RandomState instance or None, default=None
        Seeds every model and every replica; results do not depend on ``n_jobs``.
    n_jobs : int or None, default=None
        Joblib workers over the bootstrap replicas (``sklearn.utils.parallel``, so
        ``joblib.parallel_backend("dask")`` spreads them over a cluster).
    verbose : int, default=0
        Show a progress bar over iterations and steps.

    Attributes
    ----------
    weights_ : ndarray of shape (n_sim,)
        Final push weight of every simulated event (a factor on ``sample_weight``): the unfolded
        distribution is the particle level weighted by ``sample_weight * weights_``.
    weights_history_ : dict of ndarray of shape (n_iterations, n_sim)
        ``"pull"`` and ``"push"`` weights of every iteration.
    diagnostics_ : list of dict
        One entry per step and iteration: ``iteration``, ``step`` ("1", "1b", "2", "2b"),
        ``loss`` (class-balanced cross-entropy on the training events, out-of-fold with ``cv``;
        ``log 2`` carries no information), ``auc``, ``ess_fraction`` (effective sample size over
        N of the new weights), ``max_weight``, ``n_clipped``, ``seconds``.
    bootstrap_weights_ : ndarray of shape (n_bootstrap, n_sim)
        Per replica, the final weight factor on ``sample_weight`` (its push weights times its
        Poisson factors on the simulation).
    pass_reco_, pass_gen_ : ndarray of bool of shape (n_sim,)
    n_gen_features_, n_reco_features_ : int

    See Also
    --------
    IterativeBayesUnfolder : the binned method OmniFold generalises.
    sklhep.LikelihoodRatioEstimator : every step's reweighting.

    Notes
    -----
    Step 2 compares the simulation with itself under two weightings; its ratio is read at the
    training events. With the ``histogram`` backend on the bins of :class:`IterativeBayesUnfolder`
    (``smoothing=0``, ``interpolation="none"``) every iteration equals D'Agostini's, with the
    efficiency (misses, step 1b) and purity (fakes, step 2b) corrections.

    References
    ----------
    .. [1] A. Andreassen, P. T. Komiske, E. M. Metodiev, B. Nachman, J. Thaler, "OmniFold: A Method
       to Simultaneously Unfold All Observables", Phys. Rev. Lett. 124 (2020) 182001,
       arXiv:1911.09107.
    .. [2] G. D'Agostini, "A multidimensional unfolding method based on Bayes' theorem", Nucl.
       Instrum. Meth. A 362 (1995) 487.

    Examples
    --------
    >>> from sklhep.datasets import make_gaussian_unfolding
    >>> from sklhep.unfolding import OmniFoldUnfolder
    >>> d = make_gaussian_unfolding(5000, random_state=0)
    >>> of = OmniFoldUnfolder("histogram", n_iterations=2, random_state=0)
    >>> of = of.fit(d.sim_reco, d.sim_truth, d.nature_reco)
    >>> import numpy as np
    >>> mean = np.average(d.sim_truth[:, 0], weights=of.weights_)
    >>> bool(abs(mean - 0.2) < 0.05)   # nature's truth mean is 0.2, the simulation's 0
    True
    """

    _parameter_constraints = {
        "backend": [str, HasMethods(["fit", "predict_proba"])],
        "n_iterations": [Interval(numbers.Integral, 1, None, closed="left")],
        "step1_backend": [str, HasMethods(["fit", "predict_proba"]), None],
        "step2_backend": [str, HasMethods(["fit", "predict_proba"]), None],
        "loss": [StrOptions({"bce", "mlc", "mse", "sqrt"})],
        "cv": [None, Interval(numbers.Integral, 2, None, closed="left"), HasMethods(["split"])],
        "weight_clip": [Interval(numbers.Real, 1, None, closed="neither"), tuple, list, None],
        "misses": [StrOptions({"regress", "unit"})],
        "fakes": [StrOptions({"regress", "unit"})],
        "n_ensemble": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "bootstrap_simulation": ["boolean"],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backend="bdt",
        n_iterations=4,
        *,
        step1_backend=None,
        step2_backend=None,
        loss="bce",
        cv=None,
        weight_clip=None,
        misses="regress",
        fakes="regress",
        n_ensemble=1,
        n_bootstrap=0,
        bootstrap_simulation=False,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.backend = backend
        self.n_iterations = n_iterations
        self.step1_backend = step1_backend
        self.step2_backend = step2_backend
        self.loss = loss
        self.cv = cv
        self.weight_clip = weight_clip
        self.misses = misses
        self.fakes = fakes
        self.n_ensemble = n_ensemble
        self.n_bootstrap = n_bootstrap
        self.bootstrap_simulation = bootstrap_simulation
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X_reco, X_gen, X_data, *, pass_reco=None, pass_gen=None, sample_weight=None,
            data_weight=None):
        """Unfold the data: iterate the two reweighting steps.

        Parameters
        ----------
        X_reco : array-like of shape (n_sim, n_reco_features)
            Detector level of each simulated event. Rows failing ``pass_reco`` are ignored,
            whatever they hold.
        X_gen : array-like of shape (n_sim, n_gen_features)
            Particle level of the same events. Rows failing ``pass_gen`` are ignored.
        X_data : array-like of shape (n_data, n_reco_features)
            The measured events.
        pass_reco : array-like of bool of shape (n_sim,), default=None (all True)
            Simulated events that pass the detector selection (False: misses).
        pass_gen : array-like of bool of shape (n_sim,), default=None (all True)
            Simulated events with a particle-level partner (False: fakes).
        sample_weight : array-like of shape (n_sim,), default=None
            The simulation's prior weights (non-uniform and signed allowed).
        data_weight : array-like of shape (n_data,), default=None
            The data's weights; negative entries subtract a simulated background.

        Returns
        -------
        self : OmniFoldUnfolder
        """
        self._validate_params()
        bounds = _clip_bounds(self.weight_clip)
        arrays = _check_unfolding_input(
            X_reco, X_gen, X_data, pass_reco, pass_gen, sample_weight, data_weight
        )
        X_reco, X_gen, X_data, reco, gen, w0, wd = arrays
        settings = {
            "n_iterations": int(self.n_iterations),
            "step1_backend": self.backend if self.step1_backend is None else self.step1_backend,
            "step2_backend": self.backend if self.step2_backend is None else self.step2_backend,
            "loss": self.loss,
            "cv": self.cv,
            "bounds": bounds,
            "misses": self.misses,
            "fakes": self.fakes,
            "n_ensemble": int(self.n_ensemble),
            "inner_jobs": None,
        }
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=int(self.n_bootstrap) + 1)
        progress = None
        if self.verbose:
            from tqdm.auto import tqdm

            n_steps = 2 + bool((gen & ~reco).any() and self.misses == "regress") + bool(
                (reco & ~gen).any() and self.fakes == "regress"
            )
            progress = tqdm(total=int(self.n_iterations) * n_steps, desc="OmniFold", unit="step")
        try:
            nominal = _omnifold_run(settings, arrays, int(seeds[0]), False, False, True, progress)
        finally:
            if progress is not None:
                progress.close()
        self.weights_history_ = {"pull": nominal["pull"], "push": nominal["push"]}
        self.weights_ = nominal["push"][-1]
        self.diagnostics_ = nominal["diagnostics"]
        self.step2_models_ = nominal["step2"]
        self.pass_reco_, self.pass_gen_ = reco, gen
        self.sample_weight_ = w0
        self.n_reco_features_, self.n_gen_features_ = X_reco.shape[1], X_gen.shape[1]
        self.bounds_ = bounds
        self.bootstrap_weights_ = np.empty((0, len(w0)))
        if self.n_bootstrap:
            replicas = Parallel(n_jobs=self.n_jobs, verbose=max(0, int(self.verbose) - 1))(
                delayed(_omnifold_run)(
                    settings, arrays, int(s), True, bool(self.bootstrap_simulation), False, None
                )
                for s in seeds[1:]
            )
            self.bootstrap_weights_ = np.array(
                [rep["push"][-1] * rep["sim_factor"] for rep in replicas]
            )
        return self

    def predict_weights(self, X_gen):
        """Unbinned push weights for any particle-level events, from the step-2 models.

        The push weight after ``K`` iterations is the product of the ``K`` step-2 ratios,
        ``nu_K(t) = prod_k r_2^(k)(t)`` (each clipped as in ``fit``).

        Parameters
        ----------
        X_gen : array-like of shape (n_events, n_gen_features)

        Returns
        -------
        weights : ndarray of shape (n_events,)
            Factors on the events' prior weights.
        """
        check_is_fitted(self)
        X = _as_2d(X_gen, "X_gen")
        if X.shape[1] != self.n_gen_features_:
            raise ValueError(
                f"X_gen has {X.shape[1]} features, but the unfolder was fitted with "
                f"{self.n_gen_features_}."
            )
        if not np.all(np.isfinite(X)):
            raise ValueError("X_gen contains NaN or inf.")
        weights = np.ones(X.shape[0])
        for k, step in enumerate(self.step2_models_):
            r, _ = _to_ratio(step.log_ratio(X), self.bounds_, _STEP_NAMES["2"], k + 1)
            weights *= r
        return weights

    def _event_weights(self, iteration):
        if iteration is None:
            return self.weights_
        k = check_int(iteration, "iteration", 1)
        if k > len(self.weights_history_["push"]):
            raise ValueError(
                f"iteration must lie in 1..{len(self.weights_history_['push'])}; got {iteration}."
            )
        return self.weights_history_["push"][k - 1]

    def _values(self, values):
        v = np.asarray(values, dtype=float)
        n = len(self.pass_gen_)
        if v.shape != (n,):
            raise ValueError(
                f"values must hold one particle-level value per simulated event ({n}); got shape "
                f"{v.shape}. Rows without a particle level (pass_gen False) are ignored."
            )
        v = v[self.pass_gen_]
        if not np.all(np.isfinite(v)):
            raise ValueError("values contains NaN or inf in rows that pass pass_gen.")
        return v

    def histogram(self, values, bins=10, *, iteration=None, as_hist=False):
        """The unfolded histogram of any particle-level observable, with its uncertainty.

        Parameters
        ----------
        values : array-like of shape (n_sim,)
            The observable for every simulated event (rows failing ``pass_gen`` are ignored).
        bins : int or array-like of edges, default=10
            As :func:`numpy.histogram`.
        iteration : int or None, default=None
            Histogram the push weights of this iteration (1-based) instead of the final ones.
        as_hist : bool, default=False
            Return a :class:`hist.Hist` with weighted storage instead of arrays.

        Returns
        -------
        counts, variances, edges : ndarrays, or a hist.Hist
            With ``n_bootstrap > 0`` (and the final iteration) the variances are those of the
            replicas' histograms; otherwise the sum of squared weights (the simulation's
            statistics only, which understates the data's).
        """
        check_is_fitted(self)
        v = self._values(values)
        w = self.sample_weight_[self.pass_gen_] * self._event_weights(iteration)[self.pass_gen_]
        counts, variances, edges = weighted_histogram(v, bins, w)
        if iteration is None and len(self.bootstrap_weights_) > 1:
            reps = self._replica_counts(v, edges)
            variances = reps.var(axis=0, ddof=1)
        if as_hist:
            return to_hist(edges, counts, variances, name="unfolded")
        return counts, variances, edges

    def _replica_counts(self, v, edges):
        w = self.sample_weight_[self.pass_gen_][:, None] * self.bootstrap_weights_[
            :, self.pass_gen_
        ].T
        counts, _, _ = weighted_histogram(v, edges, w)
        return counts

    def covariance(self, values, bins=10):
        """The bootstrap covariance of the unfolded histogram of ``values`` (n_bootstrap >= 2).

        Parameters
        ----------
        values : array-like of shape (n_sim,)
        bins : int or array-like of edges, default=10

        Returns
        -------
        covariance : ndarray of shape (n_bins, n_bins)
        """
        check_is_fitted(self)
        if len(self.bootstrap_weights_) < 2:
            raise ValueError("covariance() needs n_bootstrap >= 2 replicas; refit with more.")
        v = self._values(values)
        edges = np.histogram_bin_edges(v, bins)
        return np.atleast_2d(np.cov(self._replica_counts(v, edges), rowvar=False))
