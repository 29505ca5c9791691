"""The one cross-fitting mechanism (sklhep._crossfit) and the estimators built on it."""

import functools
import pickle

import numpy as np
import pytest
from _helpers import backend_available
from _linear_backend import LinearLossClassifier
from joblib import parallel_backend
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold
from sklearn.tree import ExtraTreeClassifier

import sklhep._crossfit as crossfit
from sklhep import CWoLaClassifier, LikelihoodRatioEstimator
from sklhep._crossfit import check_folds, cross_fit, fold_seeds
from sklhep.backends import BackendCapabilities
from sklhep.datasets import make_gaussian_mixtures, make_gaussian_pair


class SignedLinearLossClassifier(LinearLossClassifier):
    """The exact linear test backend, declaring that it minimises signed weighted sums."""

    sklhep_capabilities = BackendCapabilities(
        sample_weight=True, losses=("bce", "mlc", "mse", "sqrt"), signed_weights=True
    )


def _fit_logistic(X, y, w, seed):
    return LogisticRegression().fit(X, y, sample_weight=w)


# --- the folds -----------------------------------------------------------------------------------
def test_int_cv_is_a_seeded_shuffled_stratified_split():
    y = np.r_[np.ones(30), np.zeros(70)].astype(int)
    a = check_folds(5, y, random_state=0)
    b = check_folds(5, y, random_state=0)
    c = check_folds(5, y, random_state=1)
    assert len(a) == 5
    for (_, te), (_, te2) in zip(a, b):
        np.testing.assert_array_equal(te, te2)
    assert any(not np.array_equal(te, te2) for (_, te), (_, te2) in zip(a, c))
    tests = np.concatenate([te for _, te in a])
    np.testing.assert_array_equal(np.sort(tests), np.arange(100))  # every event once
    for _, te in a:
        assert np.sum(y[te]) == 6  # stratified: 30 / 5 signal events per fold
    assert not np.array_equal(a[0][1], np.arange(20))  # shuffled, not contiguous blocks


def test_splitters_and_index_lists_are_taken_as_given():
    y = np.tile([0, 1], 10)
    kf = KFold(4)
    given = check_folds(kf, y)
    for (_, te), (_, te2) in zip(given, kf.split(np.zeros(20))):
        np.testing.assert_array_equal(te, te2)
    pairs = [(np.arange(10, 20), np.arange(10)), (np.arange(10), np.arange(10, 20))]
    held_out = [te.tolist() for _, te in check_folds(pairs, y)]
    assert held_out == [list(range(10)), list(range(10, 20))]


