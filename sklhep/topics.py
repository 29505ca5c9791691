"""Jet topics: two mixtures of two categories define the categories through their irreducibility.

Two samples M1 and M2 that are different mixtures of the same two categories ("topics" T1, T2),

    p_M1 = f1 T1 + (1 - f1) T2,    p_M2 = f2 T1 + (1 - f2) T2,    f1 > f2,

determine the topics, without a model of either, through the reducibility factors

    kappa12 = inf_x p_M1(x)/p_M2(x),    kappa21 = inf_x p_M2(x)/p_M1(x).

If the topics are mutually irreducible (each has a region of phase space, or a limit, where the
other one vanishes), ``f1 = (1 - kappa12)/(1 - kappa12 kappa21)``, ``f2 = kappa21 f1`` and

    T1 = (M1 - kappa12 M2)/(1 - kappa12),    T2 = (M2 - kappa21 M1)/(1 - kappa21).

Estimating kappa is mixture proportion estimation in the machine-learning literature. This module
holds the algebra, four kappa estimators on a one-dimensional score (each a pure function of the
scores, the mixture labels and the weights) and :class:`TopicDemixer`, which demixes a single
observable directly or the out-of-fold output of a CWoLa classifier trained on many features.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch, check_random_state, check_scalar
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._validation import check_int, check_sample_weight, check_two_classes

__all__ = [
    "KAPPA_METHODS",
    "TopicDemixer",
    "anchor_kappa",
    "auto_kappa",
    "bbe_kappa",
    "fractions_from_kappa",
    "kappa_from_fractions",
    "kappa_jacobian",
    "likelihood_fit_kappa",
    "mixtures_from_topics",
    "roc_fit_kappa",
    "topics_from_mixtures",
]

_MEANING = "the mixtures M1 (classes_[1]) and M2 (classes_[0])"


# --------------------------------------------------------------------------------------------------
# the algebra
# --------------------------------------------------------------------------------------------------
def _check_kappa(kappa):
    try:
        k12, k21 = (float(k) for k in kappa)
    except (TypeError, ValueError):
        raise ValueError(
            f"kappa must be a pair (kappa12, kappa21) of reducibility factors; got {kappa!r}."
        ) from None
    for name, k in (("kappa12", k12), ("kappa21", k21)):
        if not (0.0 <= k < 1.0):
            raise ValueError(
                f"{name} must lie in [0, 1) (1 means the mixtures cannot be told apart); got {k!r}."
            )
    return k12, k21


def fractions_from_kappa(kappa):
    """Fractions ``(f1, f2)`` of topic 1 in M1 and M2 from the reducibility factors.

    ``f1 = (1 - kappa12)/(1 - kappa12 kappa21)`` and ``f2 = kappa21 f1``.

    Parameters
    ----------
    kappa : (float, float)
        ``(kappa12, kappa21)``, each in [0, 1).

    Returns
    -------
    fractions : ndarray of shape (2,)

    Examples
    --------
    >>> from sklhep.topics import fractions_from_kappa
    >>> fractions_from_kappa((2 / 7, 3 / 8)).round(12).tolist()
    [0.8, 0.3]
    """
    k12, k21 = _check_kappa(kappa)
    f1 = (1.0 - k12) / (1.0 - k12 * k21)
    return np.array([f1, k21 * f1])


def kappa_from_fractions(fractions):
    """Reducibility factors of two mixtures of mutually irreducible topics, from their fractions.

    The inverse of :func:`fractions_from_kappa`: ``kappa12 = (1 - f1)/(1 - f2)``,
    ``kappa21 = f2/f1``, for ``1 >= f1 > f2 >= 0``.

    Examples
    --------
    >>> from sklhep.topics import kappa_from_fractions
    >>> kappa_from_fractions((0.8, 0.3)).round(4).tolist()
    [0.2857, 0.375]
    """
    try:
        f1, f2 = (float(f) for f in fractions)
    except (TypeError, ValueError):
        raise ValueError(f"fractions must be a pair (f1, f2); got {fractions!r}.") from None
    if not (0.0 <= f2 < f1 <= 1.0):
        raise ValueError(
            f"fractions must satisfy 0 <= f2 < f1 <= 1 (topic 1 is enriched in M1); got "
            f"{fractions!r}."
        )
    return np.array([(1.0 - f1) / (1.0 - f2), f2 / f1])


def kappa_jacobian(kappa):
    """The 4x2 Jacobian of ``(kappa12, kappa21, f1, f2)`` with respect to ``(kappa12, kappa21)``.

    Its lower 2x2 block is the amplification ``df/dkappa`` of an error on kappa into the fractions:
    ``df1/dk12 = (k21 - 1)/D``, ``df1/dk21 = k12 (1 - k12)/D``, ``df2/dk12 = k21 (k21 - 1)/D``,
    ``df2/dk21 = (1 - k12)/D`` with ``D = (1 - k12 k21)^2``.
    """
    a, b = _check_kappa(kappa)
    d = (1.0 - a * b) ** 2
    return np.array(
        [
            [1.0, 0.0],
            [0.0, 1.0],
            [(b - 1.0) / d, a * (1.0 - a) / d],
            [b * (b - 1.0) / d, (1.0 - a) / d],
        ]
    )


def topics_from_mixtures(m1, m2, kappa):
    """Topic distributions from the two mixture distributions (any binned or pointwise density).

    ``T1 = (M1 - kappa12 M2)/(1 - kappa12)``, ``T2 = (M2 - kappa21 M1)/(1 - kappa21)``.

    Parameters
    ----------
    m1, m2 : array-like
        Normalised distributions (histograms or densities) of M1 and M2 on a common grid.
    kappa : (float, float)

    Returns
    -------
    t1, t2 : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.topics import mixtures_from_topics, topics_from_mixtures
    >>> t1, t2 = np.array([0.7, 0.3, 0.0]), np.array([0.0, 0.4, 0.6])
    >>> m1, m2 = mixtures_from_topics(t1, t2, (0.8, 0.3))
    >>> [(t.round(12) + 0.0).tolist() for t in topics_from_mixtures(m1, m2, (2 / 7, 3 / 8))]
    [[0.7, 0.3, 0.0], [0.0, 0.4, 0.6]]
    """
    k12, k21 = _check_kappa(kappa)
    m1, m2 = np.asarray(m1, dtype=float), np.asarray(m2, dtype=float)
    return (m1 - k12 * m2) / (1.0 - k12), (m2 - k21 * m1) / (1.0 - k21)


def mixtures_from_topics(t1, t2, fractions):
    """Mixture distributions ``M_i = f_i T1 + (1 - f_i) T2`` (the forward model)."""
    f1, f2 = (float(f) for f in fractions)
    t1, t2 = np.asarray(t1, dtype=float), np.asarray(t2, dtype=float)
    return f1 * t1 + (1.0 - f1) * t2, f2 * t1 + (1.0 - f2) * t2


# --------------------------------------------------------------------------------------------------
# input of the kappa estimators
# --------------------------------------------------------------------------------------------------
def mixture_labels(y, n=None):
    """``(is_M1, classes)`` for a label array naming exactly two mixtures (``classes[1]`` = M1)."""
    classes, index = check_two_classes(y, what="y", meaning=_MEANING)
    if n is not None and len(index) != n:
        raise ValueError(
            f"X (or score) and y have different numbers of samples: {n} and {len(index)}."
        )
    return index == 1, classes


class _Atoms:
    """The events grouped by distinct score, in increasing order, with normalised masses.

    ``a1[k]``, ``a2[k]``: the fraction of the total weight of M1 (M2) at the k-th distinct score;
    ``v1``, ``v2``: the sums of squared normalised weights (their Poisson variances); ``n1``,
    ``n2``: the effective numbers of events ``(sum w)^2 / sum w^2`` of each mixture. Grouping ties
    makes an event of integer weight k exactly equivalent to k copies of it.
    """

    def __init__(self, score, y, sample_weight):
        s = column_or_1d(np.asarray(score, dtype=float), warn=False)
        if s.size == 0:
            raise ValueError("score is empty; both mixtures need events.")
        if np.any(np.isnan(s)):
            raise ValueError(
                f"score contains {int(np.isnan(s).sum())} NaN value(s); every event needs a score."
            )
        m1, _ = mixture_labels(y, len(s))
        w = check_sample_weight(sample_weight, len(s), allow_negative=True)
        values, inverse = np.unique(s, return_inverse=True)
        self.values = values
        self.inverse = inverse
        self.m1 = m1
        if len(values) < 2:
            raise ValueError("score takes a single value; it cannot tell the mixtures apart.")
        self._fill(w)

    def reweighted(self, sample_weight):
        """The same events with new weights (no re-sorting: for bootstrap replicas)."""
        out = object.__new__(_Atoms)
        out.values, out.inverse, out.m1 = self.values, self.inverse, self.m1
        out._fill(np.asarray(sample_weight, dtype=float))
        return out

    def _fill(self, w):
        inverse, m1 = self.inverse, self.m1
        n_atoms = len(self.values)
        parts = []
        for mask, name in ((m1, "M1"), (~m1, "M2")):
            wm = np.where(mask, w, 0.0)
            total = wm.sum()
            if not total > 0:
                raise ValueError(
                    f"The events of {name} have a non-positive total sample_weight ({total:g}); "
                    "each mixture needs a positive total."
                )
            sq = np.sum(wm**2)
            parts.append(
                (
                    np.bincount(inverse, wm, n_atoms) / total,
                    np.bincount(inverse, wm**2, n_atoms) / total**2,
                    total**2 / sq,
                )
            )
        (self.a1, self.v1, self.n1), (self.a2, self.v2, self.n2) = parts

    def swapped(self):
        out = object.__new__(_Atoms)
        out.__dict__.update(self.__dict__)
        out.a1, out.a2, out.v1, out.v2, out.n1, out.n2 = (
            self.a2, self.a1, self.v2, self.v1, self.n2, self.n1
        )
        return out

    def auc(self):
        """P(score of M1 > score of M2) + P(tie)/2: above 1/2 when high scores are M1-like."""
        below2 = np.cumsum(self.a2) - self.a2
        return float(np.clip(np.sum(self.a1 * (below2 + 0.5 * self.a2)), 0.0, 1.0))

    def n_eff(self):
        """Effective number of events of the pooled sample, ``2 / (1/n1 + 1/n2)`` per mixture."""
        return 2.0 / (1.0 / self.n1 + 1.0 / self.n2)

    def quantile_bins(self, n_bins):
        """Bin index of every atom: equal shares of the pooled (mixture-balanced) mass.

        An atom goes to the bin of the midpoint of its cumulative-mass interval, so a strictly
        decreasing transform of the score gives the mirrored partition.
        """
        p = 0.5 * (self.a1 + self.a2)
        mid = (np.cumsum(p) - 0.5 * p) / p.sum()
        return np.clip(np.floor(n_bins * mid).astype(int), 0, n_bins - 1)


def _as_atoms(score, y, sample_weight):
    """The events as :class:`_Atoms`; an ``_Atoms`` passes through (the bootstrap reuses one)."""
    if isinstance(score, _Atoms):
        return score
    return _Atoms(score, y, sample_weight)


def _binned(atoms, ids, n_bins):
    sums = [np.bincount(ids, v, n_bins) for v in (atoms.a1, atoms.a2, atoms.v1, atoms.v2)]
    p = 0.5 * (atoms.a1 + atoms.a2)
    mid = (np.cumsum(p) - 0.5 * p) / p.sum()
    centre = np.bincount(ids, p * mid, n_bins) / np.maximum(np.bincount(ids, p, n_bins), 1e-300)
    keep = (sums[0] != 0) | (sums[1] != 0)
    return [x[keep] for x in sums] + [centre[keep]]


def _auto_bins(atoms, factor=1.0):
    """The default number of quantile bins, ``sqrt(n)/14`` for ``n`` effective events in all.

    The extreme bin then holds a share ``~ 14/sqrt(n)`` of the events: its statistical error and
    its reach bias (on a ratio that approaches kappa only in a limit) shrink together.
    """
    return int(np.clip(round(factor * np.sqrt(2.0 * atoms.n_eff()) / 14.0), 3, 200))


def _resolve_bins(n_bins, atoms, factor=1.0):
    if isinstance(n_bins, str) and n_bins == "auto":
        return _auto_bins(atoms, factor)
    return check_int(n_bins, "n_bins", 2)


def _ratio_error(b1, b2, v1, v2):
    with np.errstate(divide="ignore", invalid="ignore"):
        r = b1 / b2
        return r, np.abs(r) * np.sqrt(v1 / b1**2 + v2 / b2**2)


# --------------------------------------------------------------------------------------------------
# the kappa estimators
# --------------------------------------------------------------------------------------------------
def _anchor_one(atoms, n_bins, binning, min_count, merge_z):
    if binning == "quantile":
        ids = atoms.quantile_bins(n_bins)
    else:
        lo, hi = atoms.values[0], atoms.values[-1]
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError("binning='uniform' needs finite scores; use binning='quantile'.")
        ids = np.clip(((atoms.values - lo) / (hi - lo) * n_bins).astype(int), 0, n_bins - 1)
    b1, b2, v1, v2, centre = _binned(atoms, ids, n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        n1 = np.where(v1 > 0, b1**2 / v1, 0.0)
        n2 = np.where(v2 > 0, b2**2 / v2, 0.0)
    valid = (b2 > 0) & (b1 >= 0) & (n1 >= min_count) & (n2 >= min_count)
    if not np.any(valid):
        raise ValueError(
            f"No bin holds min_count={min_count} effective events of both mixtures; lower n_bins "
            "or min_count, or give more events."
        )
    r, sr = _ratio_error(b1, b2, v1, v2)
    best = int(np.flatnonzero(valid)[np.argmin(r[valid])])
    if merge_z is None:
        anchor = np.zeros(len(r), dtype=bool)
        anchor[best] = True
    else:
        anchor = valid & (r - r[best] <= merge_z * np.sqrt(sr**2 + sr[best] ** 2))
    k, sk = _ratio_error(b1[anchor].sum(), b2[anchor].sum(), v1[anchor].sum(), v2[anchor].sum())
    occupancy = (float(n1[anchor].sum()), float(n2[anchor].sum()))
    return float(k), float(sk), occupancy, int(anchor.sum()), (centre, r, sr, anchor)


def anchor_kappa(
    score, y, sample_weight=None, *, n_bins="auto", binning="quantile", min_count=20, merge_z=1.0
):
    """Reducibility factors from the extreme bins of the binned ratio of the two mixtures.

    The score is cut into ``n_bins`` bins holding equal shares of the pooled events (both mixtures
    weighted equally); in each bin ``r_b = P_M1(b)/P_M2(b)``. ``kappa12`` is the smallest ``r_b``,
    ``kappa21`` the smallest ``1/r_b``, with a statistical guard: a bin counts only with at least
    ``min_count`` effective events of each mixture, and the anchor is the union of the minimal bin
    with every bin compatible with it within ``merge_z`` standard errors. A plain minimum over many
    small bins picks the downward fluctuations (a bias of ``-0.15`` at 10k events with 50
    equal-width bins); merging the compatible bins removes that selection bias where the ratio is
    flat (pure regions of finite mass) at the price of a small upward bias where it still falls.

    Bias: the anchor bin averages the ratio over a finite share ``~7/sqrt(n)`` of the events, so
    where ``kappa`` is only reached in a limit (Gaussian tails) the estimate is biased up by the
    ratio's rise across that bin (about +0.01 at 10k events per mixture on the "gauss" toy).

    Parameters
    ----------
    score : array-like of shape (n_samples,)
        A one-dimensional observable or classifier output (any monotone transform gives the same
        kappa with ``binning="quantile"``).
    y : array-like of shape (n_samples,)
        The mixture label; the larger label is M1.
    sample_weight : array-like of shape (n_samples,), default=None
    n_bins : int or "auto", default="auto"
        ``"auto"``: ``sqrt(n)/14`` for ``n`` effective events in both mixtures together (10 bins
        at 10k events per mixture, 32 at 100k).
    binning : {"quantile", "uniform"}, default="quantile"
        Equal-population bins of the pooled sample, or equal-width bins in the score (biased; for
        comparison).
    min_count : float, default=20
        The effective events of each mixture a bin needs to count.
    merge_z : float or None, default=1.0
        Merge into the anchor the bins within this many standard errors of the minimum; None takes
        the plain minimum.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``kappa`` (kappa12, kappa21), ``kappa_std`` (their statistical errors, from the counts in
        the anchor bins), ``occupancy`` (effective events of M1 and M2 in each anchor),
        ``n_anchor_bins``, ``n_bins``, ``kappa_shift`` (the change of kappa when the number of
        bins is doubled), and ``bins`` (bin centres in pooled quantile, ratio, error, anchor masks)
        for plotting.

    Examples
    --------
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.topics import anchor_kappa
    >>> X, y, _, kappa = make_topic_mixtures(20000, toy="sep", random_state=0)
    >>> res = anchor_kappa(X[:, 0], y)
    >>> bool(abs(res.kappa - kappa).max() < 0.03)
    True
    """
    atoms = _as_atoms(score, y, sample_weight)
    if binning not in ("quantile", "uniform"):
        raise ValueError(f"binning must be 'quantile' or 'uniform'; got {binning!r}.")
    check_scalar(min_count, "min_count", numbers.Real, min_val=0)
    if merge_z is not None:
        check_scalar(merge_z, "merge_z", numbers.Real, min_val=0)
    nb = _resolve_bins(n_bins, atoms)
    out = Bunch(kappa=np.zeros(2), kappa_std=np.zeros(2), occupancy=[], n_anchor_bins=[],
                n_bins=nb, bins=[])
    for i, a in enumerate((atoms, atoms.swapped())):
        k, sk, occ, na, bins = _anchor_one(a, nb, binning, min_count, merge_z)
        out.kappa[i], out.kappa_std[i] = k, sk
        out.occupancy.append(occ if i == 0 else occ[::-1])
        out.n_anchor_bins.append(na)
        out.bins.append(bins)
        try:
            k2 = _anchor_one(a, 2 * nb, binning, min_count, merge_z)[0]
        except ValueError:
            k2 = k
        out.setdefault("kappa_shift", np.zeros(2))[i] = k2 - k
    return out


def _orient(atoms):
    """``(low, high)``: 1 if the low end of the score is where M1/M2 is smallest (AUC >= 1/2)."""
    return atoms.auc() >= 0.5


def _ends(atoms):
    """The two tails an estimator of kappa12 looks at: the atoms read from each end."""
    return ((atoms.a1, atoms.a2, atoms.v1, atoms.v2),
            (atoms.a1[::-1], atoms.a2[::-1], atoms.v1[::-1], atoms.v2[::-1]))


def _dkw(atoms, delta):
    return (np.sqrt(np.log(4.0 / delta) / (2.0 * atoms.n1)),
            np.sqrt(np.log(4.0 / delta) / (2.0 * atoms.n2)))


def _bbe_one(atoms, delta, gamma, selection_delta):
    eps1, eps2 = _dkw(atoms, selection_delta)
    best = None
    for a1, a2, v1, v2 in _ends(atoms):
        q1, q2 = np.cumsum(a1), np.cumsum(a2)
        with np.errstate(divide="ignore", invalid="ignore"):
            objective = np.where(q2 > 0, (q1 + (1.0 + gamma) * (eps1 + eps2)) / q2, np.inf)
        c = int(np.argmin(objective))
        if best is None or objective[c] < best[0]:
            best = (objective[c], q1[c], q2[c], np.cumsum(v1)[c], np.cumsum(v2)[c])
    _, q1, q2, v1, v2 = best
    k, sk = _ratio_error(q1, q2, v1, v2)
    eps1, eps2 = _dkw(atoms, delta)
    upper = (q1 + eps1) / (q2 - eps2) if q2 > eps2 else np.inf
    return float(k), float(sk), float(upper), float(q2)


def bbe_kappa(score, y, sample_weight=None, *, delta=0.1, gamma=0.01, selection_delta=0.8):
    """Reducibility factors by best bin estimation (BBE), with finite-sample upper bounds.

    For every tail ``A`` of the score (events above or below a threshold), ``P_M1(A)/P_M2(A) >=
    kappa12``, with equality in the limit of a pure region. BBE (Garg et al. [1]_) picks the
    tail that minimises the upper confidence bound ``(q1(A) + (1 + gamma) (eps1 + eps2)) / q2(A)``,
    where ``eps_i = sqrt(log(4/delta) / (2 n_i))`` is the Dvoretzky-Kiefer-Wolfowitz band of
    mixture ``i`` (``n_i`` its effective number of events), and returns ``q1(A)/q2(A)`` on it.
    ``kappa21`` is the same with the mixtures swapped. The tail is chosen with the band at
    ``selection_delta`` and the upper bound reported at ``delta``: Garg et al. use one ``delta`` for
    both, whose wide band pushes the chosen tail past the edge of a pure region (bias +0.015 at 10k
    events per mixture on the "sep" toy with ``delta = 0.1``, +0.006 with the default 0.8).

    Bias: conservative by construction. Every tail ratio is at least kappa, and the penalised
    choice avoids the small tails whose downward fluctuations would pull the minimum down; where
    the pure region has finite mass (the "sep" toy) the bias is a few 1e-3, where kappa is reached
    only in a limit ("gauss") it is positive and shrinks slowly with the sample size. With
    probability at least ``1 - delta``, ``kappa <= upper_bound`` (the DKW bands hold for every tail
    at once).

    Parameters
    ----------
    score : array-like of shape (n_samples,)
    y : array-like of shape (n_samples,)
        The mixture label; the larger label is M1.
    sample_weight : array-like of shape (n_samples,), default=None
    delta : float, default=0.1
        One minus the confidence level of the upper bound.
    gamma : float, default=0.01
        The slack of the tail choice (Garg et al. take 0.01).
    selection_delta : float, default=0.8
        The DKW level of the band that penalises small tails in the choice of the tail.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``kappa``, ``kappa_std`` (from the counts in the chosen tails), ``upper_bound`` (the
        ``1 - delta`` upper confidence bounds), ``tail_mass`` (the share of the denominator
        mixture in each chosen tail), ``kappa_shift`` (the change when the tail is chosen with the
        band at ``delta``, as Garg et al. do).

    References
    ----------
    .. [1] S. Garg, Y. Wu, A. J. Smola, S. Balakrishnan, Z. C. Lipton, "Mixture Proportion
       Estimation and PU Learning: A Modern Approach", NeurIPS 2021, arXiv:2111.00980.

    Examples
    --------
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.topics import bbe_kappa
    >>> X, y, _, kappa = make_topic_mixtures(20000, toy="sep", random_state=0)
    >>> res = bbe_kappa(X[:, 0], y)
    >>> bool(abs(res.kappa - kappa).max() < 0.03), bool((res.upper_bound >= kappa).all())
    (True, True)
    """
    atoms = _as_atoms(score, y, sample_weight)
    for name, v in (("delta", delta), ("selection_delta", selection_delta)):
        check_scalar(v, name, numbers.Real, min_val=0, max_val=1, include_boundaries="neither")
    check_scalar(gamma, "gamma", numbers.Real, min_val=0)
    out = Bunch(kappa=np.zeros(2), kappa_std=np.zeros(2), upper_bound=np.zeros(2),
                tail_mass=np.zeros(2), kappa_shift=np.zeros(2))
    for i, a in enumerate((atoms, atoms.swapped())):
        out.kappa[i], out.kappa_std[i], out.upper_bound[i], out.tail_mass[i] = _bbe_one(
            a, delta, gamma, selection_delta
        )
        out.kappa_shift[i] = _bbe_one(a, delta, gamma, delta)[0] - out.kappa[i]
    return out


def _roc_end(atoms, low_end, window, degree, n_points):
    """Fit the ROC curve near one endpoint: the numerator's tail mass v against the
    denominator's u, ``dv/du = kappa + b1 u + ... + b_d u^d`` for ``u <= window``."""
    a1, a2, v1, v2 = _ends(atoms)[0 if low_end else 1]
    u_hi = np.cumsum(a2)
    u_mid = u_hi - 0.5 * a2
    inside = u_mid <= window
    ids = np.floor(u_mid[inside] / window * n_points).astype(int).clip(0, n_points - 1)
    du = np.bincount(ids, a2[inside], n_points)
    dv = np.bincount(ids, a1[inside], n_points)
    var_u = np.bincount(ids, v2[inside], n_points)
    var_v = np.bincount(ids, v1[inside], n_points)
    keep = du > 0
    du, dv, var_u, var_v = du[keep], dv[keep], var_u[keep], var_v[keep]
    if len(du) < degree + 2:
        raise ValueError(
            f"The ROC fit window {window:g} holds too few distinct scores ({len(du)} points for a "
            f"slope polynomial of degree {degree}); widen the window or lower the degree."
        )
    upper = np.cumsum(du)
    lower = upper - du
    powers = np.arange(degree + 1)
    design = (upper[:, None] ** (powers + 1) - lower[:, None] ** (powers + 1)) / (powers + 1)
    # Pearson weights: the variances from the model, not from the observed counts (which would
    # give the downward fluctuations the largest weights); c1, c2 convert a mass into its
    # variance for weighted events (1/n for unit weights).
    c1 = var_v.sum() / dv.sum() if dv.sum() > 0 else 1.0 / atoms.n1
    c2 = var_u.sum() / du.sum()
    pred = np.full(len(du), max(dv.sum(), 1e-12 * du.sum()) / du.sum()) * du
    coef = None
    for _ in range(4):
        slope = pred / du
        var = c1 * np.maximum(pred, 1e-3 * pred.max() + 1e-300) + slope**2 * c2 * du
        wls = design / np.sqrt(var)[:, None]
        coef, *_ = np.linalg.lstsq(wls, dv / np.sqrt(var), rcond=None)
        pred = design @ coef
    resid = (dv - design @ coef) / np.sqrt(var)
    chi2 = float(np.sum(resid**2))
    ndf = len(du) - (degree + 1)
    cov = np.linalg.pinv(wls.T @ wls)
    return float(coef[0]), float(np.sqrt(max(cov[0, 0], 0.0))), chi2, ndf, (upper, dv, var, coef)


