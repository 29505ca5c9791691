import numpy as np
import pytest
from _helpers import backend_available
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import sklhep
from sklhep import CWoLaClassifier, LikelihoodRatioEstimator
from sklhep.cwola import check_fractions, signal_ratio_from_mixed
from sklhep.datasets import make_gaussian_mixtures
from sklhep.metrics import auc_standard_error, mixed_auc

FRACTIONS = (0.8, 0.2)
AUC_OPTIMUM = float(norm.cdf(np.sqrt(2.0)))  # N(+1,1) vs N(-1,1): Phi(2 mu / sqrt 2) = 0.9214


@pytest.fixture(scope="module")
def mixtures():
    X, y_mix, y_true, log_ratio = make_gaussian_mixtures(
        50_000, fractions=FRACTIONS, n_features=2, random_state=1
    )
    X_t, y_mix_t, y_true_t, _ = make_gaussian_mixtures(
        50_000, fractions=FRACTIONS, n_features=2, random_state=2
    )
    return X, y_mix, y_true, log_ratio, X_t, y_mix_t, y_true_t


def _backends():
    cases = [LogisticRegression()]
    for name in ("histogram", "bdt"):
        if backend_available(name):
            cases.append(name)
    return cases


@pytest.mark.parametrize("backend", _backends(), ids=str)
def test_cwola_matches_supervised_and_the_optimum(backend):
    n_features = 1 if backend == "histogram" else 2
    X, y_mix, y_true, log_ratio = make_gaussian_mixtures(
        30_000, fractions=FRACTIONS, n_features=n_features, random_state=3
    )
    X_t, _, y_true_t, _ = make_gaussian_mixtures(
        30_000, fractions=(0.5, 0.5), n_features=n_features, random_state=4
    )
    cwola = CWoLaClassifier(backend=backend, random_state=0).fit(X, y_mix)
    supervised = LikelihoodRatioEstimator(backend=backend, random_state=0).fit(X, y_true)
    auc_cwola = roc_auc_score(y_true_t, cwola.decision_function(X_t))
    auc_sup = roc_auc_score(y_true_t, supervised.decision_function(X_t))
    auc_opt = roc_auc_score(y_true_t, log_ratio(X_t))
    assert auc_cwola >= 0.98 * auc_sup
    assert auc_cwola == pytest.approx(auc_opt, abs=0.01)
    if n_features == 1:
        assert auc_opt == pytest.approx(AUC_OPTIMUM, abs=0.01)


def test_mixed_auc_relation_within_statistical_error(mixtures):
    X, y_mix, y_true, log_ratio, X_t, y_mix_t, y_true_t = mixtures
    cwola = CWoLaClassifier(backend=LogisticRegression()).fit(X, y_mix)
    score = cwola.decision_function(X_t)
    pure = roc_auc_score(y_true_t, score)
    mixed = roc_auc_score(y_mix_t, score)
    sigma = auc_standard_error(mixed, np.sum(y_mix_t == 1), np.sum(y_mix_t == 0))
    assert abs(mixed - mixed_auc(pure, FRACTIONS)) < 3 * sigma
    # the same with the exact ratio as the score
    exact = log_ratio(X_t)
    assert abs(roc_auc_score(y_mix_t, exact) - mixed_auc(roc_auc_score(y_true_t, exact),
                                                        FRACTIONS)) < 3 * sigma
    # and a wrong relation (no (f1 - f2) factor) is far outside it
    assert abs(mixed - pure) > 10 * sigma


@pytest.mark.parametrize("backend", ["calibrated", "histogram"])
def test_signal_ratio_matches_the_truth(backend):
    if backend == "histogram" and not backend_available("histogram"):
        pytest.skip("the histogram backend is not available here")
    X, y_mix, _, log_ratio = make_gaussian_mixtures(100_000, fractions=FRACTIONS, random_state=5)
    if backend == "calibrated":
        # a linear classifier ranks correctly; the binned map makes the mixed ratio calibrated
        cwola = CWoLaClassifier(backend=LogisticRegression(), fractions=FRACTIONS,
                                calibration="histogram", random_state=0)
    else:
        cwola = CWoLaClassifier(backend="histogram", fractions=FRACTIONS, random_state=0)
    cwola.fit(X, y_mix)
    # the central region |log L| <= 1; further out the inversion amplifies the statistical error
    # of R (by R/L dL/dR = 3 at L = e^-2 for these fractions)
    x = np.linspace(-0.5, 0.5, 41)[:, None]
    L = cwola.predict_signal_ratio(x)
    rel = np.abs(L / np.exp(log_ratio(x)) - 1)
    # measured: median 2.7% / 1.7%, 90th percentile 8% / 3% (calibrated linear / histogram)
    assert np.median(rel) < 0.06
    assert np.quantile(rel, 0.75) < 0.10
    # a wrong inversion (e.g. taking R for L) is far off
    R = np.exp(cwola.decision_function(x))
    assert np.max(np.abs(R / np.exp(log_ratio(x)) - 1)) > 0.3
    p = cwola.predict_signal_proba(x, signal_fraction=0.5)
    np.testing.assert_allclose(p, L / (1 + L))


