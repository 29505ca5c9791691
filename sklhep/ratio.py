"""The likelihood-ratio trick: a classifier between two samples estimates their density ratio.

A classifier trained to separate events of ``p`` (label 1) from events of ``q`` (label 0), with the
two classes carrying equal total weight, learns ``s(x) = p(x) / (p(x) + q(x))``, so
``r(x) = p(x)/q(x) = s/(1-s)``. :class:`LikelihoodRatioEstimator` drives any sklhep backend (a BDT,
a network, a histogram, or any scikit-learn classifier) through this algebra: it balances the
classes with sample weights, chooses the loss, optionally learns from per-event joint likelihood
ratios, calibrates, and reads the log ratio from the backend's raw output.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy.special import log_expit, logsumexp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._registry import resolve_backend
from ._validation import check_binary_labels, check_int, check_jets, check_sample_weight
from .backends._base import LOSSES, LogRatioClassifierMixin, backend_capabilities

__all__ = ["LikelihoodRatioEstimator", "average_log_ratios"]

_CALIBRATIONS = ("histogram", "isotonic")
_MEANING = "the numerator p (1) and the denominator q (0)"


# --------------------------------------------------------------------------------------------------
# helpers shared with sklhep.cwola
# --------------------------------------------------------------------------------------------------
def check_labels(y, meaning):
    """``y`` as a 1-D int array of 0 and 1, or an error that says what is wrong with it."""
    if y is None:
        raise ValueError(
            f"requires y to be passed, but the target y is None: y must label {meaning} with 0 "
            "and 1."
        )
    y = column_or_1d(y, warn=True)
    if y.size and y.dtype.kind in "fiub":
        kind = type_of_target(y)
        if kind == "continuous":
            raise ValueError(
                f"y must label {meaning} with 0 and 1; got a continuous target (e.g. {y[0]!r})."
            )
        if kind == "multiclass":
            raise ValueError(
                f"Only binary classification is supported: y must label {meaning} with 0 and 1; "
                f"got the values {np.unique(y).tolist()[:10]}."
            )
    values = np.unique(y)
    if values.size == 1:
        raise ValueError(
            f"y holds one class only ({values.tolist()}); both labels 0 and 1 are needed, for "
            f"{meaning}."
        )
    return check_binary_labels(y, what="y", meaning=meaning)


def held_out_log_ratios(estimator, X, y, sample_weight, meaning):
    """``decision_function(X)``, checked labels and weights, for scoring on (held-out) events."""
    g = estimator.decision_function(X)
    y = check_labels(y, meaning)
    if len(y) != len(g):
        raise ValueError(f"X and y have different numbers of samples: {len(g)} and {len(y)}.")
    w = check_sample_weight(sample_weight, len(y))
    return g, y, w


def balanced_log_loss_score(g, y, w):
    """Minus the class-balanced binary cross-entropy of ``sigmoid(g)``: ``-log 2`` carries no
    information, 0 is perfect separation."""
    losses = []
    for label, sign in ((1, -1.0), (0, 1.0)):
        mask = y == label
        total = _class_total(w, mask, label, "the score needs both classes")
        losses.append(np.sum(w[mask] * np.logaddexp(0.0, sign * g[mask])) / total)
    return float(-0.5 * (losses[0] + losses[1]))


def _class_total(w, mask, label, why):
    """The summed weight of the events in ``mask`` (class ``label``), or a ValueError if it is 0."""
    total = w[mask].sum()
    if total <= 0:
        raise ValueError(
            f"The events of class {label} have zero total sample_weight; {why} with positive "
            "weight."
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
    """Rescale weights so that both classes carry the same total, half of the total weight."""
    w = np.asarray(sample_weight, dtype=float).copy()
    half = w.sum() / 2.0
    for label in (0, 1):
        mask = y == label
        w[mask] *= half / _class_total(w, mask, label, "both classes need events")
    return w


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


def _fit_one(backend_param, loss, seed, X, y, w, t, uniform):
    """Fit one backend on balanced classes; return (backend, offset) with g = raw - offset."""
    backend, caps = _configure_backend(backend_param, loss, seed)
    if caps.max_features is not None and X.ndim == 2 and X.shape[1] > caps.max_features:
        raise ValueError(
            f"The backend {type(backend).__name__} takes at most {caps.max_features} feature(s); "
            f"X has {X.shape[1]}. Reduce the features or choose another backend."
        )
    if t is not None:
        # soft targets t = r/(1+r): each event once as class 1 with weight w t, once as class 0
        # with weight w (1 - t); the per-event losses are linear in the label, so this is the
        # cross-entropy (or any sklhep loss) with soft labels.
        X = np.concatenate([X, X])
        w = np.concatenate([w * t, w * (1.0 - t)])
        y = np.concatenate([np.ones(len(t), dtype=int), np.zeros(len(t), dtype=int)])
        keep = w > 0
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
    is merged with its neighbour. Between block centres the log ratio is interpolated linearly, beyond
    the outer centres it is constant.
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

    Events of ``p`` carry label 1 and events of ``q`` label 0. The classes are given equal total
    weight (so unequal sample sizes or weights give ``p/q``, not the ratio of counts), a backend
    classifier is trained with the chosen loss, and its raw output is read as ``log r(x)``.

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
    calibration : {None, "histogram", "isotonic"}, default=None
        Recalibrate the learned log ratio with a monotone map fitted on cross-fitted (out-of-fold)
        outputs: equal-population bins of the raw output, or isotonic regression. The backend is
        then trained on each of the ``calibration_cv`` training folds and the calibrated
        probabilities of the fold models are averaged (as
        :class:`~sklearn.calibration.CalibratedClassifierCV` does with ``ensemble=True``).
    calibration_cv : int, default=5
        Number of folds for the cross-fitted calibration.
    clip : float, (float, float) or None, default=None
        Keep predicted ratios within ``[1/clip, clip]`` (or ``[min_ratio, max_ratio]``). None does
        not clip: infinite or undefined outputs of the backend are returned as they are.
    n_jobs : int or None, default=None
        Parallel jobs over the calibration folds (``sklearn.utils.parallel``, so
        ``joblib.parallel_backend("dask")`` works).
    random_state : int, RandomState instance or None, default=None
        Seeds the backend (its ``random_state``) and the calibration folds.
    verbose : int, default=0
        Show a progress bar over the calibration folds.

    Attributes
    ----------
    backends_ : list of estimators
        The fitted backend: one, trained on all events, without calibration; with calibration the
        ``calibration_cv`` fold models, whose calibrated outputs are averaged (as probabilities
        ``r/(1+r)``, see :func:`average_log_ratios`).
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
        ``[0, 1]``.
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

    def __init__(
        self,
        backend="bdt",
        loss="bce",
        calibration=None,
        calibration_cv=5,
        clip=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.backend = backend
        self.loss = loss
        self.calibration = calibration
        self.calibration_cv = calibration_cv
        self.clip = clip
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------------------------------------
    def _validate_X(self, X, reset):
        if self.particle_sets_:
            return check_jets(X, min_features=1, what="X")
        return validate_data(self, X, reset=reset)

    def fit(self, X, y, sample_weight=None, joint_ratio=None):
        """Learn ``log p(x)/q(x)`` from events of ``p`` (y = 1) and ``q`` (y = 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features (or padded particle arrays for backends that take particle sets).
        y : array-like of shape (n_samples,)
            1 for events drawn from ``p``, 0 for events drawn from ``q``.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative event weights. The classes are rebalanced to equal totals.
        joint_ratio : array-like of shape (n_samples,), default=None
            Per-event joint likelihood ratios ``r(x, z) = p(x, z)/q(x, z)`` (finite, >= 0), if the
            simulator provides them; see the Notes.

        Returns
        -------
        self : LikelihoodRatioEstimator
        """
        if self.calibration not in (None, *_CALIBRATIONS):
            raise ValueError(
                f"calibration must be None, 'histogram' or 'isotonic'; got {self.calibration!r}."
            )
        self.clip_bounds_ = _check_clip(self.clip)
        probe = resolve_backend(self.backend)
        caps = backend_capabilities(probe)
        _check_loss_for(probe, self.loss, caps)
        self.particle_sets_ = caps.particle_sets and not (
            hasattr(X, "ndim") and X.ndim == 2 or hasattr(X, "iloc")
        )
        X = self._validate_X(X, reset=True)
        y = check_labels(y, _MEANING)
        if len(y) != X.shape[0]:
            raise ValueError(
                f"X and y have different numbers of samples: {X.shape[0]} and {len(y)}."
            )
        w = check_sample_weight(sample_weight, len(y))
        uniform = sample_weight is None or np.ptp(w) == 0
        w = balanced_weights(y, w)
        t = None
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
            t = r / (1.0 + r)
        self.classes_ = np.array([0, 1])
        rng = check_random_state(self.random_state)
        seed = None if self.random_state is None else int(rng.randint(np.iinfo(np.int32).max))

        if self.calibration is None:
            backend, offset = _fit_one(self.backend, self.loss, seed, X, y, w, t, uniform)
            self.backends_, self.offsets_, self.calibrator_ = [backend], [offset], None
        else:
            self.backends_, self.offsets_, self.calibrator_ = self._fit_calibrated(
                X, y, w, t, uniform, seed, rng
            )
        return self

    def _fit_calibrated(self, X, y, w, t, uniform, seed, rng):
        k = check_int(self.calibration_cv, "calibration_cv", 2)
        n_min = int(min(np.sum(y == 0), np.sum(y == 1)))
        if n_min < k:
            raise ValueError(
                f"calibration_cv={k} folds need at least {k} events of each class; the smaller "
                f"class has {n_min}."
            )
        folds = list(
            StratifiedKFold(k, shuffle=True, random_state=rng.randint(2**31 - 1)).split(X, y)
        )
        if self.verbose:
            from tqdm.auto import tqdm

            folds = tqdm(folds, desc="calibration folds")

        def one(train, test):
            tt = None if t is None else t[train]
            model, off = _fit_one(self.backend, self.loss, seed, X[train], y[train], w[train], tt,
                                  uniform)
            return model, off, test, _raw_log_ratio(model, X[test]) - off

        results = Parallel(n_jobs=self.n_jobs)(delayed(one)(tr, te) for tr, te in folds)
        g = np.empty(len(y))
        for _, _, test, g_test in results:
            g[test] = g_test
        if not np.all(np.isfinite(g)):
            raise ValueError(
                "The backend predicted infinite or undefined log ratios on held-out events; "
                "calibration needs finite outputs. Regularise the backend."
            )
        target = y.astype(float) if t is None else t
        calibrator = _BlockCalibrator(self.calibration).fit(g, target, w)
        return [r[0] for r in results], [r[1] for r in results], calibrator

    # ---------------------------------------------------------------------------------------------
    def decision_function(self, X):
        """The estimated log likelihood ratio ``log p(x)/q(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_ratio : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        if self.calibrator_ is None:
            g = _raw_log_ratio(self.backends_[0], X) - self.offsets_[0]
        else:
            g = average_log_ratios(
                [
                    self.calibrator_.transform(_raw_log_ratio(b, X) - off)
                    for b, off in zip(self.backends_, self.offsets_)
                ]
            )
        if self.clip_bounds_ is not None:
            g = np.clip(g, *self.clip_bounds_)
        return g

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
        :meth:`predict_log_ratio` over the events with ``y == 1`` (events of ``q`` are ignored).
        It needs no ratio on ``q``'s events, whose extrapolated tails (a pure leaf of a tree, an
        empty bin) make the alternative ``<log r>_p - <r - 1>_q`` explode.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            1 for events of ``p``, 0 for events of ``q``.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        kl : float
        """
        g, y, w = held_out_log_ratios(self, X, y, sample_weight, _MEANING)
        p = y == 1
        _class_total(w, p, 1, "the KL estimate averages the log ratio over the events of p")
        return float(np.average(g[p], weights=w[p]))

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
        return balanced_log_loss_score(*held_out_log_ratios(self, X, y, sample_weight, _MEANING))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        tags.input_tags.allow_nan = False
        return tags