def roc_fit_kappa(score, y, sample_weight=None, *, window=0.2, degree=1, n_points=20):
    """Reducibility factors as the limiting slopes of the ROC curve of M1 against M2.

    Read from the end where M1 is poorest, the ROC curve gives the tail mass ``v`` of M1 against
    the tail mass ``u`` of M2; its slope ``dv/du`` is the ratio ``p_M1/p_M2`` at the cut, so
    ``kappa12 = lim_{u -> 0} dv/du``; ``kappa21`` is the limiting slope at the other end with the
    mixtures swapped. In a window ``u <= window`` of the denominator's tail the slope is fitted as a
    polynomial ``kappa + b1 u + ... + b_d u^d`` (integrated over ``n_points`` equal steps of ``u``,
    independent counts, weighted least squares with the Poisson errors of both mixtures), and
    ``kappa`` is its intercept. This is the estimator found most stable by Komiske, Kryhin and
    Thaler [1]_.

    Bias: the extrapolation of the polynomial. It vanishes where the ratio is constant near the
    end (pure regions) or varies smoothly with the tail mass (Gaussian and Beta tails); a ratio
    that changes abruptly inside the window (the edge of a pure region) shows up as a large
    ``chi2/ndf`` and as a ``kappa_shift`` under a halved window.

    Parameters
    ----------
    score : array-like of shape (n_samples,)
    y : array-like of shape (n_samples,)
        The mixture label; the larger label is M1.
    sample_weight : array-like of shape (n_samples,), default=None
    window : float, default=0.2
        The share of the denominator mixture's events, counted from the end, used by the fit.
    degree : int, default=1
        The degree of the slope polynomial (the functional form: 0 is a straight ROC curve).
    n_points : int, default=20
        The number of equal steps in ``u`` the window is cut into.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``kappa``, ``kappa_std`` (from the fit), ``chi2``, ``ndf``, ``kappa_shift`` (the change
        of kappa when the window is halved), ``fits`` (per kappa: the fitted points and
        coefficients, for plotting).

    References
    ----------
    .. [1] P. T. Komiske, S. Kryhin, J. Thaler, "Disentangling quarks and gluons in CMS open
       data", Phys. Rev. D 106 (2022) 094021, arXiv:2205.04459.

    Examples
    --------
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.topics import roc_fit_kappa
    >>> X, y, _, kappa = make_topic_mixtures(50000, toy="beta", random_state=0)
    >>> res = roc_fit_kappa(X[:, 0], y)
    >>> bool(abs(res.kappa - kappa).max() < 0.05)
    True
    """
    atoms = _as_atoms(score, y, sample_weight)
    check_scalar(window, "window", numbers.Real, min_val=0, max_val=1, include_boundaries="right")
    degree = check_int(degree, "degree", 0)
    n_points = check_int(n_points, "n_points", 2)
    low = _orient(atoms)
    out = Bunch(kappa=np.zeros(2), kappa_std=np.zeros(2), chi2=np.zeros(2),
                ndf=np.zeros(2, dtype=int), kappa_shift=np.zeros(2), fits=[])
    for i, (a, end) in enumerate(((atoms, low), (atoms.swapped(), not low))):
        k, sk, chi2, ndf, fit = _roc_end(a, end, window, degree, n_points)
        out.kappa[i], out.kappa_std[i], out.chi2[i], out.ndf[i] = k, sk, chi2, ndf
        out.fits.append(fit)
        try:
            out.kappa_shift[i] = _roc_end(a, end, window / 2, degree, n_points)[0] - k
        except ValueError:
            out.kappa_shift[i] = np.nan
    return out


