"""Gradient-boosted decision trees (xgboost) as an sklhep backend: ``backend="bdt"``.

xgboost is imported inside :meth:`BDTClassifier.fit`, so importing this module is light.
"""

from __future__ import annotations

import numbers

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_int, import_optional
from ._base import BackendCapabilities, LogRatioClassifierMixin, check_loss, loss_per_event
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
    device : str, default="cpu"
        Passed to xgboost (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...), so a GPU user trains on the
        GPU by setting ``device="cuda"``.
    early_stopping_rounds : int or None, default=None
        If set, hold out ``validation_fraction`` of the events (stratified) and stop when the
        validation loss has not improved for this many rounds; prediction then uses the best round.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping; ignored when ``early_stopping_rounds`` is None.
    n_jobs : int or None, default=None
        Threads used by xgboost; None means 1 (as in scikit-learn), -1 all cores.
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
        sample_weight=True, losses=("bce", "mlc"), particle_sets=False, max_features=None
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
        device="cpu",
        early_stopping_rounds=None,
        validation_fraction=0.1,
        n_jobs=None,
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
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.loss != "mlc"
        return tags

    # -- fitting -------------------------------------------------------------------------------

    def _check_params(self):
        check_loss(self.loss, self.sklhep_capabilities.losses)
        check_int(self.n_estimators, "n_estimators", 1)
        check_int(self.max_depth, "max_depth", 1)
        _check_real(self.learning_rate, "learning_rate", 0, None, low_open=True)
        _check_real(self.subsample, "subsample", 0, 1, low_open=True)
        _check_real(self.min_child_weight, "min_child_weight", 0, None)
        _check_real(self.reg_lambda, "reg_lambda", 0, None)
        if self.early_stopping_rounds is not None:
            check_int(self.early_stopping_rounds, "early_stopping_rounds", 1)
            _check_real(self.validation_fraction, "validation_fraction", 0, 1, low_open=True,
                        high_open=True)
        if not isinstance(self.device, str):
            raise ValueError(
                f"device must be a string such as 'cpu' or 'cuda'; got {self.device!r}."
            )

    def fit(self, X, y, sample_weight=None):
        """Grow the trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels (two classes for ``loss="mlc"``).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-event weights; the loss is their weighted sum.

        Returns
        -------
        self : BDTClassifier
        """
        self._check_params()
        X, classes, y_index, weight = check_fit_data(self, X, y, sample_weight)
        if self.loss == "mlc" and classes.size > 2:
            raise ValueError(
                "Only binary classification is supported with loss='mlc' (a two-class loss); y "
                f"has {classes.size} classes {classes.tolist()}. Use loss='bce' for several "
                "classes."
            )
        xgb = import_optional("xgboost", purpose="The 'bdt' backend (BDTClassifier)")
        rng = check_random_state(self.random_state)
        weight = weight * (np.count_nonzero(weight) / weight.sum())

        n_jobs = effective_n_jobs(self.n_jobs)
        params = {
            "tree_method": "hist",
            "device": self.device,
            "max_depth": int(self.max_depth),
            "eta": float(self.learning_rate),
            "subsample": float(self.subsample),
            "min_child_weight": float(self.min_child_weight),
            "lambda": float(self.reg_lambda),
            "nthread": n_jobs,
            "seed": int(rng.randint(np.iinfo(np.int32).max)),
            "verbosity": 0,
        }
        obj = custom_metric = None
        if classes.size > 2:
            params.update(objective="multi:softprob", num_class=int(classes.size),
                          eval_metric="mlogloss")
        elif self.loss == "bce":
            params.update(objective="binary:logistic", eval_metric="logloss")
        else:
            totals = np.bincount(y_index, weights=weight, minlength=2)
            # The best constant for the mlc loss is log(W1/W0); start the boosting there.
            params.update(base_score=float(np.log(totals[1] / totals[0])),
                          disable_default_eval_metric=1)
            obj, custom_metric = _mlc_objective, _mlc_metric

        evals, self.evals_result_ = [], {}
        train_idx = np.arange(X.shape[0])
        if self.early_stopping_rounds is not None:
            train_idx, val_idx = train_test_split(
                train_idx, test_size=self.validation_fraction, stratify=y_index, random_state=rng
            )
            dval = xgb.DMatrix(X[val_idx], label=y_index[val_idx], weight=weight[val_idx],
                               nthread=n_jobs)
            evals = [(dval, "validation")]
        dtrain = xgb.DMatrix(X[train_idx], label=y_index[train_idx], weight=weight[train_idx],
                             nthread=n_jobs)

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
                early_stopping_rounds=self.early_stopping_rounds if evals else None,
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
        n_jobs = effective_n_jobs(self.n_jobs)
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



def _mlc_objective(predt, dtrain):
    """Gradient and (stabilised) Hessian of the weighted mlc loss; see the class Notes."""
    y = dtrain.get_label()
    w = dtrain.get_weight()
    if w.size == 0:
        w = np.ones_like(y)
    e = np.exp(np.clip(predt, -_G_CLIP, _G_CLIP))
    grad = w * np.where(y > 0.5, -1.0, e)
    hess = 0.5 * w * np.where(y > 0.5, np.maximum(1.0, np.sqrt(e)), e)
    return grad, hess


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


def _check_real(value, name, low, high, *, low_open=False, high_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            high is None or (value < high if high_open else value <= high)
        )
    if not ok:
        lo = f"{'(' if low_open else '['}{low}"
        hi = f"{high if high is not None else 'inf'}{')' if high_open or high is None else ']'}"
        raise ValueError(f"{name} must be a number in {lo}, {hi}; got {value!r}.")