def test_group_folds_keep_the_jets_of_one_event_together():
    # Pythia-style dijets: two jets per event share an event id; the mixtures are per jet
    X, y_mix, _, _ = make_gaussian_mixtures(600, fractions=(0.8, 0.2), random_state=0)
    event_id = np.repeat(np.arange(len(y_mix) // 2), 2)
    folds = list(GroupKFold(5).split(X, y_mix, event_id))
    cwola = CWoLaClassifier(LogisticRegression(), cv=folds).fit(X, y_mix)
    cwola_g = CWoLaClassifier(LogisticRegression(), cv=GroupKFold(5)).fit(X, y_mix, groups=event_id)
    for est in (cwola, cwola_g):
        for train, test in est.folds_:
            assert not set(event_id[train]) & set(event_id[test])
        assert np.all(np.isfinite(est.oof_decision_function_))
    np.testing.assert_allclose(cwola.oof_decision_function_, cwola_g.oof_decision_function_)


@pytest.mark.parametrize(
    "cv,match",
    [
        (1, "at least 2 folds"),
        (True, "cv must be"),
        (50, "at least 50 events of each class"),
        ("three", "cv"),
        ([(np.arange(5), np.array([], dtype=int))], "empty"),
        ([(np.arange(5), np.arange(30, 32))], "outside"),
        ([(np.arange(5), np.array([-1, 7]))], "outside"),
        ([(np.arange(2), np.arange(5, 10))] * 2, "more than one fold"),
    ],
)
def test_bad_cv_errors(cv, match):
    with pytest.raises(ValueError, match=match):
        check_folds(cv, np.tile([0, 1], 10))


def test_groups_without_cv_is_an_error():
    X, y, _ = make_gaussian_pair(50, random_state=0)
    with pytest.raises(ValueError, match="groups is used only with cross-fitting"):
        LikelihoodRatioEstimator(LogisticRegression()).fit(X, y, groups=np.arange(100))


# --- the fold loop -------------------------------------------------------------------------------
def test_cross_fit_scores_each_event_with_its_held_out_model():
    X, y, _ = make_gaussian_pair(200, random_state=0)
    folds = check_folds(4, y, random_state=0)
    res = cross_fit(_fit_logistic, X, y, folds=folds, seeds=fold_seeds(0, 4))
    assert len(res.models) == 4 and len(set(res.seeds)) == 4
    for model, (_, test) in zip(res.models, folds):
        np.testing.assert_allclose(res.oof[test], model.decision_function(X[test]))
    # a split that does not hold every event out leaves NaN, never a made-up number
    partial = cross_fit(_fit_logistic, X, y, folds=folds[:2])
    held = np.concatenate([te for _, te in folds[:2]])
    assert np.all(np.isfinite(partial.oof[held]))
    assert np.isnan(partial.oof).sum() == len(y) - len(held)


def test_fold_seeds_come_from_random_state_only():
    assert fold_seeds(3, 4) == fold_seeds(3, 4)
    assert fold_seeds(None, 3) == [None, None, None]
    assert fold_seeds(3, 4) != fold_seeds(4, 4)


@pytest.mark.parametrize(
    "backend", [pytest.param("bdt", marks=pytest.mark.slow), "forest"]
)
def test_results_do_not_depend_on_n_jobs_or_the_joblib_backend(backend):
    # both backends are random (bagging, row subsampling): only per-fold seeds drawn up front
    # make the runs identical
    if backend == "bdt" and not backend_available("bdt"):
        pytest.skip("the bdt backend is not available here")
    bk = (
        ExtraTreeClassifier(max_depth=4)
        if backend == "forest"
        else sklhep_backend("bdt", n_estimators=20, subsample=0.7)
    )
    X, y, _ = make_gaussian_pair(1500, random_state=0)
    fits = []
    for n_jobs, joblib_backend in ((1, "loky"), (2, "loky"), (2, "threading")):
        with parallel_backend(joblib_backend):
            lre = LikelihoodRatioEstimator(bk, cv=3, n_jobs=n_jobs, random_state=7).fit(X, y)
        fits.append(lre)
    for other in fits[1:]:
        np.testing.assert_array_equal(fits[0].oof_decision_function_, other.oof_decision_function_)
        np.testing.assert_array_equal(
            fits[0].decision_function(X[:50]), other.decision_function(X[:50])
        )
        for a, b in zip(fits[0].folds_, other.folds_):
            np.testing.assert_array_equal(a[1], b[1])
    # the fold models differ from each other (each fold its own seed and data)
    g = [e.predict_proba(X[:20])[:, 1] for e in fits[0].estimators_]
    assert not np.allclose(g[0], g[1])


def sklhep_backend(name, **params):
    import sklhep

    return sklhep.get_backend(name, **params)


def test_progress_bar_counts_completed_folds(capsys):
    X, y, _ = make_gaussian_pair(300, random_state=0)
    LikelihoodRatioEstimator(LogisticRegression(), cv=3, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "likelihood-ratio folds" in err and "3/3" in err


def test_cwola_passes_every_setting_to_the_core(monkeypatch):
    seen = {}
    original = crossfit.Parallel

    def recording_parallel(*args, **kwargs):
        seen.update(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(crossfit, "Parallel", recording_parallel)
    X, y_mix, _, _ = make_gaussian_mixtures(3000, fractions=(0.8, 0.2), random_state=1)
    cwola = CWoLaClassifier(
        LogisticRegression(), cv=5, calibration="isotonic", n_jobs=2, clip=4.0, verbose=1,
        random_state=0,
    ).fit(X, y_mix)
    assert seen["n_jobs"] == 2
    assert len(cwola.estimators_) == 5 and len(cwola.folds_) == 5
    assert cwola.calibrator_ is not None
    r = cwola.predict_ratio(np.array([[-30.0], [30.0]]))
    np.testing.assert_allclose(r, [0.25, 4.0])  # clipped to [1/4, 4]
    assert np.all(np.abs(cwola.oof_decision_function_) <= np.log(4.0) + 1e-12)
    again = pickle.loads(pickle.dumps(cwola))
    np.testing.assert_array_equal(again.decision_function(X[:10]), cwola.decision_function(X[:10]))


def test_lre_cv_exposes_out_of_fold_log_ratios_and_averages_fold_models():
    X, y, log_ratio = make_gaussian_pair(20_000, random_state=3)
    lre = LikelihoodRatioEstimator(LinearLossClassifier(), cv=5, random_state=0).fit(X, y)
    assert lre.oof_decision_function_.shape == (len(y),)
    # out of fold, yet close to the truth 2x
    central = np.abs(X[:, 0]) < 2
    oof = lre.oof_decision_function_[central]
    np.testing.assert_allclose(oof, log_ratio(X[central]), atol=0.08)
    probs = np.mean([1 / (1 + np.exp(-e.decision_function(X[:10]))) for e in lre.estimators_], 0)
    np.testing.assert_allclose(lre.decision_function(X[:10]), np.log(probs / (1 - probs)))


# --- labels: scikit-learn's convention ----------------------------------------------------------
@pytest.mark.parametrize(
    "labels",
    [(0, 1), (1, 2), (False, True), ("background", "signal"), (-1, 1), (0.0, 1.0)],
    ids=str,
)
def test_any_two_labels_give_the_same_log_ratio(labels):
    X, y, _ = make_gaussian_pair(3000, random_state=0)
    y_mapped = np.where(y == 1, labels[1], labels[0]) if not isinstance(labels[0], str) else (
        np.array(labels, dtype=object)[y]
    )
    ref = LikelihoodRatioEstimator(LogisticRegression()).fit(X, y)
    lre = LikelihoodRatioEstimator(LogisticRegression()).fit(X, y_mapped)
    assert list(lre.classes_) == sorted(labels)
    np.testing.assert_allclose(lre.decision_function(X[:20]), ref.decision_function(X[:20]))
    assert set(lre.predict(X[:50])) <= set(labels)
    assert lre.score(X, y_mapped) == pytest.approx(ref.score(X, y))
    assert lre.kl_divergence(X, y_mapped) == pytest.approx(ref.kl_divergence(X, y))
    cw = CWoLaClassifier(LogisticRegression(), cv=2, random_state=0).fit(X, y_mapped)
    cw_ref = CWoLaClassifier(LogisticRegression(), cv=2, random_state=0).fit(X, y)
    np.testing.assert_allclose(cw.oof_decision_function_, cw_ref.oof_decision_function_)


def test_unseen_labels_in_scoring_are_an_error():
    X, y, _ = make_gaussian_pair(200, random_state=0)
    lre = LikelihoodRatioEstimator(LogisticRegression()).fit(X, np.where(y == 1, 2, 1))
    with pytest.raises(ValueError, match=r"labels not seen in fit: \[0\]"):
        lre.score(X, y)


# --- signed weights ------------------------------------------------------------------------------
def _subtracted_background(n, seed):
    """p = N(+1, 1); q = N(-1, 1) obtained as (q + background) - background, the background
    N(3, 1) subtracted with negative weights. The exact log ratio is 2x."""
    rng = np.random.default_rng(seed)
    x_p = rng.normal(1, 1, n)
    x_q = rng.normal(-1, 1, n)
    x_b = rng.normal(3, 1, n // 2)  # in the "data" sample with weight +1 ...
    x_b_sub = rng.normal(3, 1, n // 2)  # ... and subtracted by an independent simulation
    X = np.r_[x_p, x_q, x_b, x_b_sub][:, None]
    y = np.r_[np.ones(n), np.zeros(2 * n)].astype(int)
    w = np.r_[np.ones(2 * n + n // 2), -np.ones(n // 2)]
    return X, y, w


def test_signed_weights_recover_the_ratio_of_the_subtracted_density():
    X, y, w = _subtracted_background(40_000, 0)
    lre = LikelihoodRatioEstimator(SignedLinearLossClassifier()).fit(X, y, w)
    grid = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_allclose(lre.predict_log_ratio(grid), 2 * grid[:, 0], atol=0.06)
    # without the subtraction the background would dominate q near x = 3
    unsub = LikelihoodRatioEstimator(SignedLinearLossClassifier()).fit(
        X, y, np.abs(w)
    )
    assert abs(unsub.predict_log_ratio([[2.0]])[0] - 4.0) > 0.5


def test_signed_weights_need_a_backend_that_declares_them_and_positive_class_totals():
    X, y, w = _subtracted_background(1000, 1)
    with pytest.raises(ValueError, match="does not declare signed weights"):
        LikelihoodRatioEstimator(LinearLossClassifier()).fit(X, y, w)
    w_bad = np.where(y == 0, -1.0, 1.0)
    with pytest.raises(ValueError, match=r"class 0 .* total sample_weight of -2000"):
        LikelihoodRatioEstimator(SignedLinearLossClassifier()).fit(X, y, w_bad)


def test_fit_one_is_picklable_for_process_workers():
    fit = functools.partial(crossfit._fit_fold, 0, _fit_logistic, crossfit._decision_function)
    assert pickle.loads(pickle.dumps(fit)).func is crossfit._fit_fold


def test_folds_run_as_tasks_on_a_dask_cluster_with_identical_results():
    distributed = pytest.importorskip("distributed")
    import joblib

    X, y, _ = make_gaussian_pair(400, random_state=0)
    local = LikelihoodRatioEstimator(ExtraTreeClassifier(max_depth=4), cv=4, random_state=3)
    local.fit(X, y)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            remote = LikelihoodRatioEstimator(
                ExtraTreeClassifier(max_depth=4), cv=4, random_state=3, n_jobs=-1
            ).fit(X, y)
        assert len(stream.data) >= 4  # the folds really ran as tasks on the cluster
    np.testing.assert_array_equal(remote.oof_decision_function_, local.oof_decision_function_)
    np.testing.assert_array_equal(remote.decision_function(X), local.decision_function(X))