def _legendre(q, degree):
    return np.polynomial.legendre.legvander(2.0 * np.asarray(q) - 1.0, degree)


def _likelihood_one(b1, b2, centre, n1, n2, degree):
    """Binomial maximum-likelihood fit of log r(q) = sum_j c_j P_j(2q - 1) to the binned counts."""
    c1, c2 = b1 * n1, b2 * n2  # effective counts of M1 and M2 per bin
    tot = c1 + c2
    offset = np.log(n1 / n2)
    design = _legendre(centre, degree)
    coef = np.zeros(degree + 1)
    with np.errstate(divide="ignore"):
        coef[0] = np.log(max(b1.sum(), 1e-300)) - np.log(max(b2.sum(), 1e-300))
    hess = np.eye(degree + 1)
    for _ in range(50):
        eta = offset + design @ coef
        pi = 1.0 / (1.0 + np.exp(-eta))
        grad = design.T @ (c1 - tot * pi)
        hess = (design * (tot * pi * (1 - pi))[:, None]).T @ design
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        coef = coef + step
        if np.max(np.abs(step)) < 1e-10:
            break
    pi = 1.0 / (1.0 + np.exp(-(offset + design @ coef)))
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = float(np.nansum((c1 - tot * pi) ** 2 / (tot * pi * (1 - pi))))
    return coef, np.linalg.pinv(hess), chi2


