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


# ------------------------------------------------------------------------------------------------
# Expected failures of scikit-learn's estimator checks, one reason per cause, shared by the
# backend tests and tests/test_common.py (the estimators inherit their backend's).
# ------------------------------------------------------------------------------------------------
BDT_WEIGHT_SCALE_REASON = (
    "sample weights are rescaled to mean 1 over the events with non-zero weight, so that "
    "min_child_weight and reg_lambda act in units of events whatever the weight scale an estimator "
    "passes; repeating rows changes that mean, so integer weights reproduce repeated rows only "
    "approximately (checked in test_integer_weights_match_repeated_rows)"
)
HISTOGRAM_TOO_MANY_FEATURES = (
    "the check fits on more than 3 features; a histogram supports at most 3 "
    "(max_features=3) and says so with a ValueError"
)
HISTOGRAM_CHECKS = (
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_sample_weight_equivalence_on_dense_data",
    "check_dtype_object",
)
MLP_XFAIL = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch SGD: weighting an event by 2 is equal to repeating it only in expectation "
        "(batch composition and the validation split differ), not to 1e-7"
    ),
    "check_methods_subset_invariance": (
        "float32 network: matrix products over batches of different sizes can differ by ~1 ulp "
        "(2e-7 seen), above the check's 1e-7 tolerance; whether they do depends on the BLAS "
        "kernels chosen, so the check sometimes passes"
    ),
}
# The one strategy for estimators that take 3-D particle sets: scikit-learn's checks feed 2-D
# feature matrices, which a particle-set backend refuses with a clear ValueError by design. Those
# checks are listed here; the same properties are checked on padded 3-D jets by
# tests/test_common.py::test_particle_set_contract and tests/test_set_nets.py.
TWO_D_REASON = (
    "the estimator takes 3-D particle sets (n_jets, n_particles, n_features); this check feeds "
    "2-D arrays, which are refused with a clear ValueError by design. The same property is tested "
    "on 3-D jets (tests/test_common.py::test_particle_set_contract)"
)
TWO_D_CHECKS = (
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_train",
    "check_decision_proba_consistency",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_sample_weight_equivalence_on_dense_data",
    "check_sample_weights_list",
    "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten",
    "check_sample_weights_shape",
    "check_sample_weights_pandas_series",
    "check_supervised_y_2d",
)


def backend_expected_failures(backend):
    """The expected check failures of a backend (an instance) and their reasons."""
    name = type(backend).__name__
    if name == "BDTClassifier":
        return {"check_sample_weight_equivalence_on_dense_data": BDT_WEIGHT_SCALE_REASON}
    if name == "HistogramClassifier":
        return dict.fromkeys(HISTOGRAM_CHECKS, HISTOGRAM_TOO_MANY_FEATURES)
    if name == "MLPClassifier":
        return dict(MLP_XFAIL)
    if name in ("EFNClassifier", "PFNClassifier"):
        return dict.fromkeys(TWO_D_CHECKS, TWO_D_REASON)
    return {}
