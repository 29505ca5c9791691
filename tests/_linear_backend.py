"""A minimal backend that follows the sklhep backend contract with every loss.

A linear model ``g(x) = w.x + b`` fitted by minimising the weighted sum of the reference per-event
losses (:func:`sklhep.backends.loss_per_event`). For two Gaussians of equal width the true log ratio
is linear, so this backend can represent it exactly: the tests use it to check the likelihood-ratio
algebra of the estimators independently of any learning machine's approximation error.
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from sklhep.backends import BackendCapabilities, loss_per_event


def _gradient(loss, y, g):
    if loss == "bce":
        return expit(g) - y
    if loss == "mlc":
        return -y + (1 - y) * np.exp(g)
    if loss == "mse":
        s = expit(g)
        return 2 * s * (1 - s) * (s - y)
    return -0.5 * y * np.exp(-g / 2) + 0.5 * (1 - y) * np.exp(g / 2)


class LinearLossClassifier(ClassifierMixin, BaseEstimator):
    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=("bce", "mlc", "mse", "sqrt")
    )

    def __init__(self, loss="bce", alpha=0.0):
        self.loss = loss
        self.alpha = alpha

    def fit(self, X, y, sample_weight=None):
        X, y = validate_data(self, X, y)
        self.classes_ = np.array([0, 1])
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        Z = np.column_stack([X, np.ones(len(X))])
        total = w.sum()

        def fun(theta):
            g = Z @ theta
            value = np.sum(w * loss_per_event(self.loss, y, g)) / total
            grad = Z.T @ (w * _gradient(self.loss, y, g)) / total
            return value + self.alpha * theta[:-1] @ theta[:-1], grad + np.r_[
                2 * self.alpha * theta[:-1], 0.0
            ]

        res = minimize(fun, np.zeros(Z.shape[1]), jac=True, method="L-BFGS-B")
        self.coef_, self.intercept_ = res.x[:-1], res.x[-1]
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_

    def predict_proba(self, X):
        p = expit(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X):
        return (self.decision_function(X) > 0).astype(int)
