"""The likelihood-ratio trick: a classifier between two samples estimates their density ratio.

A classifier trained to separate events of ``p`` (label 1) from events of ``q`` (label 0), with the
two classes carrying equal total weight, learns ``s(x) = p(x) / (p(x) + q(x))``, so
``r(x) = p(x)/q(x) = s/(1-s)``. :class:`LikelihoodRatioEstimator` drives any sklhep backend (a BDT,
a network, a histogram, or any scikit-learn classifier) through this algebra: it balances the
classes with sample weights, chooses the loss, optionally learns from per-event joint likelihood
ratios, calibrates, and reads the log ratio from the backend's raw output.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
from scipy.special import log_expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state, get_tags
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._crossfit import check_folds, cross_fit, fold_seeds
from ._registry import resolve_backend
from ._validation import check_jets, check_sample_weight, check_two_classes
from .backends._base import LOSSES, LogRatioClassifierMixin, backend_capabilities

__all__ = ["LikelihoodRatioEstimator", "average_log_ratios", "balanced_weights"]

_CALIBRATIONS = ("histogram", "isotonic")


# --------------------------------------------------------------------------------------------------
# the likelihood-ratio algebra, shared by every estimator built on LikelihoodRatioEstimator
# --------------------------------------------------------------------------------------------------
def encode_labels(estimator, y):
    """``y`` as indices 0/1 into the fitted ``estimator.classes_``, or a clear error."""
    y = np.asarray(y)
    if y.ndim != 1:
        y = column_or_1d(y, warn=True)
    classes = estimator.classes_
    if y.dtype.kind == "O" and classes.dtype.kind == "U":
        y = y.astype(str)
    index = np.searchsorted(classes, y)
    index = np.clip(index, 0, len(classes) - 1)
    unknown = classes[index] != y
    if np.any(unknown):
        raise ValueError(
            f"y contains labels not seen in fit: {np.unique(y[unknown]).tolist()[:10]}; the fitted "
            f"classes are {classes.tolist()}."
        )
    return index


def held_out_log_ratios(estimator, X, y, sample_weight):
    """``decision_function(X)``, label indices and weights, for scoring on (held-out) events."""
    g = estimator.decision_function(X)
    if y is None:
        raise ValueError("requires y to be passed, but the target y is None.")
    y = encode_labels(estimator, y)
    if len(y) != len(g):
        raise ValueError(f"X and y have different numbers of samples: {len(g)} and {len(y)}.")
    w = check_sample_weight(sample_weight, len(y), allow_negative=True)
    return g, y, w


def balanced_log_loss_score(g, y, w):
    """Minus the class-balanced binary cross-entropy of ``sigmoid(g)``: ``-log 2`` carries no
    information, 0 is perfect separation. ``y`` holds class indices 0 and 1."""
    losses = []
    for label, sign in ((1, -1.0), (0, 1.0)):
        mask = y == label
        total = _class_total(w, mask, label, "the score needs both classes")
        losses.append(np.sum(w[mask] * np.logaddexp(0.0, sign * g[mask])) / total)
    return float(-0.5 * (losses[0] + losses[1]))


def _class_total(w, mask, label, why):
    """The summed weight of the events in ``mask`` (class index ``label``), or a ValueError if it
    is not positive."""
    total = w[mask].sum()
    if not total > 0:
        raise ValueError(
            f"The events of class {label} ({'classes_[1]' if label else 'classes_[0]'}) have a "
            f"total sample_weight of {total:g}; {why} with a positive total weight."
        )
    return total


def average_log_ratios(log_ratios):
    """Combine the log ratios of several models by averaging their probabilities ``r/(1+r)``.

    Returns ``log(mean s) - log(mean (1-s))`` with ``s = sigmoid(g)``, computed in log space so
    that large ratios keep their precision. Unlike the mean of the log ratios it is defined when the
    models disagree with certainty (``+inf`` and ``-inf``).
    """
    g = np.asarray(log_ratios, dtype=float)
    if g.shape[0] == 1:
        return g[0]
    return logsumexp(log_expit(g), axis=0) - logsumexp(log_expit(-g), axis=0)


def balanced_weights(y, sample_weight):
    """Rescale (signed) weights so that both classes carry the same total, half of the total.

    ``y`` holds class indices 0 and 1; each class must have a positive total weight.
    """
    w = np.asarray(sample_weight, dtype=float)
    totals = np.bincount(y, weights=w, minlength=2)
    for label in (0, 1):
        if not totals[label] > 0:
            _class_total(w, y == label, label, "both classes need events")
    return w * (totals.sum() / 2.0 / totals)[y]


def _check_loss_for(backend, loss, caps):
    if loss not in LOSSES:
        raise ValueError(f"Unknown loss {loss!r}; sklhep's losses are: {', '.join(LOSSES)}.")
    if loss not in caps.losses:
        raise ValueError(
            f"The backend {type(backend).__name__} cannot minimise the loss {loss!r}; it supports "
            f"only {', '.join(repr(v) for v in caps.losses)}. Choose one of those, or a backend "
            "that supports this loss (the torch backends 'mlp', 'efn', 'pfn' take every loss)."
        )


def _configure_backend(backend_param, loss, seed):
    """A fresh backend with the loss and random seed set, and its capabilities."""
    backend = resolve_backend(backend_param)
    caps = backend_capabilities(backend)
    _check_loss_for(backend, loss, caps)
    params = backend.get_params(deep=False)
    if len(caps.losses) > 1 and "loss" in params:
        backend.set_params(loss=loss)
    if seed is not None and "random_state" in params:
        backend.set_params(random_state=seed)
    return backend, caps


def _raw_log_ratio(backend, X):
    """The backend's estimate of log p/q for balanced classes (see the backend contract).

    sklhep backends (those declaring ``sklhep_capabilities``) expose it as ``decision_function``.
    For any other classifier it is ``logit(predict_proba[:, 1])``: a foreign ``decision_function``
    need not be a log-odds (an SVM margin is not).
    """
    if hasattr(backend, "sklhep_capabilities") and hasattr(backend, "decision_function"):
        g = np.asarray(backend.decision_function(X), dtype=float)
        if g.ndim == 2 and g.shape[1] == 1:
            g = g[:, 0]
        return g
    proba = np.asarray(backend.predict_proba(X), dtype=float)
    col = int(np.flatnonzero(np.asarray(backend.classes_) == 1)[0])
    p1 = proba[:, col]
    with np.errstate(divide="ignore"):
        return np.log(p1) - np.log1p(-p1)


def _fit_backend(backend_param, loss, uniform, X, yt, w, seed):
    """Fit one backend on balanced classes; return ``(backend, offset)`` with g = raw - offset.

    ``yt`` holds the class index (column 0) and the soft target ``r/(1+r)`` of a joint ratio
    (column 1, NaN without one). Module level, so that any joblib worker can run it.
    """
    backend, caps = _configure_backend(backend_param, loss, seed)
    y = yt[:, 0].astype(int)
    t = None if np.isnan(yt[0, 1]) else yt[:, 1]
    if caps.max_features is not None and X.ndim == 2 and X.shape[1] > caps.max_features:
        raise ValueError(
            f"The backend {type(backend).__name__} takes at most {caps.max_features} feature(s); "
            f"X has {X.shape[1]}. Reduce the features or choose another backend."
        )
    if t is not None and caps.soft_labels and np.all((t >= 0) & (t <= 1)):
        # the backend takes the soft labels directly (the same fit at half the rows)
        backend.fit_soft(X, t, sample_weight=w)
        return backend, 0.0
    if t is not None:
        # soft targets t = r/(1+r): each event once as class 1 with weight w t, once as class 0
        # with weight w (1 - t); the per-event losses are linear in the label, so this is the
        # cross-entropy (or any sklhep loss) with soft labels.
        X = np.concatenate([X, X])
        w = np.concatenate([w * t, w * (1.0 - t)])
        y = np.concatenate([np.ones(len(t), dtype=int), np.zeros(len(t), dtype=int)])
        keep = w != 0
        X, y, w = X[keep], y[keep], w[keep]
    if caps.sample_weight:
        backend.fit(X, y, sample_weight=w)
        return backend, 0.0
    if not uniform or t is not None:
        raise ValueError(
            f"The backend {type(backend).__name__} does not accept sample weights, which are "
            "needed here (non-uniform sample_weight or joint_ratio). Choose a backend whose fit "
            "takes sample_weight."
        )
    # Unweighted events with unequal class counts: correct the prior afterwards.
    backend.fit(X, y)
    return backend, float(np.log(np.sum(y == 1) / np.sum(y == 0)))


def _fold_log_ratio(model, X):
    """The log ratio of one fitted ``(backend, offset)`` pair (module level, for joblib)."""
    backend, offset = model
    return _raw_log_ratio(backend, X) - offset


def _check_clip(clip):
    if clip is None:
        return None
    if isinstance(clip, numbers.Real) and not isinstance(clip, bool):
        c = float(clip)
        if not (np.isfinite(c) and c > 1.0):
            raise ValueError(
                f"clip must be a number > 1 (the ratio is kept in [1/clip, clip]), a pair "
                f"(min_ratio, max_ratio) or None; got {clip!r}."
            )
        return (-np.log(c), np.log(c))
    try:
        lo, hi = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(
            f"clip must be a number > 1, a pair (min_ratio, max_ratio) or None; got {clip!r}."
        ) from None
    if not (0.0 < lo < hi < np.inf):
        raise ValueError(
            f"clip=(min_ratio, max_ratio) needs 0 < min_ratio < max_ratio < inf; got {clip!r}."
        )
    return (np.log(lo), np.log(hi))


class _BlockCalibrator:
    """Piecewise-linear map from a raw log ratio g to a calibrated log ratio.

    Events (sorted by g) are grouped into blocks, by equal-population bins ("histogram") or by the
    pool-adjacent-violators algorithm ("isotonic"); each block gives log(W1/W0) of its balanced
    class weights at its mean g. A block holding only one class would give an infinite ratio, so it
    is merged with its neighbour. Between block centres the log ratio is interpolated linearly,
    beyond the outer centres it is constant.
    """

    def __init__(self, method):
        self.method = method

    def fit(self, g, t, w):
        order = np.argsort(g, kind="stable")
        g, t, w = g[order], t[order], w[order]
        n = len(g)
        if self.method == "histogram":
            n_bins = int(np.clip(n // 200, 2, 50))
            edges = np.unique(np.quantile(g, np.linspace(0, 1, n_bins + 1)[1:-1]))
            ids = np.searchsorted(edges, g, side="right")
        else:
            from sklearn.isotonic import IsotonicRegression

            fitted = IsotonicRegression(increasing=True).fit_transform(g, t, sample_weight=w)
            ids = np.concatenate([[0], np.cumsum(np.diff(fitted) != 0)])
        w1 = np.bincount(ids, weights=w * t)
        w0 = np.bincount(ids, weights=w * (1.0 - t))
        wg = np.bincount(ids, weights=w * g)
        ww = np.bincount(ids, weights=w)
        blocks = [list(b) for b in zip(w1, w0, wg, ww) if b[3] > 0]
        i = 0
        while len(blocks) > 1 and i < len(blocks):
            if blocks[i][0] > 0 and blocks[i][1] > 0:
                i += 1
                continue
            j = i + 1 if i + 1 < len(blocks) else i - 1
            a, b = min(i, j), max(i, j)
            blocks[a] = [x + y for x, y in zip(blocks[a], blocks[b])]
            del blocks[b]
            i = a
        arr = np.array(blocks)
        with np.errstate(divide="ignore"):
            self.log_ratio_ = np.log(arr[:, 0]) - np.log(arr[:, 1])
        self.centers_ = arr[:, 2] / arr[:, 3]
        return self

    def transform(self, g):
        if len(self.centers_) == 1:
            return np.full(len(g), self.log_ratio_[0])
        return np.interp(g, self.centers_, self.log_ratio_)


class LikelihoodRatioEstimator(LogRatioClassifierMixin, ClassifierMixin, BaseEstimator):
    """Density ratio ``r(x) = p(x)/q(x)`` of two samples by the likelihood-ratio trick.

    ``y`` labels the two samples with any two labels, as in scikit-learn: ``classes_`` is sorted
    and ``classes_[1]`` is the numerator ``p`` (1 of {0, 1}, ``True``, 2 of {1, 2}, ``"signal"``
    of {"background", "signal"}). The classes are given equal total weight (so unequal sample sizes
    or weights give ``p/q``, not the ratio of counts), a backend classifier is trained with the
    chosen loss, and its raw output is read as ``log r(x)``.

    Parameters
    ----------
    backend : str or estimator, default="bdt"
        A backend name from :func:`sklhep.list_backends` or a scikit-learn classifier instance.
        Give an instance (``sklhep.get_backend("bdt")``) to tune its parameters as
        ``backend__<name>`` in :class:`~sklearn.model_selection.GridSearchCV`.
    loss : {"bce", "mlc", "mse", "sqrt"}, default="bce"
        The loss the backend minimises (see :mod:`sklhep.backends._base`): binary cross-entropy,
        the maximum-likelihood-classifier loss ``-<log f>_p + <f - 1>_q`` with ``f = exp(g)``, mean
        squared error, or the square-root loss ``<f^-1/2>_p + <f^1/2>_q``. All are minimised by the
        true ratio; the backend must support the loss.
    cv : None, int, cross-validation splitter or iterable of (train, test), default=None
        Cross-fitting. None trains one backend on all events. Otherwise one backend is trained per
        fold and every training event is scored by the model that did not see it
        (``oof_decision_function_``): an int ``k`` gives a shuffled stratified ``k``-fold split;
        a splitter such as :class:`~sklearn.model_selection.GroupKFold` uses the ``groups`` of
        :meth:`fit` (to keep the two jets of one event in one fold); a list of index pairs is
        taken as it is. New events get the fold models' probabilities ``r/(1+r)`` averaged (see
        :func:`average_log_ratios`), as :class:`~sklearn.calibration.CalibratedClassifierCV` does
        with ``ensemble=True``.
    calibration : {None, "histogram", "isotonic"}, default=None
        Recalibrate the learned log ratio with a monotone map fitted on the out-of-fold outputs:
        equal-population bins of the raw output, or isotonic regression. It needs cross-fitting;
        with ``cv=None`` a 5-fold split is used.
    clip : float, (float, float) or None, default=None
        Keep predicted ratios within ``[1/clip, clip]`` (or ``[min_ratio, max_ratio]``). None does
        not clip: infinite or undefined outputs of the backend are returned as they are.
    n_jobs : int or None, default=None
        Parallel workers over the folds (``sklearn.utils.parallel``, so
        ``joblib.parallel_backend("dask")`` runs them on a cluster). The result does not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Seeds the fold split and each fold's backend (its ``random_state``), one seed per fold
        drawn before any work starts.
    verbose : int, default=0
        Show a progress bar over the completed folds.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted backends: one trained on all events, or one per fold.
    oof_decision_function_ : ndarray of shape (n_samples,)
        With cross-fitting: each training event's log ratio from the fold model that held it out
        (calibrated and clipped as :meth:`decision_function` is). NaN for events no fold held out.
    folds_ : list of (ndarray, ndarray)
        With cross-fitting: the (train, test) indices of each fold.
    calibrator_ : object or None
        The calibration map fitted on the pooled out-of-fold outputs, if ``calibration`` is set.
    offsets_ : list of float
        Per backend, the log prior ratio subtracted from its raw output: 0 for backends that take
        the balancing sample weights, ``log(n_1/n_0)`` for those that do not.
    clip_bounds_ : (float, float) or None
        ``log`` of ``clip``, applied to the log ratio.
    particle_sets_ : bool
        Whether ``X`` is passed on as padded particle sets (a backend that takes them, and 3-D
        input) rather than as a feature matrix.
    classes_ : ndarray of shape (2,)
        The two labels, sorted; ``classes_[1]`` is the numerator.
    n_features_in_ : int
        Number of features (for flat feature vectors).
    feature_names_in_ : ndarray of str
        Feature names, when ``X`` has string column names.

    See Also
    --------
    sklhep.CWoLaClassifier : the same machinery between two mixtures.

    Notes
    -----
    ``predict_proba`` returns ``r/(1+r)``, the class-1 probability for *equal* class priors,
    whatever the class proportions of the training data.

    Signed weights (NLO generators, a background subtracted with negative weights) are accepted
    by backends that declare ``signed_weights`` in their capabilities; each class must keep a
    positive total weight. The balanced total of each class is then its signed sum.

    With ``fit(X, y, joint_ratio=r_xz)`` the estimator regresses on per-event joint likelihood
    ratios ``r(x, z) = p(x, z)/q(x, z)`` of a simulator (ALICE [2]_): every event enters with the
    soft label ``t = r/(1+r)`` (once as class 1 with weight ``t``, once as class 0 with weight
    ``1-t``), whose expectation given ``x`` is ``p(x)/(p(x)+q(x))``. ``y`` still says which
    density each event was drawn from.

    References
    ----------
    .. [1] K. Cranmer, J. Pavez, G. Louppe, "Approximating Likelihood Ratios with Calibrated
       Discriminative Classifiers", arXiv:1506.02169.
    .. [2] M. Stoye, J. Brehmer, G. Louppe, J. Pavez, K. Cranmer, "Likelihood-free inference with
       an improved cross-entropy estimator", arXiv:1808.00973.
    .. [3] R. T. D'Agnolo, A. Wulzer, "Learning New Physics from a Machine", Phys. Rev. D 99
       (2019) 015014 (the maximum-likelihood-classifier loss).

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklhep import LikelihoodRatioEstimator
    >>> from sklhep.datasets import make_gaussian_pair
    >>> X, y, log_ratio = make_gaussian_pair(20000, random_state=0)
    >>> lre = LikelihoodRatioEstimator(backend=LogisticRegression()).fit(X, y)
    >>> round(float(lre.predict_log_ratio([[0.5]])[0]), 1)   # exact: 2 * 0.5
    1.0
    >>> round(lre.kl_divergence(X, y), 1)                    # exact: 2
    2.0
    """

    _meaning = "the numerator p (classes_[1]) and the denominator q (classes_[0])"
    _progress = "likelihood-ratio folds"

    def __init__(
        self,
        backend="bdt",
        loss="bce",
        cv=None,
        calibration=None,
        clip=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.backend = backend
        self.loss = loss
        self.cv = cv
        self.calibration = calibration
        self.clip = clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------------
    def _validate_X(self, X, reset):
        if self.particle_sets_:
            return check_jets(X, min_features=1, what="X")
        return validate_data(self, X, reset=reset)

    def fit(self, X, y, sample_weight=None, *, groups=None, joint_ratio=None):
        """Learn ``log p(x)/q(x)`` from events of ``p`` (``classes_[1]``) and ``q``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (or padded particle arrays for backends that take particle sets).
        y : array-like of shape (n_samples,)
            Which sample each event comes from: two labels, the larger one for ``p``.
        sample_weight : array-like of shape (n_samples,), default=None
            Event weights; signed weights for backends that declare ``signed_weights``. The
            classes are rebalanced to equal totals.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter given as ``cv``.
        joint_ratio : array-like of shape (n_samples,), default=None
            Per-event joint likelihood ratios ``r(x, z) = p(x, z)/q(x, z)`` (finite, >= 0), if the
            simulator provides them; see the Notes.

        Returns
        -------
        self : LikelihoodRatioEstimator
        """
        X, probe, caps = self._prepare_fit(X)
        self.classes_, y = check_two_classes(y, meaning=self._meaning)
        if len(y) != X.shape[0]:
            raise ValueError(
                f"X and y have different numbers of samples: {X.shape[0]} and {len(y)}."
            )
        w = check_sample_weight(sample_weight, len(y), allow_negative=True)
        if np.any(w < 0) and not (caps.signed_weights and caps.sample_weight):
            raise ValueError(
                f"sample_weight has {int(np.sum(w < 0))} negative weight(s), but the backend "
                f"{type(probe).__name__} does not declare signed weights. Use a backend that "
                "takes them (bdt, mlp, efn, pfn) or remove the negative weights."
            )
        uniform = sample_weight is None or np.ptp(w) == 0
        w = balanced_weights(y, w)
        yt = np.column_stack([y, np.full(len(y), np.nan)])
        if joint_ratio is not None:
            r = np.asarray(joint_ratio, dtype=float)
            if r.shape != (len(y),):
                raise ValueError(
                    f"joint_ratio must have one entry per sample ({len(y)}); got shape {r.shape}."
                )
            if not np.all(np.isfinite(r)) or np.any(r < 0):
                bad = r[~np.isfinite(r) | (r < 0)]
                raise ValueError(
                    f"joint_ratio must be finite and non-negative; got {bad.size} bad value(s), "
                    f"e.g. {bad[0]!r}."
                )
            yt[:, 1] = r / (1.0 + r)
        return self._fit_core(X, y, yt, w, uniform, groups, self.cv)

    def fit_weightings(self, X, numerator_weight, denominator_weight, *, groups=None):
        """Learn the ratio of two weightings of the same events, ``p(x)/q(x)`` with ``p`` the
        events weighted by ``numerator_weight`` and ``q`` by ``denominator_weight``.

        The same as :meth:`fit` on the events entered twice (once weighted as class 1, once as
        class 0), but every event is one row: a backend with the ``soft_labels`` capability
        trains on it directly (half the rows), any other gets the two copies. Cross-fitting folds
        are drawn over the events, so both weightings of an event are always held out together;
        an int ``cv`` gives shuffled (unstratified) folds. ``classes_`` is ``[0, 1]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        numerator_weight, denominator_weight : array-like of shape (n_samples,)
            The two weightings (signed for backends that declare ``signed_weights``); each needs a
            positive total, and an event's two weights must not have opposite signs.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter given as ``cv``.

        Returns
        -------
        self : LikelihoodRatioEstimator
        """
        X, probe, caps = self._prepare_fit(X)
        n = X.shape[0]
        wp = check_sample_weight(numerator_weight, n, allow_negative=True,
                                 what="numerator_weight")
        wq = check_sample_weight(denominator_weight, n, allow_negative=True,
                                 what="denominator_weight")
        if np.any(wp * wq < 0):
            raise ValueError(
                f"{int(np.sum(wp * wq < 0))} event(s) carry numerator and denominator weights of "
                "opposite signs; the two weightings of one event must share its sign."
            )
        if (np.any(wp < 0) or np.any(wq < 0)) and not (caps.signed_weights and caps.sample_weight):
            raise ValueError(
                f"The weights include negative values, but the backend {type(probe).__name__} "
                "does not declare signed weights. Use a backend that takes them (bdt, mlp, efn, "
                "pfn) or remove the negative weights."
            )
        self.classes_ = np.array([0, 1])
        totals = np.array([wq.sum(), wp.sum()])
        for label in (0, 1):
            if not totals[label] > 0:
                _class_total(wp if label else wq, np.ones(n, dtype=bool), label,
                             "both weightings need")
        a, b = totals.sum() / 2.0 / totals[1], totals.sum() / 2.0 / totals[0]
        w = a * wp + b * wq
        keep = w != 0
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(keep, a * wp / np.where(keep, w, 1.0), 0.5)
        yt = np.column_stack([(t > 0.5).astype(float), t])
        cv = self.cv
        if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            from sklearn.model_selection import KFold

            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max) \
                if self.random_state is not None else None
            cv = KFold(int(cv), shuffle=True, random_state=seed)
        return self._fit_core(X, np.zeros(n, dtype=int), yt, w, False, groups, cv)

    def _prepare_fit(self, X):
        """Check the settings and the backend's loss, validate ``X``: ``(X, backend, caps)``."""
        self._check_settings()
        probe = resolve_backend(self.backend)
        caps = backend_capabilities(probe)
        _check_loss_for(probe, self.loss, caps)
        self.particle_sets_ = caps.particle_sets and not (
            hasattr(X, "ndim") and X.ndim == 2 or hasattr(X, "iloc")
        )
        return self._validate_X(X, reset=True), probe, caps

    def _check_settings(self):
        if self.calibration not in (None, *_CALIBRATIONS):
            raise ValueError(
                f"calibration must be None, 'histogram' or 'isotonic'; got {self.calibration!r}."
            )
        if self.verbose is not None and (
            isinstance(self.verbose, bool) or not isinstance(self.verbose, numbers.Integral)
        ):
            raise ValueError(f"verbose must be an int (0 is silent); got {self.verbose!r}.")
        self.clip_bounds_ = _check_clip(self.clip)

    def _fit_core(self, X, y, yt, w, uniform, groups, cv):
        """Train one backend or one per fold on balanced weights ``w`` (``yt``: class index and
        soft target, as in :func:`_fit_backend`)."""
        fit_one = functools.partial(_fit_backend, self.backend, self.loss, uniform)
        rng = check_random_state(self.random_state)
        cv = 5 if cv is None and self.calibration is not None else cv

        if cv is None:
            if groups is not None:
                raise ValueError("groups is used only with cross-fitting: set cv as well.")
            (seed,) = fold_seeds(rng if self.random_state is not None else None, 1)
            backend, offset = fit_one(X, yt, w, seed)
            self.estimators_, self.offsets_, self.calibrator_ = [backend], [offset], None
            for name in ("oof_decision_function_", "folds_"):
                if hasattr(self, name):
                    delattr(self, name)
            return self

        self.folds_ = check_folds(cv, y, groups=groups, random_state=rng)
        seeds = fold_seeds(rng if self.random_state is not None else None, len(self.folds_))
        result = cross_fit(
            fit_one,
            X,
            yt,
            w,
            folds=self.folds_,
            predict=_fold_log_ratio,
            seeds=seeds,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
            desc=self._progress,
        )
        self.estimators_ = [backend for backend, _ in result.models]
        self.offsets_ = [offset for _, offset in result.models]
        g = result.oof
        held_out = ~np.isnan(g)
        self.calibrator_ = None
        if self.calibration is not None:
            if not np.all(np.isfinite(g[held_out])):
                raise ValueError(
                    "The backend predicted infinite or undefined log ratios on held-out events; "
                    "calibration needs finite outputs. Regularise the backend."
                )
            target = np.where(np.isnan(yt[:, 1]), y, yt[:, 1])
            self.calibrator_ = _BlockCalibrator(self.calibration).fit(
                g[held_out], target[held_out], w[held_out]
            )
            g = g.copy()
            g[held_out] = self.calibrator_.transform(g[held_out])
        self.oof_decision_function_ = self._clip(g)
        return self

    def _clip(self, g):
        if self.clip_bounds_ is not None:
            g = np.clip(g, *self.clip_bounds_)
        return g

    # ---------------------------------------------------------------------------------------------
    def decision_function(self, X):
        """The estimated log likelihood ratio ``log p(x)/q(x)``.

        With cross-fitting, the fold models' (calibrated) outputs are combined by averaging their
        probabilities ``r/(1+r)`` (see :func:`average_log_ratios`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_ratio : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        per_model = []
        for backend, offset in zip(self.estimators_, self.offsets_):
            g = _fold_log_ratio((backend, offset), X)
            if self.calibrator_ is not None:
                g = self.calibrator_.transform(g)
            per_model.append(g)
        return self._clip(average_log_ratios(per_model))

    def predict_log_ratio(self, X):
        """The estimated log likelihood ratio ``log p(x)/q(x)`` (same as ``decision_function``)."""
        return self.decision_function(X)

    def predict_ratio(self, X):
        """The estimated likelihood ratio ``p(x)/q(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ratio : ndarray of shape (n_samples,)
        """
        with np.errstate(over="ignore"):
            return np.exp(self.decision_function(X))

    def kl_divergence(self, X, y, sample_weight=None):
        """Estimate KL(p||q) in nats as the mean learned log ratio over (held-out) events of p.

        ``KL(p||q) = <log p/q>_p``, so the estimate is the weighted mean of
        :meth:`predict_log_ratio` over the events of ``p`` (label ``classes_[1]``; events of
        ``q`` are ignored). It needs no ratio on ``q``'s events, whose extrapolated tails (a pure
        leaf of a tree, an empty bin) make the alternative ``<log r>_p - <r - 1>_q`` explode.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The sample labels, as in :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        kl : float
        """
        g, y, w = held_out_log_ratios(self, X, y, sample_weight)
        p = y == 1
        _class_total(w, p, 1, "the KL estimate averages the log ratio over the events of p")
        return float(np.sum(w[p] * g[p]) / np.sum(w[p]))

    def score(self, X, y, sample_weight=None):
        """Minus the class-balanced binary cross-entropy of ``r/(1+r)`` on (held-out) events.

        A proper score of the ratio: the true ``p/q`` maximises it, whatever the training loss, so
        :class:`~sklearn.model_selection.GridSearchCV` can compare backends and losses. It is
        ``-log 2`` for a ratio that carries no information and 0 at perfect separation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        return balanced_log_loss_score(*held_out_log_ratios(self, X, y, sample_weight))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = False
        try:
            backend = resolve_backend(self.backend)
        except (ImportError, ValueError, TypeError):
            return tags
        # what the learning machine decides passes through: its input types and determinism
        inner = get_tags(backend)
        tags.non_deterministic = inner.non_deterministic
        tags.input_tags.two_d_array = inner.input_tags.two_d_array
        tags.input_tags.three_d_array = backend_capabilities(backend).particle_sets
        return tags