def likelihood_fit_kappa(score, y, sample_weight=None, *, n_bins="auto", degree=3):
    """Reducibility factors from a smooth fit of the binned ratio, at its extrema.

    The score is cut into ``n_bins`` equal-population bins of the pooled sample; ``log r(q)``,
    ``r = p_M1/p_M2`` as a function of the pooled quantile ``q`` in [0, 1], is a Legendre series of
    the given degree fitted by maximum likelihood to the binomial split of each bin's events
    between the mixtures. ``kappa12 = min_q r(q)`` and ``kappa21 = min_q 1/r(q)`` over [0, 1] (the
    fit extrapolates to the ends).

    Bias: a global polynomial cannot follow a ratio that is flat over a region and then turns (the
    "sep" toy); the fit then misses the plateau and reports a large ``chi2/ndf`` (its p-value is
    in ``p_value``). Trust it only when the fit is good.

    Parameters
    ----------
    score : array-like of shape (n_samples,)
    y : array-like of shape (n_samples,)
        The mixture label; the larger label is M1.
    sample_weight : array-like of shape (n_samples,), default=None
    n_bins : int or "auto", default="auto"
        ``"auto"``: three times the bins of :func:`anchor_kappa`, at least ``degree + 5``.
    degree : int, default=3

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``kappa``, ``kappa_std`` (from the fit's covariance at the extrema), ``chi2``, ``ndf``,
        ``p_value``, ``kappa_shift`` (the change with ``degree + 1``), ``coef``, and ``bins``
        (centres, ratios, errors) for plotting.

    Examples
    --------
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.topics import likelihood_fit_kappa
    >>> X, y, _, kappa = make_topic_mixtures(50000, toy="gauss", random_state=0)
    >>> res = likelihood_fit_kappa(X[:, 0], y)
    >>> bool(abs(res.kappa - kappa).max() < 0.05), bool(res.chi2 / res.ndf < 3)
    (True, True)
    """
    atoms = _as_atoms(score, y, sample_weight)
    degree = check_int(degree, "degree", 1)
    if isinstance(n_bins, str) and n_bins == "auto":
        nb = max(3 * _auto_bins(atoms), degree + 5)
    else:
        nb = check_int(n_bins, "n_bins", degree + 2)
    b1, b2, v1, v2, centre = _binned(atoms, atoms.quantile_bins(nb), nb)
    if len(b1) < degree + 2:
        raise ValueError(
            f"The score has only {len(b1)} distinct bins; a degree-{degree} fit needs at least "
            f"{degree + 2}. Lower the degree."
        )
    grid = np.linspace(0.0, 1.0, 1001)

    def extrema(deg):
        coef, cov, chi2 = _likelihood_one(b1, b2, centre, atoms.n1, atoms.n2, deg)
        design = _legendre(grid, deg)
        log_r = design @ coef
        ks, sks = [], []
        for sign in (1.0, -1.0):
            j = int(np.argmin(sign * log_r))
            x = design[j]
            ks.append(float(np.exp(sign * log_r[j])))
            sks.append(ks[-1] * float(np.sqrt(max(x @ cov @ x, 0.0))))
        return np.array(ks), np.array(sks), chi2, coef

    kappa, kappa_std, chi2, coef = extrema(degree)
    ndf = len(b1) - (degree + 1)
    try:
        shifted = extrema(degree + 1)[0] if len(b1) >= degree + 3 else kappa
    except np.linalg.LinAlgError:
        shifted = kappa
    r, sr = _ratio_error(b1, b2, v1, v2)
    return Bunch(
        kappa=kappa,
        kappa_std=kappa_std,
        chi2=chi2,
        ndf=ndf,
        p_value=float(stats.chi2.sf(chi2, ndf)) if ndf > 0 else np.nan,
        kappa_shift=shifted - kappa,
        coef=coef,
        bins=(centre, r, sr),
    )


