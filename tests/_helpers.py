"""Shared helpers of the ratio/CWoLa tests: backend availability and the ratio-error metric."""

import numpy as np

import sklhep


def backend_available(name):
    """Whether the named sklhep backend can be built here (its module has landed and imports)."""
    try:
        sklhep.get_backend(name)
    except (ImportError, ValueError):
        return False
    return True


def central_ratio_error(estimator, log_ratio, X_p, central=0.98):
    """Median |r_hat/r - 1| over the events of p inside their central ``central`` quantile range."""
    x = X_p[:, 0]
    lo, hi = np.quantile(x, [(1 - central) / 2, (1 + central) / 2])
    inside = X_p[(x > lo) & (x < hi)]
    residual = estimator.predict_log_ratio(inside) - log_ratio(inside)
    return float(np.median(np.abs(np.expm1(residual))))


# Checks of scikit-learn's suite that feed labels other than 0 and 1 ({1, 2} or strings). sklhep's
# ratio and CWoLa estimators refuse them on purpose: the label says which density is the numerator
# (1) and which the denominator (0), and guessing it from arbitrary labels would silently invert the
# ratio for some label sets. Each of these checks is otherwise covered by sklhep's own tests.
LABELS_REASON = (
    "labels must be 0 (denominator) and 1 (numerator); the check feeds labels {1, 2} or strings, "
    "which sklhep refuses on purpose"
)
LABEL_CHECKS = (
    "check_estimators_dtypes",
    "check_sample_weights_not_an_array",
    "check_sample_weights_shape",
    "check_sample_weights_not_overwritten",
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_fit2d_1feature",
)


def expected_failed_checks(estimator):
    failed = dict.fromkeys(LABEL_CHECKS, LABELS_REASON)
    if getattr(estimator, "n_folds", None) is not None:
        failed["check_sample_weight_equivalence_on_dense_data"] = (
            "the k-fold split depends on the number of rows, so repeating an event and doubling "
            "its weight give different folds (and so slightly different fold models)"
        )
    return failed