def test_signal_ratio_inversion_is_exact():
    L = np.array([0.0, 0.1, 1.0, 3.0, 50.0])
    for f1, f2 in [(0.8, 0.2), (0.3, 0.9), (0.6, 0.0), (1.0, 0.4)]:
        R = (f1 * L + 1 - f1) / (f2 * L + 1 - f2)
        np.testing.assert_allclose(signal_ratio_from_mixed(R, (f1, f2)), L, atol=1e-9)
    # beyond the reachable range: projected to L = 0 and L = inf, never negative
    out = signal_ratio_from_mixed([0.01, 100.0], (0.8, 0.2))
    assert out[0] == 0.0 and np.isposinf(out[1])


def test_cross_fitting_scores_each_event_with_a_model_that_never_saw_it():
    # M1 and M2 are the same density: everything a model learns is a fluctuation
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 2))
    y = np.r_[np.ones(1000), np.zeros(1000)].astype(int)
    tree = DecisionTreeClassifier(min_samples_leaf=1)
    cwola = CWoLaClassifier(backend=tree, cv=5, random_state=0).fit(X, y)
    assert len(cwola.estimators_) == 5
    for est, (train, test) in zip(cwola.estimators_, cwola.folds_):
        assert not set(train) & set(test)
        p1 = est.predict_proba(X[test])[:, 1]
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(np.log(p1) - np.log1p(-p1),
                                       cwola.oof_decision_function_[test])
    # pure leaves give infinite log ratios; only the ranking matters for the AUC
    oof = np.clip(cwola.oof_decision_function_, -1e3, 1e3)
    in_sample = np.clip(cwola.decision_function(X), -1e3, 1e3)
    sigma = auc_standard_error(0.5, 1000, 1000)
    assert abs(roc_auc_score(y, oof) - 0.5) < 3 * sigma
    assert roc_auc_score(y, in_sample) > 0.9  # in-sample: memorised noise


def test_folds_average_and_parallel_runs_agree(mixtures):
    X, y_mix, *_ = mixtures
    X, y_mix = X[:4000], y_mix[:4000]
    a = CWoLaClassifier(LogisticRegression(), cv=3, random_state=0).fit(X, y_mix)
    b = CWoLaClassifier(LogisticRegression(), cv=3, random_state=0, n_jobs=2,
                        verbose=1).fit(X, y_mix)
    np.testing.assert_allclose(a.oof_decision_function_, b.oof_decision_function_)
    np.testing.assert_array_equal(a.oof_decision_function_, b.oof_decision_function_)
    probs = [e.predict_proba(X[:20])[:, 1] for e in a.estimators_]
    np.testing.assert_allclose(a.predict_proba(X[:20])[:, 1], np.mean(probs, axis=0))
    mean = np.mean(probs, axis=0)
    np.testing.assert_allclose(a.decision_function(X[:20]), np.log(mean / (1 - mean)))


def test_pipeline_and_grid_search(mixtures):
    X, y_mix, *_ = mixtures
    pipe = make_pipeline(StandardScaler(), CWoLaClassifier(backend=LogisticRegression()))
    grid = {"cwolaclassifier__backend__C": [1e-6, 1.0]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X[:6000] * 50, y_mix[:6000])
    assert search.best_params_ == {"cwolaclassifier__backend__C": 1.0}


def test_signal_methods_need_fractions():
    cwola = CWoLaClassifier(backend=LogisticRegression())
    assert not hasattr(cwola, "predict_signal_ratio")
    with pytest.raises(AttributeError, match="predict_signal_proba") as info:
        cwola.predict_signal_proba
    assert "fractions=(f1, f2)" in str(info.value.__cause__)  # says how to make it available
    assert hasattr(CWoLaClassifier(fractions=(0.7, 0.2)), "predict_signal_ratio")


X4 = np.arange(8.0).reshape(4, 2)


