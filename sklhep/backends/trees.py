"""Gradient-boosted decision trees (xgboost) as an sklhep backend: ``backend="bdt"``.

xgboost is imported inside :meth:`BDTClassifier.fit`, so importing this module is light.
"""

from __future__ import annotations

import os
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Interval, StrOptions, check_sample_weight, import_optional
from ._base import BackendCapabilities, LogRatioClassifierMixin, loss_per_event
from ._common import check_fit_data

__all__ = ["BDTClassifier"]

# Raw outputs are clipped to this range inside the mlc objective so exp(g) cannot overflow.
_G_CLIP = 50.0


class BDTClassifier(LogRatioClassifierMixin, ClassifierMixin, BaseEstimator):
    """Gradient-boosted decision trees (xgboost, histogram tree method) with sklhep's losses.

    The raw output ``g(x)`` (:meth:`decision_function`) estimates the log likelihood ratio
    ``log p(x)/q(x)`` of class 1 over class 0 when the classes carry equal total weight, and
    ``predict_proba(X)[:, 1] == sigmoid(g)``, for both losses. With more than two classes (loss
    ``"bce"`` only) the trees model the multinomial log-odds (``multi:softprob``).

    Parameters
    ----------
    n_estimators : int, default=200
        Boosting rounds (trees per class).
    max_depth : int, default=3
        Maximum depth of each tree.
    learning_rate : float, default=0.1
        Shrinkage applied to each tree (xgboost's ``eta``).
    subsample : float, default=1.0
        Fraction of the events drawn (without replacement) to grow each tree.
    min_child_weight : float, default=1.0
        Smallest sum of (normalised) Hessian weight allowed in a leaf.
    reg_lambda : float, default=1.0
        L2 penalty on leaf values.
    loss : {"bce", "mlc"}, default="bce"
        ``"bce"``: binary cross entropy (xgboost's ``binary:logistic``). ``"mlc"``: the
        maximum-likelihood-classifier loss ``y (-g) + (1-y) (exp(g) - 1)``, minimised through a
        custom objective; its minimiser is directly ``g = log p/q``. Two classes only.
    device : str, default="auto"
        ``"auto"`` trains on a CUDA GPU when xgboost was built with CUDA and the CUDA driver sees
        a device (found without importing torch), else on the CPU; any other value is passed to
        xgboost (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).
    patience : int or None, default=None
        Early stopping: if set, hold out ``validation_fraction`` of the events (stratified) and
        stop when the validation loss has not improved for this many rounds; prediction then uses
        the best round. None grows all ``n_estimators`` trees.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping; ignored when ``patience`` is None.
    n_threads : int or None, default=None
        Threads of xgboost itself (not joblib workers: an estimator's ``n_jobs`` runs several
        backends in parallel); None means 1, -1 all cores.
    random_state : int, RandomState instance or None, default=None
        Seeds the row subsampling and the validation split.
    verbose : int, default=0
        Show a tqdm progress bar over the boosting rounds when truthy.

    Attributes
    ----------
    booster_ : xgboost.Booster
        The trained model.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_estimators_ : int
        Rounds used for prediction (the best round when early stopping).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Feature names, when ``X`` had string column names.
    evals_result_ : dict
        Validation loss per round when early stopping, else empty.

    Notes
    -----
    Sample weights are rescaled to average 1 over the events with non-zero weight, so
    ``min_child_weight`` and ``reg_lambda`` mean the same whatever the overall weight scale an
    estimator passes (only the relative weights matter).

    For ``loss="mlc"`` the gradient is exact, ``w (-y + (1-y) exp(g))``, but the Hessian is not: the
    exact one, ``w (1-y) exp(g)``, vanishes for class-1 events, so a leaf dominated by class 1 takes
    a near-infinite Newton step and the boosting diverges (the raw output ends near 55 everywhere on
    two unit Gaussians). sklhep uses ``w exp(g) / 2`` for class 0 and ``w max(1, exp(g/2)) / 2`` for
    class 1. Where ``g <= 0`` their sum over the two classes equals the exact Hessian at the minimum
    (Newton steps of the right size in the bulk); where ``g > 0`` the class-1 term grows, so in a
    region holding class-1 events only -- where the mlc loss has no finite minimum -- ``g`` grows
    logarithmically with the rounds, as it does for ``bce``, instead of linearly. The gradient fixes
    the minimiser, so it is unchanged.

    **Signed weights.** xgboost refuses negative weights, so when some are negative (two classes
    only) they are kept out of the DMatrix and enter the objective instead: the gradient is the
    exact signed one, ``w (s - y)`` for ``bce`` (``s = sigmoid(g)``) and the mlc gradient above, so
    the minimiser of the signed weighted loss is unchanged, and the Hessian uses ``|w|``
    (``|w| s (1 - s)`` for ``bce``), so every Newton step divides by a positive curvature. A leaf's
    step is then ``-sum(w (s - y)) / sum(|w| s (1 - s))``: the right direction, shorter than a
    Newton step where negative weights are dense. Boosting starts from ``g = log(W1/W0)``, and early
    stopping monitors the signed mean loss. On N(+1,1) against a mixture from which a background is
    subtracted with negative weights the log ratio is recovered as well as with positive weights
    (``tests/test_backends.py``).

    References
    ----------
    .. [1] T. Chen and C. Guestrin, "XGBoost: A Scalable Tree Boosting System", KDD 2016,
       arXiv:1603.02754.
    .. [2] K. Cranmer, J. Pavez, G. Louppe, "Approximating Likelihood Ratios with Calibrated
       Discriminative Classifiers", arXiv:1506.02169.
    .. [3] B. Nachman and J. Thaler, "E Pluribus Unum Ex Machina: Learning from Many Collider
       Events at Once", arXiv:2101.07263 (the mlc loss and its likelihood-ratio minimiser).

    Examples
    --------
    >>> import numpy as np
    >>> from sklhep.backends.trees import BDTClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.r_[rng.normal(1, 1, (2000, 1)), rng.normal(-1, 1, (2000, 1))]
    >>> y = np.r_[np.ones(2000), np.zeros(2000)]
    >>> bdt = BDTClassifier(n_estimators=50, random_state=0).fit(X, y)
    >>> g = bdt.decision_function([[0.5]])  # log p/q = 2x = 1
    >>> bool(abs(g[0] - 1.0) < 0.3)
    True
    """

    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=("bce", "mlc"), particle_sets=False, max_features=None,
        signed_weights=True, soft_labels=True,
    )

    def __init__(
        self,
        n_estimators=200,
        max_depth=3,
        learning_rate=0.1,
        subsample=1.0,
        min_child_weight=1.0,
        reg_lambda=1.0,
        loss="bce",
        device="auto",
        patience=None,
        validation_fraction=0.1,
        n_threads=None,
        random_state=None,
        verbose=0,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.loss = loss
        self.device = device
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_threads = n_threads
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.loss != "mlc"
        return tags

    # -- fitting -------------------------------------------------------------------------------

    _parameter_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_depth": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "subsample": [Interval(Real, 0, 1, closed="right")],
        "min_child_weight": [Interval(Real, 0, None, closed="left")],
        "reg_lambda": [Interval(Real, 0, None, closed="left")],
        "loss": [StrOptions({"bce", "mlc"})],
        "device": [str],
        "patience": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_threads": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def fit(self, X, y, sample_weight=None):
        """Grow the trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (two classes for ``loss="mlc"``).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-event weights, of either sign for two classes (NLO events, a background subtracted
            with negative weights); every class needs a positive total. The loss is their
            weighted sum.

        Returns
        -------
        self : BDTClassifier
        """
        self._validate_params()
        X, classes, y_index, weight = check_fit_data(self, X, y, sample_weight)
        if self.loss == "mlc" and classes.size > 2:
            raise ValueError(
                "Only binary classification is supported with loss='mlc' (a two-class loss); y "
                f"has {classes.size} classes {classes.tolist()}. Use loss='bce' for several "
                "classes."
            )
        signed = bool(np.any(weight < 0))
        if signed and classes.size > 2:
            raise ValueError(
                "Negative sample weights are supported for two classes only (they enter a binary "
                f"objective); y has {classes.size} classes {classes.tolist()}."
            )
        return self._boost(X, classes, y_index.astype(float), weight, stratify=y_index)

    def fit_soft(self, X, target, sample_weight=None):
        """Grow the trees on soft labels: each event counts as class 1 with weight ``w t`` and as
        class 0 with weight ``w (1 - t)``.

        Both losses are linear in the label, so this is the fit of every event entered twice
        (once per class) at half the rows; the ``soft_labels`` capability says it is available.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        target : array-like of shape (n_samples,)
            The class-1 share ``t`` of each event, in [0, 1].
        sample_weight : array-like of shape (n_samples,), default=None
            Per-event weights (of either sign); both classes need a positive total.

        Returns
        -------
        self : BDTClassifier
        """
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite=True)
        t = np.asarray(target, dtype=float)
        if t.shape != (X.shape[0],):
            raise ValueError(
                f"target must hold one soft label per event ({X.shape[0]}); got shape {t.shape}."
            )
        if not np.all((t >= 0) & (t <= 1)):
            raise ValueError("target must hold soft labels in [0, 1] (NaN is not one).")
        weight = check_sample_weight(sample_weight, X.shape[0], allow_negative=True)
        classes = np.array([0, 1])
        totals = np.array([np.sum(weight * (1.0 - t)), np.sum(weight * t)])
        if not np.all(totals > 0):
            raise ValueError(
                f"The soft classes carry total weights {totals.tolist()} (class 0, class 1); both "
                "need a positive total."
            )
        return self._boost(X, classes, t, weight, stratify=None)

    def _boost(self, X, classes, label, weight, *, stratify):
        """The boosting shared by :meth:`fit` and :meth:`fit_soft` (``label``: class index or
        soft label, float)."""
        signed = bool(np.any(weight < 0))
        xgb = import_optional("xgboost", purpose="The 'bdt' backend (BDTClassifier)")
        rng = check_random_state(self.random_state)
        # Average 1 per (event, class) term, so a soft label weighs as its two copies would.
        n_terms = np.count_nonzero(weight) if stratify is not None else (
            np.count_nonzero(weight * label) + np.count_nonzero(weight * (1.0 - label)))
        weight = weight * (n_terms / np.abs(weight).sum())

        n_jobs = _n_threads(self.n_threads)
        params = {
            "tree_method": "hist",
            "device": _xgboost_device(self.device, xgb),
            "max_depth": int(self.max_depth),
            "eta": float(self.learning_rate),
            "subsample": float(self.subsample),
            "min_child_weight": float(self.min_child_weight),
            "lambda": float(self.reg_lambda),
            "nthread": n_jobs,
            "seed": int(rng.randint(np.iinfo(np.int32).max)),
            "verbosity": 0,
        }
        evals, self.evals_result_ = [], {}
        train_idx = np.arange(X.shape[0])
        val_idx = None
        if self.patience is not None:
            train_idx, val_idx = train_test_split(
                train_idx, test_size=self.validation_fraction, stratify=stratify, random_state=rng
            )

        obj = custom_metric = None
        if classes.size > 2:
            params.update(objective="multi:softprob", num_class=int(classes.size),
                          eval_metric="mlogloss")
        elif self.loss == "bce" and not signed:
            params.update(objective="binary:logistic", eval_metric="logloss")
        else:
            lt, wt = label[train_idx], weight[train_idx]
            totals = np.array([np.sum(wt * (1.0 - lt)), np.sum(wt * lt)])
            # The best constant of both losses is log(W1/W0); start the boosting there.
            params.update(base_score=float(np.log(totals[1] / totals[0])),
                          disable_default_eval_metric=1)
            if signed:
                # xgboost refuses negative weights, so they travel inside the objective
                obj = _SignedObjective(self.loss, weight[train_idx])
            else:
                obj, custom_metric = _mlc_objective, _mlc_metric

        # With signed weights the DMatrix carries none: the objective and metric hold them.
        def dmatrix(idx):
            return xgb.DMatrix(X[idx], label=label[idx],
                               weight=None if signed else weight[idx], nthread=n_jobs)

        dtrain = dmatrix(train_idx)
        if val_idx is not None:
            dval = dmatrix(val_idx)
            evals = [(dval, "validation")]
            if signed:
                custom_metric = _SignedMetric(self.loss, {id(dval): weight[val_idx],
                                                          id(dtrain): weight[train_idx]})

        callbacks = []
        if self.verbose:
            callbacks.append(_progress_callback(xgb, int(self.n_estimators)))
        try:
            booster = xgb.train(
                params,
                dtrain,
                num_boost_round=int(self.n_estimators),
                evals=evals,
                obj=obj,
                custom_metric=custom_metric if evals else None,
                early_stopping_rounds=self.patience if evals else None,
                evals_result=self.evals_result_ if evals else None,
                verbose_eval=False,
                callbacks=callbacks,
            )
        finally:
            for cb in callbacks:
                cb.close()
        self.booster_ = booster
        self.classes_ = classes
        if evals and getattr(booster, "best_iteration", None) is not None:
            self.n_estimators_ = int(booster.best_iteration) + 1
        else:
            self.n_estimators_ = int(booster.num_boosted_rounds())
        return self

    # -- prediction ----------------------------------------------------------------------------

    def _raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite=True)
        xgb = import_optional("xgboost", purpose="The 'bdt' backend (BDTClassifier)")
        n_jobs = _n_threads(self.n_threads)
        self.booster_.set_param({"nthread": n_jobs})
        margin = self.booster_.predict(
            xgb.DMatrix(X, nthread=n_jobs),
            output_margin=True,
            iteration_range=(0, self.n_estimators_),
        )
        return np.asarray(margin, dtype=np.float64)

    def decision_function(self, X):
        """The raw output ``g(x)``: the log-ratio estimate (two classes) or the class log-odds.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        g : ndarray of shape (n_samples,) or (n_samples, n_classes)
            ``g`` estimates ``log p(x)/q(x)`` of class 1 over class 0 when the classes carry equal
            total weight. With more than two classes, the per-class margins.
        """
        return self._raw(X)



