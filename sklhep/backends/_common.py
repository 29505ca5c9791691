"""Input checks shared by the built-in backends (labels, class weights, sample weights)."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from .._validation import check_sample_weight

__all__ = ["check_class_totals", "check_fit_data"]


def check_class_totals(classes, y_index, weight):
    """Refuse a class whose summed sample weight is not positive; return the class totals.

    With signed weights (``BackendCapabilities.signed_weights``) single events may carry negative
    weight, but every class must keep a positive total: it is the normalisation of that class's
    density.

    Parameters
    ----------
    classes : ndarray of shape (n_classes,)
    y_index : ndarray of shape (n_samples,)
        The position of each event's label in ``classes``.
    weight : ndarray of shape (n_samples,)

    Returns
    -------
    totals : ndarray of shape (n_classes,)
    """
    totals = np.bincount(y_index, weights=weight, minlength=len(classes))
    bad = totals <= 0
    if np.any(bad):
        bad_classes = np.asarray(classes)[bad].tolist()
        listing = ", ".join(f"{c!r} (sum {t:g})" for c, t in zip(bad_classes, totals[bad]))
        if np.any(weight < 0):
            raise ValueError(
                f"The class(es) {listing} have a total sample_weight <= 0. Single events may carry "
                "negative weight, but every class needs a positive total (e.g. subtract less "
                "background than the mixture holds)."
            )
        raise ValueError(
            f"The class(es) {listing} have zero total sample_weight; every class in y needs events "
            "with positive weight (drop the class from y or give its events weight)."
        )
    return totals


def check_fit_data(estimator, X, y, sample_weight, *, dtype=np.float64, signed=True):
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
        Sample weights (ones when None); of either sign when ``signed``.

    Raises
    ------
    ValueError
        For NaN or inf in ``X``, mismatched shapes, a single class, NaN or inf weights, negative
        weights when not ``signed``, or a class whose total weight is not positive. Every message
        names the problem and the value received.
    """
    X, y = validate_data(estimator, X, y, dtype=dtype, ensure_all_finite=True, y_numeric=False)
    check_classification_targets(y)
    classes, y_index = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise ValueError(
            f"y contains only one class ({classes.tolist()}); a classifier needs at least two "
            "classes to learn from."
        )
    weight = check_sample_weight(sample_weight, X.shape[0], allow_negative=signed)
    check_class_totals(classes, y_index, weight)
    return X, classes, y_index, weight
