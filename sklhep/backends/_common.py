"""Input checks shared by the built-in backends (labels, class weights, sample weights)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .._validation import check_sample_weight

__all__ = ["check_fit_data"]


def check_fit_data(estimator, X, y, sample_weight, *, dtype=np.float64):
    """Validate ``X``, ``y`` and ``sample_weight`` for a backend's ``fit``.

    Sets ``n_features_in_`` (and ``feature_names_in_``) on ``estimator`` through
    :func:`sklearn.utils.validation.validate_data`.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    classes : ndarray of shape (n_classes,)
        The sorted distinct labels.
    y_index : ndarray of shape (n_samples,)
        The position of each label in ``classes``.
    weight : ndarray of shape (n_samples,)
        Non-negative sample weights (ones when None).

    Raises
    ------
    ValueError
        For NaN or inf in ``X``, mismatched shapes, a single class, negative weights, or a class
        whose events all have zero weight. Every message names the problem and the value received.
    """
    X, y = validate_data(estimator, X, y, dtype=dtype, ensure_all_finite=True, y_numeric=False)
    check_classification_targets(y)
    classes, y_index = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"y contains only one class ({classes.tolist()}); a classifier needs at least two "
            "classes to learn from."
        )
    weight = check_sample_weight(sample_weight, X.shape[0])
    totals = np.bincount(y_index, weights=weight, minlength=classes.size)
    if np.any(totals <= 0):
        empty = classes[totals <= 0].tolist()
        raise ValueError(
            f"The class(es) {empty} have zero total sample_weight; every class in y needs events "
            "with positive weight (drop the class from y or give its events weight)."
        )
    return X, classes, y_index, weight
