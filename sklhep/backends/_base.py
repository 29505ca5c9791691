"""The backend contract: capabilities and the losses every backend implements the same way.

A backend is a scikit-learn binary classifier with ``fit(X, y, sample_weight=None)`` and
``predict_proba``. sklhep's estimators (likelihood ratios, CWoLa, topics, OmniFold) drive backends
through this contract only.

The output convention
---------------------
Whatever the loss, a backend's raw output ``g(x)`` is an estimate of the log likelihood ratio
``log p(x)/q(x)`` between class 1 (``p``) and class 0 (``q``) *when the two classes carry equal
total weight*, and ``predict_proba(X)[:, 1] == sigmoid(g(x))``. So ``p/(1-p)`` of the class-1
probability is the ratio for every loss. Backends apply the per-event losses below as plain weighted
sums; balancing the class totals is the estimator's job (it passes sample weights).

Per-event losses, with ``s = sigmoid(g)``:

=======  =============================================  ===========================
name     loss of one event with label y                 minimum (balanced classes)
=======  =============================================  ===========================
bce      ``-[y log s + (1-y) log(1-s)]``                ``s = p/(p+q)``
mlc      ``y (-g) + (1-y) (exp(g) - 1)``                ``exp(g) = p/q``; -min = KL
mse      ``y (1-s)^2 + (1-y) s^2``                      ``s = p/(p+q)``
sqrt     ``y exp(-g/2) + (1-y) exp(g/2)``               ``exp(g) = p/q``
=======  =============================================  ===========================

``mlc`` is the maximum-likelihood-classifier loss ``-<log f>_p + <f - 1>_q`` with ``f = exp(g)``;
``sqrt`` is ``<sqrt((1-s)/s)>_p + <sqrt(s/(1-s))>_q``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, softmax
from sklearn.utils.validation import has_fit_parameter

__all__ = ["LOSSES", "BackendCapabilities", "backend_capabilities", "loss_per_event"]

#: The loss names every sklhep backend understands (each backend supports a subset).
LOSSES = ("bce", "mlc", "mse", "sqrt")


@dataclass(frozen=True)
class BackendCapabilities:
    """What a backend can do; estimators check these and say clearly what is missing.

    Parameters
    ----------
    sample_weight : bool
        ``fit`` accepts ``sample_weight`` and the weights change the fit.
    losses : tuple of str
        Loss names from :data:`LOSSES` the backend can minimise (set through its ``loss`` parameter
        when it has more than one).
    particle_sets : bool
        ``fit`` takes padded particle arrays ``(n_jets, n_particles, n_features)``.
    max_features : int or None
        The largest number of input features supported (e.g. 3 for a histogram), or None.
    signed_weights : bool
        ``fit`` accepts per-event weights of either sign (NLO simulation, background subtracted
        by negative weights) and minimises the signed weighted sum of the per-event losses, as
        long as every class keeps a positive total weight.
    soft_labels : bool
        The backend has ``fit_soft(X, target, sample_weight=None)``: every event counts as class 1
        with weight ``w t`` and as class 0 with weight ``w (1 - t)``, for a target ``t`` in
        [0, 1]. The losses are linear in the label, so this is the fit of each event entered
        twice (once per class) at half the rows; estimators enter the events twice when a backend
        lacks it.
    """

    sample_weight: bool = True
    losses: tuple = ("bce",)
    particle_sets: bool = False
    max_features: int | None = None
    signed_weights: bool = False
    soft_labels: bool = False


def backend_capabilities(estimator):
    """The :class:`BackendCapabilities` of a backend instance or class.

    sklhep backends declare them in a ``sklhep_capabilities`` class attribute; for any other
    scikit-learn classifier they are inferred: sample weights if ``fit`` takes them, the ``bce``
    loss (a probabilistic classifier minimises a proper score), flat feature vectors.
    """
    caps = getattr(estimator, "sklhep_capabilities", None)
    if isinstance(caps, BackendCapabilities):
        return caps
    return BackendCapabilities(
        sample_weight=has_fit_parameter(estimator, "sample_weight"),
        losses=("bce",),
        particle_sets=False,
        max_features=None,
    )


def check_loss(loss, supported=LOSSES):
    """Validate a loss name against ``supported``; the error lists the valid names."""
    if loss not in supported:
        raise ValueError(
            f"Unknown or unsupported loss {loss!r}; this backend supports: {', '.join(supported)}."
        )
    return loss


def loss_per_event(loss, y, g):
    """Reference numpy implementation of the per-event losses (see the module docstring).

    Parameters
    ----------
    loss : {"bce", "mlc", "mse", "sqrt"}
    y : array-like of shape (n,)
        Labels in {0, 1} (or soft labels in [0, 1]).
    g : array-like of shape (n,)
        Raw outputs (log-ratio scale).

    Returns
    -------
    loss : ndarray of shape (n,)
    """
    check_loss(loss)
    y = np.asarray(y, dtype=float)
    g = np.asarray(g, dtype=float)
    if loss == "bce":
        return y * np.logaddexp(0.0, -g) + (1 - y) * np.logaddexp(0.0, g)
    if loss == "mlc":
        return y * (-g) + (1 - y) * np.expm1(g)
    if loss == "mse":
        s = 1.0 / (1.0 + np.exp(-g))
        return y * (1 - s) ** 2 + (1 - y) * s**2
    return y * np.exp(-g / 2) + (1 - y) * np.exp(g / 2)


def proba_from_log_ratio(g):
    """Class probabilities from raw outputs, following the output convention.

    Parameters
    ----------
    g : array-like of shape (n_samples,) or (n_samples, n_classes)
        Log ratios of class 1 over class 0 (1-D), or per-class margins (2-D).

    Returns
    -------
    proba : ndarray of shape (n_samples, 2) or (n_samples, n_classes)
        ``[1 - sigmoid(g), sigmoid(g)]`` for 1-D ``g``; the softmax over the columns for 2-D ``g``.
    """
    g = np.asarray(g, dtype=float)
    if g.ndim == 2:
        return softmax(g, axis=1)
    p1 = expit(g)
    return np.column_stack([1.0 - p1, p1])


def labels_from_log_ratio(classes, g):
    """The more probable class: ``classes[1]`` where ``g > 0`` (1-D), else the largest margin (2-D).

    A log ratio of exactly 0 (or NaN) gives ``classes[0]``, as ``argmax`` of equal probabilities
    would.
    """
    g = np.asarray(g)
    index = np.argmax(g, axis=1) if g.ndim == 2 else (g > 0).astype(int)
    return classes[index]


class LogRatioClassifierMixin:
    """``predict_proba`` and ``predict`` derived from a log-ratio ``decision_function``.

    For estimators and backends whose ``decision_function(X)`` returns ``g = log p(x)/q(x)`` of
    class 1 over class 0 (or per-class margins with more classes); put it before
    :class:`~sklearn.base.ClassifierMixin` in the bases.
    """

    def predict_proba(self, X):
        """Class probabilities for equal class priors: ``[1/(1+r), r/(1+r)]`` with ``r = exp(g)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Column 1 is ``sigmoid(decision_function(X))`` for two classes; with more classes
            (backends only), the softmax of the per-class margins.
        """
        return proba_from_log_ratio(self.decision_function(X))

    def predict(self, X):
        """The more probable class: ``classes_[1]`` where ``decision_function(X) > 0``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        g = self.decision_function(X)  # first: it raises NotFittedError before fit
        return labels_from_log_ratio(self.classes_, g)