_AUTO_METHODS = ("anchor", "roc_fit", "bbe")


def auto_kappa(score, y, sample_weight=None, *, n_bins="auto", window=0.2):
    """The default combination: the mean of the anchor, ROC-fit and BBE estimates.

    The three estimators err in different ways where kappa is reached only in a limit (the anchor
    bin and the BBE tail average the ratio over a finite share of events and are biased up, BBE the
    most; the ROC fit extrapolates to the limit, nearly unbiased but noisier) and agree where the
    topics have pure regions of finite mass. Their mean is the central value and their standard
    deviation measures the systematic uncertainty. Part of that spread is statistical (the methods
    look at different events) and already in the bootstrap, so :class:`TopicDemixer` with
    ``n_bootstrap > 0`` subtracts in quadrature the spread its replicas show around each method's
    bootstrap mean and keeps the excess, the disagreement of the reach biases; without the
    bootstrap it keeps the whole spread (conservative). The 68% intervals of the fractions then
    cover the truth in 63-80% of 60 replicas on each toy at 10k events per mixture (sep 0.80 /
    0.77, beta 0.75 / 0.63, gauss 0.68 / 0.77 for f1 / f2), where the bootstrap alone covers 52-72%
    (it cannot see the reach bias) and the raw spread over-covers the "sep" toy (0.87). The
    likelihood fit is left out: a global polynomial misfits step-like ratios.

    Parameters
    ----------
    score, y, sample_weight
        As in :func:`anchor_kappa`.
    n_bins : int or "auto", default="auto"
        Passed to :func:`anchor_kappa`.
    window : float, default=0.2
        Passed to :func:`roc_fit_kappa`.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``kappa``, ``kappa_std`` (the mean of the methods' statistical errors),
        ``kappa_systematic`` (the standard deviation across the methods), and ``methods`` (each
        method's result).

    Examples
    --------
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.topics import auto_kappa
    >>> X, y, _, kappa = make_topic_mixtures(20000, toy="gauss", random_state=0)
    >>> bool(abs(auto_kappa(X[:, 0], y).kappa - kappa).max() < 0.04)
    True
    """
    atoms = _as_atoms(score, y, sample_weight)
    methods = {
        "anchor": anchor_kappa(atoms, None, n_bins=n_bins),
        "roc_fit": roc_fit_kappa(atoms, None, window=window),
        "bbe": bbe_kappa(atoms, None),
    }
    ks = np.array([m.kappa for m in methods.values()])
    return Bunch(
        kappa=ks.mean(axis=0),
        kappa_std=np.mean([m.kappa_std for m in methods.values()], axis=0),
        kappa_systematic=ks.std(axis=0),
        methods=methods,
    )


KAPPA_METHODS = {
    "anchor": anchor_kappa,
    "likelihood_fit": likelihood_fit_kappa,
    "roc_fit": roc_fit_kappa,
    "bbe": bbe_kappa,
    "auto": auto_kappa,
}
"""The kappa estimators by the name :class:`TopicDemixer` takes as ``method``."""


def _method_options(method, n_bins, window):
    if method in ("anchor", "likelihood_fit"):
        return {"n_bins": n_bins}
    if method == "roc_fit":
        return {"window": window}
    if method == "auto":
        return {"n_bins": n_bins, "window": window}
    return {}


def _estimate(method, atoms, n_bins, window):
    return KAPPA_METHODS[method](atoms, None, **_method_options(method, n_bins, window))


def _alternatives(result):
    """The kappa of every alternative a systematic compares: the methods of ``"auto"``, or the
    nominal and the shifted setting of a single method; shape (n_alternatives, 2)."""
    if "methods" in result:
        return np.array([m.kappa for m in result.methods.values()], dtype=float)
    shift = np.nan_to_num(np.asarray(result.kappa_shift, dtype=float))
    return np.array([result.kappa, result.kappa + shift], dtype=float)


def _bootstrap_replica(method, atoms, w, n_bins, window, seed):
    """One Poisson-weight bootstrap replica (module level, for joblib): an array of shape
    (1 + n_alternatives, 2), the kappa estimate and the kappa of each alternative."""
    rng = np.random.RandomState(seed)
    try:
        res = _estimate(method, atoms.reweighted(w * rng.poisson(1.0, size=len(w))), n_bins,
                        window)
    except ValueError:
        return None
    return np.vstack([np.asarray(res.kappa, dtype=float)[None], _alternatives(res)])


