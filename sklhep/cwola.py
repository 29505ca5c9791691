"""Classification without labels (CWoLa): learn signal vs background from two mixtures.

If mixture M1 holds a signal fraction ``f1`` and M2 a fraction ``f2 < f1`` of the same signal and
background densities ``p_S`` and ``p_B``, the mixed likelihood ratio is

    R(x) = p_M1(x) / p_M2(x) = (f1 L(x) + 1 - f1) / (f2 L(x) + 1 - f2),    L = p_S / p_B,

a monotone function of the pure ratio ``L``. So the optimal M1-vs-M2 classifier is the optimal
signal-vs-background classifier, learned without a single signal label; with the fractions known
the relation is inverted for ``L`` itself.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.metaestimators import available_if

from ._validation import check_fractions
from .ratio import LikelihoodRatioEstimator

__all__ = ["CWoLaClassifier", "check_fractions", "signal_ratio_from_mixed"]


def signal_ratio_from_mixed(mixed_ratio, fractions):
    """Invert ``R = (f1 L + 1 - f1)/(f2 L + 1 - f2)`` for the pure ratio ``L = p_S/p_B``.

    ``R`` is first projected onto the range the relation can reach, between ``R(L=0) =
    (1-f1)/(1-f2)`` and ``R(L=inf) = f1/f2``: an estimate beyond the first end means ``L = 0`` and
    beyond the second ``L = inf`` (a negative ratio has no meaning).

    Parameters
    ----------
    mixed_ratio : array-like
        ``R = p_M1/p_M2``.
    fractions : (float, float)
        Signal fractions ``(f1, f2)`` of M1 and M2.

    Returns
    -------
    L : ndarray

    Examples
    --------
    >>> from sklhep.cwola import signal_ratio_from_mixed
    >>> float(signal_ratio_from_mixed(1.0, (0.8, 0.2)))   # R = 1 at L = 1
    1.0
    """
    f1, f2 = check_fractions(fractions)
    R = np.asarray(mixed_ratio, dtype=float)
    if np.any(np.isnan(R)):
        raise ValueError("mixed_ratio contains NaN.")
    r0 = (1.0 - f1) / (1.0 - f2) if f2 < 1 else np.inf
    r_inf = f1 / f2 if f2 > 0 else np.inf
    R = np.clip(R, min(r0, r_inf), max(r0, r_inf))
    with np.errstate(divide="ignore", invalid="ignore"):
        L = ((1.0 - f1) - R * (1.0 - f2)) / (R * f2 - f1)
    L = np.where(R == r_inf, np.inf, L)
    L = np.where(R == r0, 0.0, L)
    return L


def _has_fractions(self):
    if self.fractions is None:
        raise AttributeError(
            "The pure signal quantities need the signal fractions of the two mixtures: "
            "CWoLaClassifier(fractions=(f1, f2))."
        )
    return True


class CWoLaClassifier(LikelihoodRatioEstimator):
    """Classification without labels: a signal/background classifier trained on two mixtures.

    ``y`` labels the **mixture**, not the class: ``classes_[1]`` (1 of {0, 1}, the larger of any
    two labels) is M1, the mixture richer in signal, ``classes_[0]`` is M2. The classifier between
    the mixtures (with equal total weight given to both) estimates the mixed ratio
    ``R = p_M1/p_M2``, which is monotone in the pure signal/background ratio ``L``: its ROC curve on
    true labels is that of the optimal classifier. Given the signal fractions it also returns ``L``
    and signal probabilities. It is a :class:`~sklhep.LikelihoodRatioEstimator` between the
    mixtures, so every setting of that estimator (cross-fitting, calibration, clipping, signed
    weights, parallel folds) works the same here.

    Parameters
    ----------
    backend : str or estimator, default="bdt"
        A backend name from :func:`sklhep.list_backends` or a scikit-learn classifier instance
        (give an instance, e.g. ``sklhep.get_backend("bdt")``, to tune ``backend__<name>`` in a
        grid search).
    loss : {"bce", "mlc", "mse", "sqrt"}, default="bce"
        The loss of the mixture classifier (see :class:`~sklhep.LikelihoodRatioEstimator`).
    fractions : (float, float) or None, default=None
        Signal fractions ``(f1, f2)`` of M1 and M2, if known (e.g. from
        :class:`~sklhep.topics.TopicDemixer`); they enable :meth:`predict_signal_ratio` and
        :meth:`predict_signal_proba`.
    cv : None, int, cross-validation splitter or iterable of (train, test), default=None
        Cross-fitting, as in :class:`~sklhep.LikelihoodRatioEstimator`: with ``k`` folds every
        training event is scored by a model that never saw it (``oof_decision_function_``), the
        protection against learning statistical fluctuations in a CWoLa hunt and what jet topics
        need; new events get the average of the fold models. None trains one model on all events.
    calibration : {None, "histogram", "isotonic"}, default=None
        Recalibrate the mixed log ratio with a monotone map fitted on out-of-fold outputs. The
        ranking, hence the ROC curve, needs none; :meth:`predict_signal_ratio` needs a
        well-calibrated mixed ratio.
    clip : float, (float, float) or None, default=None
        Keep predicted mixed ratios within ``[1/clip, clip]`` (or ``[min_ratio, max_ratio]``).
    n_jobs : int or None, default=None
        Parallel workers over the folds (``sklearn.utils.parallel``).
    random_state : int, RandomState instance or None, default=None
        Seeds the fold split and the backends.
    verbose : int, default=0
        Show a progress bar over the completed folds.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted mixture classifiers' backends (one, or one per fold).
    oof_decision_function_ : ndarray of shape (n_samples,)
        With cross-fitting: the log mixed ratio of each training event from the model that did not
        see it.
    folds_ : list of (train, test) index arrays
        With cross-fitting: the fold split.
    calibrator_, offsets_, clip_bounds_, particle_sets_
        As in :class:`~sklhep.LikelihoodRatioEstimator`.
    classes_ : ndarray of shape (2,)
        The two mixture labels, sorted: ``[M2, M1]``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str

    See Also
    --------
    sklhep.LikelihoodRatioEstimator : the density ratio of two samples.
    sklhep.metrics.mixed_auc : the mixed-sample AUC expected from a pure one.

    References
    ----------
    .. [1] E. M. Metodiev, B. Nachman, J. Thaler, "Classification without labels: Learning from
       mixed samples in high energy physics", JHEP 10 (2017) 174, arXiv:1708.02949.
    .. [2] J. H. Collins, K. Howe, B. Nachman, "Anomaly Detection for Resonant New Physics with
       Machine Learning", Phys. Rev. Lett. 121 (2018) 241803, arXiv:1805.02664.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.metrics import roc_auc_score
    >>> from sklhep import CWoLaClassifier
    >>> from sklhep.datasets import make_gaussian_mixtures
    >>> X, y_mix, y_true, _ = make_gaussian_mixtures(5000, fractions=(0.8, 0.2), random_state=0)
    >>> cwola = CWoLaClassifier(backend=LogisticRegression(), fractions=(0.8, 0.2)).fit(X, y_mix)
    >>> round(roc_auc_score(y_true, cwola.decision_function(X)), 2)
    0.92
    """

    _meaning = "the mixtures M1 (classes_[1]) and M2 (classes_[0])"
    _progress = "CWoLa folds"

    def __init__(
        self,
        backend="bdt",
        loss="bce",
        fractions=None,
        cv=None,
        calibration=None,
        clip=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            backend=backend,
            loss=loss,
            cv=cv,
            calibration=calibration,
            clip=clip,
            n_jobs=n_jobs,
            random_state=random_state,
            verbose=verbose,
        )
        self.fractions = fractions

    def fit(self, X, y, sample_weight=None, *, groups=None):
        """Train the mixture classifier(s).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            The mixture label: ``classes_[1]`` (e.g. 1) for events of M1, the other label for M2.
        sample_weight : array-like of shape (n_samples,), default=None
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter given as ``cv``.

        Returns
        -------
        self : CWoLaClassifier
        """
        if self.fractions is not None:
            check_fractions(self.fractions)
        return super().fit(X, y, sample_weight, groups=groups)

    @available_if(_has_fractions)
    def predict_signal_ratio(self, X):
        """The pure ratio ``L(x) = p_S(x)/p_B(x)`` from the mixed one and the fractions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ratio : ndarray of shape (n_samples,)
            See :func:`signal_ratio_from_mixed` for the treatment of unphysical ``R``.
        """
        with np.errstate(over="ignore"):
            R = np.exp(self.decision_function(X))
        return signal_ratio_from_mixed(R, self.fractions)

    @available_if(_has_fractions)
    def predict_signal_proba(self, X, signal_fraction=0.5):
        """Probability that an event is signal, in a sample with the given signal fraction.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        signal_fraction : float, default=0.5
            The prior signal fraction ``f``: 0.5 for equal priors, ``f1`` for an event of M1.

        Returns
        -------
        proba : ndarray of shape (n_samples,)
            ``f L / (f L + 1 - f)``.
        """
        f = float(signal_fraction)
        if not (0.0 <= f <= 1.0):
            raise ValueError(f"signal_fraction must lie in [0, 1]; got {signal_fraction!r}.")
        L = self.predict_signal_ratio(X)
        with np.errstate(invalid="ignore"):
            p = f * L / (f * L + 1.0 - f)
        return np.where(np.isinf(L), 1.0 if f > 0 else 0.0, p)

    def score(self, X, y, sample_weight=None):
        """Minus the balanced binary cross-entropy between the mixtures (higher is better).

        See :meth:`LikelihoodRatioEstimator.score`; by the CWoLa theorem the best mixture
        classifier is the best signal/background classifier, so this score selects models for the
        pure task too.
        """
        return super().score(X, y, sample_weight)