@pytest.mark.parametrize(
    "kwargs,y,match",
    [
        ({"fractions": (0.5, 0.5)}, [0, 1, 0, 1], "must differ"),
        ({"fractions": (1.2, 0.1)}, [0, 1, 0, 1], r"f1 must lie in \[0, 1\]; got 1.2"),
        ({"fractions": (0.3, -0.1)}, [0, 1, 0, 1], "f2 must lie in"),
        ({"fractions": 0.3}, [0, 1, 0, 1], "pair"),
        ({"cv": 1}, [0, 1, 0, 1], "at least 2 folds"),
        ({"cv": 3}, [0, 1, 0, 1], "at least 3 events of each class"),
        ({}, [1, 1, 1, 1], "one class"),
        ({}, [0, 2, 1, 2], r"mixtures M1 \(classes_\[1\]\) and M2 .* got 3 values \[0, 1, 2\]"),
        ({}, [0, 1, 0], "different numbers of samples"),
        ({"cv": 2}, [0, 1, 0], "different numbers of samples"),
    ],
)
def test_bad_input_errors(kwargs, y, match):
    with pytest.raises(ValueError, match=match):
        CWoLaClassifier(backend=LogisticRegression(), **kwargs).fit(X4, y)


def test_nan_and_fraction_checks():
    X = X4.copy()
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CWoLaClassifier(backend=LogisticRegression()).fit(X, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="NaN"):
        CWoLaClassifier(backend=LogisticRegression(), cv=2).fit(
            np.r_[X, X], [0, 1, 0, 1, 0, 1, 0, 1]
        )
    assert check_fractions([0.9, 0.1]) == (0.9, 0.1)
    cwola = CWoLaClassifier(backend=LogisticRegression(), fractions=(0.8, 0.2))
    cwola.fit(X4, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="signal_fraction"):
        cwola.predict_signal_proba(X4, signal_fraction=2)
    with pytest.raises(ValueError, match="one entry per sample"):
        cwola.fit(X4, [0, 1, 0, 1], sample_weight=[])
    with pytest.raises(ValueError, match="class 0 .* total sample_weight of 0"):
        cwola.score(X4, [0, 1, 0, 1], sample_weight=[0, 1, 0, 1])


@pytest.mark.slow
def test_cwola_on_quark_gluon_jets():
    if not backend_available("bdt"):
        pytest.skip("the bdt backend is not available here")
    from sklhep.datasets import make_mixtures
    from sklhep.preprocessing import JetObservables

    jets, y_mix, y_true = make_mixtures(20_000, fractions=FRACTIONS, random_state=7)
    test_jets, _, y_test = make_mixtures(10_000, fractions=(1.0, 0.0), random_state=8)
    obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd"])
    X, X_test = obs.fit_transform(jets), obs.transform(test_jets)
    bdt = sklhep.get_backend("bdt")
    cwola = CWoLaClassifier(backend=bdt, cv=3, random_state=0).fit(X, y_mix)
    supervised = LikelihoodRatioEstimator(backend=bdt, random_state=0).fit(X, y_true)
    auc_cwola = roc_auc_score(y_test, cwola.decision_function(X_test))
    auc_sup = roc_auc_score(y_test, supervised.decision_function(X_test))
    assert auc_cwola >= 0.98 * auc_sup
    # the relation on the training events, each scored out of fold
    oof = cwola.oof_decision_function_
    mixed, pure = roc_auc_score(y_mix, oof), roc_auc_score(y_true, oof)
    sigma = auc_standard_error(mixed, 20_000, 20_000)
    assert abs(mixed - mixed_auc(pure, FRACTIONS)) < 3 * sigma


def test_particle_set_backend_takes_padded_jets_and_lists():
    pytest.importorskip("torch")
    if not backend_available("efn"):
        pytest.skip("the efn backend is not available here")
    from sklhep.datasets import make_mixtures

    jets, y_mix, y_true = make_mixtures(150, fractions=(0.8, 0.2), random_state=0,
                                        max_particles=40)
    efn = sklhep.get_backend("efn", max_epochs=2, phi_sizes=(8,), f_sizes=(8,))
    cwola = CWoLaClassifier(backend=efn, cv=2, random_state=0).fit(jets, y_mix)
    assert cwola.oof_decision_function_.shape == (300,)
    assert np.all(np.isfinite(cwola.decision_function(jets[:5])))
    lre = LikelihoodRatioEstimator(backend=efn, random_state=0).fit(list(jets), y_true)
    assert lre.predict_ratio(jets[:4]).shape == (4,)  # a padded array after a list: both work