def _spread_sq(alternatives):
    """The squared systematic a set of alternatives shows: the variance across the methods of
    ``"auto"``, the squared shift of a single method's setting."""
    if alternatives.shape[-2] == 2:
        return (alternatives[..., 1, :] - alternatives[..., 0, :]) ** 2
    return alternatives.var(axis=-2)


def _systematic(result, boot_alternatives=None):
    """The systematic error of kappa: the spread of the alternatives beyond their noise.

    The methods of ``"auto"`` (or the settings of one method) look at different events, so even
    where they share no bias their spread has a statistical part, which the bootstrap already
    counts. With bootstrap replicas, that part is measured (the spread of the replicas' deviations
    from each alternative's bootstrap mean) and subtracted in quadrature: what remains is the
    disagreement the fluctuations do not explain, the reach bias of a finite anchor or tail.
    Without replicas the whole spread is taken (conservative).
    """
    observed = _spread_sq(_alternatives(result))
    if boot_alternatives is None or len(boot_alternatives) < 2:
        return np.sqrt(observed), np.zeros(2)
    noise = _spread_sq(boot_alternatives - boot_alternatives.mean(axis=0)).mean(axis=0)
    return np.sqrt(np.clip(observed - noise, 0.0, None)), np.sqrt(noise)


class _ScoreCalibration:
    """The mixed ratio ``R = p_M1/p_M2`` as a step function of the score (equal-population bins)."""

    def __init__(self, atoms, n_bins):
        ids = atoms.quantile_bins(n_bins)
        b1 = np.bincount(ids, atoms.a1, n_bins)
        b2 = np.bincount(ids, atoms.a2, n_bins)
        upper = np.full(n_bins, -np.inf)
        np.maximum.at(upper, ids, atoms.values)
        keep = (b1 + b2) > 0
        self.upper = upper[keep]
        with np.errstate(divide="ignore", invalid="ignore"):
            self.log_ratio = np.log(b1[keep]) - np.log(b2[keep])

    def __call__(self, score):
        idx = np.searchsorted(self.upper, np.asarray(score, dtype=float), side="left")
        return self.log_ratio[np.clip(idx, 0, len(self.upper) - 1)]


def _make_classifier(backend, cv, n_jobs, random_state, verbose):
    from .cwola import CWoLaClassifier

    return CWoLaClassifier(
        backend=backend, cv=cv, n_jobs=n_jobs, random_state=random_state, verbose=verbose
    )