def _grad_hess(loss, predt, y, w):
    """Gradient and a positive Hessian of ``sum_i w_i l(y_i, g_i)`` in ``g``, for signed weights.

    The gradient is exact, ``w dl/dg``, so the signed weights fix the minimiser; the Hessian uses
    ``|w|``, so every Newton step divides by a positive curvature (a negative-weight event adds
    curvature instead of removing it, which slows but never flips a step). For ``bce`` it is
    ``|w| s (1 - s)``, for ``mlc`` the stabilised one of the class Notes.
    """
    if loss == "bce":
        s = expit(predt)
        return w * (s - y), np.abs(w) * np.maximum(s * (1.0 - s), 1e-16)
    # linear in the label, so soft labels (fit_soft) weigh the two class terms
    e = np.exp(np.clip(predt, -_G_CLIP, _G_CLIP))
    grad = w * (-y + (1.0 - y) * e)
    hess = 0.5 * np.abs(w) * (y * np.maximum(1.0, np.sqrt(e)) + (1.0 - y) * e)
    return grad, hess


def _mlc_objective(predt, dtrain):
    """Gradient and (stabilised) Hessian of the weighted mlc loss; see the class Notes."""
    y = dtrain.get_label()
    w = dtrain.get_weight()
    if w.size == 0:
        w = np.ones_like(y)
    return _grad_hess("mlc", predt, y, w)


class _SignedObjective:
    """The objective for signed weights, which xgboost's DMatrix refuses: they are held here."""

    def __init__(self, loss, weight):
        self.loss = loss
        self.weight = weight

    def __call__(self, predt, dtrain):
        return _grad_hess(self.loss, predt, dtrain.get_label(), self.weight)


class _SignedMetric:
    """Signed-weight mean loss for early stopping; weights looked up by DMatrix identity."""

    def __init__(self, loss, weights):
        self.loss = loss
        self.weights = weights

    def __call__(self, predt, dmatrix):
        w = self.weights[id(dmatrix)]
        per_event = loss_per_event(self.loss, dmatrix.get_label(),
                                   np.clip(predt, -_G_CLIP, _G_CLIP))
        return self.loss, float(np.sum(w * per_event) / np.sum(w))


def _mlc_metric(predt, dmatrix):
    """Weighted mean mlc loss, used for early stopping."""
    y = dmatrix.get_label()
    w = dmatrix.get_weight()
    if w.size == 0:
        w = np.ones_like(y)
    per_event = loss_per_event("mlc", y, np.clip(predt, -_G_CLIP, _G_CLIP))
    return "mlc", float(np.sum(w * per_event) / np.sum(w))


def _progress_callback(xgb, total):
    from tqdm.auto import tqdm

    class _Progress(xgb.callback.TrainingCallback):
        def __init__(self):
            super().__init__()
            self.bar = tqdm(total=total, desc="BDT boosting", unit="tree")

        def after_iteration(self, model, epoch, evals_log):
            self.bar.update(1)
            return False

        def close(self):
            self.bar.close()

    return _Progress()


def _n_threads(n_threads):
    """xgboost's thread count: None means 1 (as scikit-learn's n_jobs), negative counts from the
    number of cores (-1 all of them)."""
    if n_threads is None:
        return 1
    if n_threads < 0:
        return max(1, (os.cpu_count() or 1) + 1 + int(n_threads))
    return int(n_threads)


def _xgboost_device(device, xgb):
    """Resolve ``device="auto"``: CUDA when this xgboost has it and the driver sees a GPU."""
    if device != "auto":
        return device
    return "cuda" if _cuda_available(xgb) else "cpu"


def _cuda_available(xgb):
    """Whether xgboost can train on a CUDA device, found without importing torch.

    xgboost must be built with CUDA (``xgboost.build_info()["USE_CUDA"]``) and the CUDA driver
    library must report at least one device.
    """
    try:
        if not xgb.build_info().get("USE_CUDA", False):
            return False
        import ctypes

        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return cuda.cuInit(0) == 0 and cuda.cuDeviceGetCount(ctypes.byref(count)) == 0 and (
            count.value > 0
        )
    except Exception:  # no driver library, no symbol: no usable GPU
        return False