class TopicDemixer(BaseEstimator):
    """Operational topics (e.g. quark and gluon jets) from two mixtures of them.

    Two samples M1 and M2 with different, unknown fractions ``f1 > f2`` of topic 1 define the two
    topics through their mutual irreducibility (Metodiev & Thaler [1]_): the reducibility factors
    ``kappa12 = inf p_M1/p_M2`` and ``kappa21 = inf p_M2/p_M1`` give the fractions
    ``f1 = (1 - kappa12)/(1 - kappa12 kappa21)``, ``f2 = kappa21 f1`` and the topic distribution of
    any observable (:meth:`topic_weights`, :meth:`topic_histogram`).

    A single observable (one column, e.g. the constituent multiplicity; the "traditional" topics)
    is demixed directly. With a ``backend``, a :class:`~sklhep.CWoLaClassifier` is trained between
    the mixtures on all the features (the "weak supervision" topics of [2]_) and kappa is read from
    its **out-of-fold** outputs: a model's output on the events it was trained on would find
    spuriously pure regions (a memorising model gives kappa -> 0).

    Parameters
    ----------
    method : {"auto", "anchor", "likelihood_fit", "roc_fit", "bbe"}, default="auto"
        The kappa estimator (see :func:`auto_kappa`, :func:`anchor_kappa`,
        :func:`likelihood_fit_kappa`, :func:`roc_fit_kappa`, :func:`bbe_kappa` for each one's
        bias).
    backend : str, estimator or None, default=None
        None demixes the single column of ``X``; otherwise the backend of the CWoLa classifier
        (a name from :func:`sklhep.list_backends` or a scikit-learn classifier).
    cv : int, splitter or iterable, default=5
        The cross-fitting of the classifier (as in :class:`~sklhep.CWoLaClassifier`); it cannot be
        None, since kappa must come from out-of-fold outputs.
    n_bins : int or "auto", default="auto"
        Bins of the anchor and likelihood-fit estimators and of the score calibration used by
        :meth:`predict_topic_proba`.
    roc_window : float, default=0.2
        The fit window of the ROC-fit estimator.
    n_bootstrap : int, default=0
        Poisson-weight bootstrap replicas of the demixing (the scores are kept fixed); 0 takes the
        statistical errors from the estimator's own counts or fit.
    min_significance : float, default=3.0
        The guard against indistinguishable mixtures: the M1-vs-M2 AUC of the demixed score must
        differ from 1/2 by at least this many standard errors (Hanley & McNeil, with effective
        counts), otherwise ``fit`` raises a ValueError.
    random_state : int, RandomState instance or None, default=None
        Seeds the classifier and the bootstrap replicas (one seed per replica, so the results do
        not depend on ``n_jobs``).
    n_jobs : int or None, default=None
        joblib workers for the folds and the bootstrap (``sklearn.utils.parallel``, so
        ``joblib.parallel_backend("dask")`` spreads them).
    verbose : int, default=0
        Progress bars over the folds and the bootstrap replicas.

    Attributes
    ----------
    kappa_ : ndarray of shape (2,)
        ``(kappa12, kappa21)``.
    fractions_ : ndarray of shape (2,)
        ``(f1, f2)``, the fraction of topic 1 in M1 and in M2.
    covariance_ : ndarray of shape (4, 4)
        Covariance of ``(kappa12, kappa21, f1, f2)``: statistical (bootstrap, or the estimator's
        own errors) plus systematic (the spread across the methods of ``"auto"``, or a single
        method's shift under a change of its setting; with the bootstrap, less the part of that
        spread its replicas show to be statistical, see :func:`auto_kappa`).
    kappa_std_, fractions_std_ : ndarray of shape (2,)
        Their standard deviations.
    kappa_systematic_ : ndarray of shape (2,)
        The systematic part of the kappa errors.
    bootstrap_kappa_ : ndarray of shape (n_bootstrap, 2)
        The replicas (when ``n_bootstrap > 0``).
    oof_decision_function_ : ndarray of shape (n_samples,)
        With a backend: the out-of-fold log mixed ratio of every training event.
    classifier_ : CWoLaClassifier
        With a backend: the fitted classifier.
    diagnostics_ : dict
        ``"methods"`` (each estimator's result: kappa, fit quality, anchor occupancy, ...),
        ``"amplification"`` (the 2x2 ``df/dkappa``), ``"auc"`` (M1 vs M2 on the demixed score),
        ``"spread"`` (the spread of the alternatives behind the systematic) and ``"spread_noise"``
        (its statistical part measured by the bootstrap, zero without it).
    classes_ : ndarray of shape (2,)
        The mixture labels; ``classes_[1]`` is M1.
    n_features_in_ : int

    See Also
    --------
    sklhep.CWoLaClassifier : the classifier between the mixtures.

    References
    ----------
    .. [1] E. M. Metodiev, J. Thaler, "Jet Topics: Disentangling Quarks and Gluons at Colliders",
       Phys. Rev. Lett. 120 (2018) 241602, arXiv:1802.00008.
    .. [2] P. T. Komiske, E. M. Metodiev, J. Thaler, "An operational definition of quark and gluon
       jets", JHEP 11 (2018) 059, arXiv:1809.01140.
    .. [3] P. T. Komiske, S. Kryhin, J. Thaler, "Disentangling quarks and gluons in CMS open
       data", Phys. Rev. D 106 (2022) 094021, arXiv:2205.04459.
    .. [4] G. Blanchard, G. Lee, C. Scott, "Semi-supervised novelty detection", JMLR 11 (2010)
       2973; S. Garg et al., "Mixture Proportion Estimation and PU Learning: A Modern Approach",
       arXiv:2111.00980.

    Examples
    --------
    >>> from sklhep.datasets import make_topic_mixtures
    >>> from sklhep.topics import TopicDemixer
    >>> X, y, _, kappa = make_topic_mixtures(20000, toy="sep", random_state=0)
    >>> demixer = TopicDemixer(random_state=0).fit(X, y)
    >>> demixer.fractions_.round(1).tolist()        # exact: (0.8, 0.3)
    [0.8, 0.3]
    """

    _parameter_constraints = {
        "method": [StrOptions(set(KAPPA_METHODS))],
        "backend": [None, str, HasMethods(["fit"])],
        "cv": ["cv_object"],
        "n_bins": [StrOptions({"auto"}), Interval(numbers.Integral, 2, None, closed="left")],
        "roc_window": [Interval(numbers.Real, 0, 1, closed="right")],
        "n_bootstrap": [Interval(numbers.Integral, 0, None, closed="left")],
        "min_significance": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        method="auto",
        backend=None,
        cv=5,
        n_bins="auto",
        roc_window=0.2,
        n_bootstrap=0,
        min_significance=3.0,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.min_significance = min_significance
        self.method = method
        self.backend = backend
        self.cv = cv
        self.n_bins = n_bins
        self.roc_window = roc_window
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------------
    def _check_params(self):
        self._validate_params()
        if self.backend is not None and self.cv is None:
            raise ValueError(
                "cv=None would read kappa from the classifier's outputs on its own training "
                "events, which finds spuriously pure regions (kappa -> 0 for a model that "
                "memorises); "
                "set cv to an int, a splitter or a list of (train, test) pairs."
            )

    def _score_of(self, X, reset):
        """The one-dimensional score demixed: the single column of X or the classifier output."""
        if self.backend is not None:
            if reset:
                raise RuntimeError("internal: the classifier path scores through classifier_")
            return np.asarray(self.classifier_.decision_function(X), dtype=float)
        from sklearn.utils.validation import validate_data

        if hasattr(X, "ndim") and X.ndim == 1 or (isinstance(X, list) and np.ndim(X) == 1):
            X = np.asarray(X)[:, None]
        X = validate_data(self, X, reset=reset)
        if X.shape[1] != 1:
            raise ValueError(
                f"X has {X.shape[1]} features; without a backend TopicDemixer demixes a single "
                "observable. Pass one column, or give a backend (e.g. backend='bdt') to train a "
                "classifier between the mixtures on all features."
            )
        return X[:, 0].astype(float)

    def fit(self, X, y, sample_weight=None, *, groups=None):
        """Estimate the reducibility factors, the fractions and their covariance.

        Parameters
        ----------
        X : array-like of shape (n_samples,) or (n_samples, n_features), or particle sets
            A single observable, or (with a backend) the classifier's input.
        y : array-like of shape (n_samples,)
            The mixture label of each event: two distinct values, the larger is M1 (the mixture
            richer in topic 1).
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights (signed weights are accepted if each mixture keeps a positive total).
        groups : array-like of shape (n_samples,), default=None
            With a backend: group labels kept together in one fold (e.g. the event number, so
            that the two jets of a dijet event are never split between training and scoring).

        Returns
        -------
        self : TopicDemixer
        """
        self._check_params()
        is_m1, self.classes_ = mixture_labels(y)
        n = len(is_m1)
        w = check_sample_weight(sample_weight, n, allow_negative=True)
        rng = check_random_state(self.random_state)
        if self.backend is None:
            score = self._score_of(X, reset=True)
            if len(score) != n:
                raise ValueError(
                    f"X and y have different numbers of samples: {len(score)} and {n}."
                )
            for name in ("classifier_", "oof_decision_function_"):
                self.__dict__.pop(name, None)
        else:
            seed = int(rng.randint(np.iinfo(np.int32).max))
            clf = _make_classifier(self.backend, self.cv, self.n_jobs, seed, self.verbose)
            clf.fit(X, is_m1.astype(int), sample_weight=sample_weight, groups=groups)
            self.classifier_ = clf
            self.oof_decision_function_ = np.asarray(clf.oof_decision_function_, dtype=float)
            score = self.oof_decision_function_
            for name in ("n_features_in_", "feature_names_in_"):
                if hasattr(clf, name):
                    setattr(self, name, getattr(clf, name))
                else:
                    self.__dict__.pop(name, None)
        if np.any(np.isnan(score)):
            raise ValueError(
                "The classifier's out-of-fold outputs contain NaN; regularise or clip the backend."
            )

        atoms = _Atoms(score, is_m1, w)
        auc = atoms.auc()
        from .metrics import auc_standard_error

        se = auc_standard_error(auc, max(int(atoms.n1), 1), max(int(atoms.n2), 1))
        sig = self.min_significance
        if abs(auc - 0.5) < sig * se:
            raise ValueError(
                f"The mixtures are statistically indistinguishable on this score (M1-vs-M2 AUC "
                f"{auc:.4f}, within {sig:g} standard errors ({se:.4f}) of 1/2); their topics "
                "cannot be separated. Use more events, a better observable or a stronger "
                "classifier."
            )
        result = _estimate(self.method, atoms, self.n_bins, self.roc_window)
        kappa = np.clip(np.asarray(result.kappa, dtype=float), 0.0, None)
        if kappa[0] * kappa[1] > 0.95 or np.any(kappa >= 1):
            raise ValueError(
                f"The mixtures are nearly identical: kappa12 * kappa21 = {kappa[0] * kappa[1]:.3f} "
                "(1 means indistinguishable); the fractions would be undetermined. Use more events "
                "or a more discriminating observable or classifier."
            )
        self.kappa_ = kappa
        self.fractions_ = fractions_from_kappa(kappa)
        jac = kappa_jacobian(kappa)
        amplification = jac[2:]
        if np.max(np.abs(amplification)) > 3.0:
            warnings.warn(
                "The fractions amplify errors on kappa by up to "
                f"{np.max(np.abs(amplification)):.1f} "
                "(df/dkappa > 3): the mixtures are close, and the fractions uncertain.",
                UserWarning,
                stacklevel=2,
            )

        n_boot = int(self.n_bootstrap)
        if n_boot > 0:
            seeds = rng.randint(np.iinfo(np.int32).max, size=n_boot)
            jobs = (
                delayed(_bootstrap_replica)(
                    self.method, atoms, w, self.n_bins, self.roc_window, int(s)
                )
                for s in seeds
            )
            parallel = Parallel(n_jobs=self.n_jobs, return_as="generator")
            replicas = parallel(jobs)
            if self.verbose:
                from tqdm.auto import tqdm

                replicas = tqdm(replicas, total=n_boot, desc="topic bootstrap")
            replicas = list(replicas)
            good = np.array([r is not None and bool(np.all(np.isfinite(r[0])))
                             and bool(np.all(r[0] < 1)) for r in replicas])
            if good.sum() < max(2, 0.9 * n_boot):
                warnings.warn(
                    f"{n_boot - good.sum()} of {n_boot} bootstrap replicas failed; the "
                    "statistical errors rest on the others.",
                    UserWarning,
                    stacklevel=2,
                )
            self.bootstrap_kappa_ = np.array(
                [np.full(2, np.nan) if r is None else r[0] for r in replicas]
            ).reshape(n_boot, 2)
            boot = np.clip(self.bootstrap_kappa_[good], 0.0, None)
            boot_alternatives = np.array([r[1:] for r, ok in zip(replicas, good) if ok])
            full = np.column_stack([boot, [fractions_from_kappa(k) for k in boot]])
            stat = np.cov(full, rowvar=False) if len(full) > 1 else np.zeros((4, 4))
        else:
            self.__dict__.pop("bootstrap_kappa_", None)
            boot_alternatives = None
            stat = jac @ np.diag(np.asarray(result.kappa_std, dtype=float) ** 2) @ jac.T
        self.kappa_systematic_, spread_noise = _systematic(result, boot_alternatives)
        sys = jac @ np.diag(self.kappa_systematic_**2) @ jac.T
        self.covariance_ = stat + sys
        sd = np.sqrt(np.clip(np.diag(self.covariance_), 0.0, None))
        self.kappa_std_, self.fractions_std_ = sd[:2], sd[2:]
        self.diagnostics_ = {
            "method": self.method,
            "result": result,
            "methods": result.get("methods", {self.method: result}),
            "amplification": amplification,
            "auc": auc,
            "n_effective": (atoms.n1, atoms.n2),
            "spread": np.sqrt(_spread_sq(_alternatives(result))),
            "spread_noise": spread_noise,
        }
        self.calibration_ = _ScoreCalibration(atoms, 2 * _resolve_bins(self.n_bins, atoms))
        return self

    # ---------------------------------------------------------------------------------------------
    def _mixture_mask(self, y, n):
        y = column_or_1d(y, warn=True)
        if len(y) != n:
            raise ValueError(f"X and y have different numbers of samples: {n} and {len(y)}.")
        unknown = ~np.isin(y, self.classes_)
        if np.any(unknown):
            raise ValueError(
                "y holds labels the demixer was not fitted on: "
                f"{np.unique(y[unknown]).tolist()[:5]};"
                f" the mixtures are {self.classes_.tolist()}."
            )
        return y == self.classes_[1]

    def topic_weights(self, X, y, sample_weight=None):
        """Signed per-event weights that turn the two mixtures into the two topics.

        Column ``j`` weights the events of both mixtures so that any observable's weighted
        distribution is topic ``j``: ``T1 = (M1 - kappa12 M2)/(1 - kappa12)`` gives an event of M1
        the weight ``w/(W1 (1 - kappa12))`` and an event of M2 ``-kappa12 w/(W2 (1 - kappa12))``,
        ``W_i`` the total weight of mixture ``i``; likewise for ``T2``. Each column sums to 1.

        Parameters
        ----------
        X : array-like or particle sets of n_samples events
            Only its length is used (the weights depend on the mixture label alone).
        y : array-like of shape (n_samples,)
            The mixture labels (those of ``classes_``).
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        weights : ndarray of shape (n_samples, 2)
        """
        check_is_fitted(self)
        n = len(X)
        m1 = self._mixture_mask(y, n)
        w = check_sample_weight(sample_weight, n, allow_negative=True)
        w1, w2 = np.where(m1, w, 0.0), np.where(m1, 0.0, w)
        W1, W2 = w1.sum(), w2.sum()
        if not (W1 > 0 and W2 > 0):
            raise ValueError("Both mixtures need events with a positive total weight.")
        k12, k21 = self.kappa_
        t1 = (w1 / W1 - k12 * w2 / W2) / (1.0 - k12)
        t2 = (w2 / W2 - k21 * w1 / W1) / (1.0 - k21)
        return np.column_stack([t1, t2])

    def topic_histogram(self, values, y, bins=20, sample_weight=None, *, density=False,
                        as_hist=False, name=None):
        """Histograms of the two topics in any observable, with errors that include kappa's.

        Parameters
        ----------
        values : array-like of shape (n_samples,)
            The observable, for the events of both mixtures.
        y : array-like of shape (n_samples,)
            Their mixture labels.
        bins : int or array-like of edges, default=20
        sample_weight : array-like of shape (n_samples,), default=None
        density : bool, default=False
            Divide by the bin widths (otherwise each topic sums to 1).
        as_hist : bool, default=False
            Return two :class:`hist.Hist` objects with weighted storage instead of arrays.
        name : str, default=None
            The axis name of the ``hist`` objects.

        Returns
        -------
        counts : ndarray of shape (2, n_bins)
            Topic 1 and topic 2.
        variances : ndarray of shape (2, n_bins)
            The statistical variance (sum of squared signed weights) plus the propagated variance
            of kappa, ``(dT/dkappa)^2 var(kappa)``.
        edges : ndarray of shape (n_bins + 1,)

        Or, with ``as_hist=True``, ``(hist_topic1, hist_topic2)``.
        """
        from ._histograms import to_hist, weighted_histogram

        check_is_fitted(self)
        values = column_or_1d(np.asarray(values, dtype=float), warn=False)
        weights = self.topic_weights(values, y, sample_weight)
        counts, variances, edges = weighted_histogram(values, bins, weights)
        m1 = self._mixture_mask(y, len(values))
        w = check_sample_weight(sample_weight, len(values), allow_negative=True)
        mix = []
        for mask in (m1, ~m1):
            c = np.histogram(values, edges, weights=np.where(mask, w, 0.0))[0]
            mix.append(c / np.sum(w[mask]))
        k12, k21 = self.kappa_
        d1 = (mix[0] - mix[1]) / (1.0 - k12) ** 2
        d2 = (mix[1] - mix[0]) / (1.0 - k21) ** 2
        variances = variances + np.stack(
            [d1**2 * self.covariance_[0, 0], d2**2 * self.covariance_[1, 1]]
        )
        if density:
            width = np.diff(edges)
            counts, variances = counts / width, variances / width**2
        if as_hist:
            return tuple(
                to_hist(edges, counts[j], variances[j], name=name, label=name)
                for j in range(2)
            )
        return counts, variances, edges

    def _log_mixed_ratio(self, X):
        check_is_fitted(self)
        if self.backend is None:
            score = self._score_of(X, reset=False)
        else:
            score = np.asarray(self.classifier_.decision_function(X), dtype=float)
        return self.calibration_(score)

    def predict_topic_proba(self, X, mixture=None):
        """Per-event topic posteriors inside a mixture, from the calibrated mixed ratio.

        The mixed ratio ``R(x) = p_M1/p_M2`` (the binned ratio of the demixed score) and the
        fractions give the topic ratio ``T1/T2`` (:func:`sklhep.cwola.signal_ratio_from_mixed`)
        and so
        ``P(T1 | x, M) = f L / (f L + 1 - f)``, ``f`` the fraction of topic 1 in ``M``.

        Parameters
        ----------
        X : array-like
            Events, as passed to :meth:`fit`.
        mixture : label or None, default=None
            The mixture the events belong to (one of ``classes_``); None means M1 (``classes_[1]``).

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
            ``P(T1 | x)`` and ``P(T2 | x)``.
        """
        from .cwola import signal_ratio_from_mixed

        check_is_fitted(self)
        if mixture is None:
            mixture = self.classes_[1]
        if mixture not in self.classes_:
            raise ValueError(
                f"mixture must be one of the fitted mixtures {self.classes_.tolist()}; got "
                f"{mixture!r}."
            )
        f = self.fractions_[0] if mixture == self.classes_[1] else self.fractions_[1]
        with np.errstate(over="ignore"):
            R = np.exp(self._log_mixed_ratio(X))
        L = signal_ratio_from_mixed(R, tuple(self.fractions_))
        with np.errstate(invalid="ignore"):
            p1 = f * L / (f * L + 1.0 - f)
        p1 = np.where(np.isinf(L), 1.0, p1)
        return np.column_stack([p1, 1.0 - p1])

    def score(self, X, y, sample_weight=None):
        """Minus the mixture-balanced log loss of the calibrated mixed ratio on (held-out) events.

        A proper score of ``R = p_M1/p_M2``: the better the classifier separates the mixtures, the
        closer its out-of-fold kappa gets to the truth, so
        :class:`~sklearn.model_selection.GridSearchCV` can tune the backend with it.
        """
        from sklearn.metrics import log_loss

        g = self._log_mixed_ratio(X)
        m1 = self._mixture_mask(y, len(g))
        w = check_sample_weight(sample_weight, len(g))
        for mask in (m1, ~m1):
            w = np.where(mask, w / np.sum(w[mask]), w)
        p = 1.0 / (1.0 + np.exp(-np.clip(g, -30, 30)))
        return -float(log_loss(m1.astype(int), p, sample_weight=w, labels=[0, 1]))

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        # y labels two mixtures: a binary target (TopicDemixer is no classifier: it has no
        # predict, and its estimator type stays unset)
        tags.classifier_tags = ClassifierTags(multi_class=False)
        return tags
