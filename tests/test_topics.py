"""TopicDemixer and the kappa estimators, against toys with analytic reducibility factors.

The accuracy tests run 50 replicas of each toy at 10k events per mixture (the 100k and 1M settings
are marked slow: ``python -m pytest -m slow tests/test_topics.py``).
"""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklhep.datasets import make_topic_mixtures
from sklhep.topics import (
    TopicDemixer,
    _Atoms,
    anchor_kappa,
    bbe_kappa,
    fractions_from_kappa,
    kappa_from_fractions,
    kappa_jacobian,
    likelihood_fit_kappa,
    mixtures_from_topics,
    roc_fit_kappa,
    topics_from_mixtures,
)

TOYS = ("sep", "beta", "gauss")
KAPPA = np.array([0.2 / 0.7, 0.3 / 0.8])
N_REPLICAS = 50
ESTIMATORS = {
    "anchor": anchor_kappa,
    "likelihood_fit": likelihood_fit_kappa,
    "roc_fit": roc_fit_kappa,
    "bbe": bbe_kappa,
}


def _replicas(toy, n, count=N_REPLICAS, seed=0):
    """Replicas as pre-sorted events (an estimator given ``_Atoms`` skips the sort)."""
    out = []
    for r in range(count):
        X, y = make_topic_mixtures(n, toy=toy, random_state=seed + r)[:2]
        out.append(_Atoms(X[:, 0], y, None))
    return out


@pytest.fixture(scope="module")
def replicas_10k():
    return {toy: _replicas(toy, 10_000) for toy in TOYS}


def _errors(estimator, replicas, **kw):
    return np.array([estimator(atoms, None, **kw).kappa - KAPPA for atoms in replicas])


def _bias_rms(err):
    return np.abs(err.mean(axis=0)).max(), np.sqrt((err**2).mean(axis=0)).max()


# --------------------------------------------------------------------------------------------------
# the algebra
# --------------------------------------------------------------------------------------------------
def test_round_trip_topics_mixtures_topics_is_exact():
    rng = np.random.default_rng(0)
    for _ in range(20):
        t1, t2 = rng.dirichlet(np.ones(30)), rng.dirichlet(np.ones(30))
        # make them mutually irreducible: each has bins where the other vanishes
        t1[:3], t2[-3:] = 0.0, 0.0
        t1, t2 = t1 / t1.sum(), t2 / t2.sum()
        f1, f2 = np.sort(rng.uniform(0.05, 0.95, 2))[::-1]
        m1, m2 = mixtures_from_topics(t1, t2, (f1, f2))
        kappa = kappa_from_fractions((f1, f2))
        # kappa is the minimum ratio of the mixtures (reached in the pure bins)
        np.testing.assert_allclose([np.min(m1 / m2), np.min(m2 / m1)], kappa, rtol=0, atol=1e-12)
        np.testing.assert_allclose(fractions_from_kappa(kappa), [f1, f2], rtol=0, atol=1e-12)
        r1, r2 = topics_from_mixtures(m1, m2, kappa)
        np.testing.assert_allclose(r1, t1, rtol=0, atol=1e-12)
        np.testing.assert_allclose(r2, t2, rtol=0, atol=1e-12)


def test_jacobian_matches_finite_differences():
    kappa = np.array([0.3, 0.45])
    jac = kappa_jacobian(kappa)
    h = 1e-7
    for j in range(2):
        dk = np.zeros(2)
        dk[j] = h
        num = (fractions_from_kappa(kappa + dk) - fractions_from_kappa(kappa - dk)) / (2 * h)
        np.testing.assert_allclose(jac[2:, j], num, rtol=1e-6)
    np.testing.assert_array_equal(jac[:2], np.eye(2))


def test_algebra_rejects_bad_input():
    with pytest.raises(ValueError, match=r"kappa12 must lie in \[0, 1\)"):
        fractions_from_kappa((1.0, 0.3))
    with pytest.raises(ValueError, match="pair"):
        fractions_from_kappa(0.3)
    with pytest.raises(ValueError, match="f2 < f1"):
        kappa_from_fractions((0.3, 0.8))


def test_toy_truth():
    for toy in TOYS:
        X, y, y_topic, kappa = make_topic_mixtures((3000, 2000), toy=toy, random_state=1)
        assert X.shape == (5000, 1)
        assert y_topic[y == 1].mean() == 0.8 and y_topic[y == 0].mean() == 0.3
        np.testing.assert_allclose(kappa, KAPPA)
    X, _, y_topic, _ = make_topic_mixtures(20000, toy="sep", random_state=0)
    # "sep": pure regions of finite mass
    assert np.all(X[y_topic == 1] <= 0.8) and np.all(X[y_topic == 0] >= 0.2)
    with pytest.raises(ValueError, match="'sep', 'beta', 'gauss'"):
        make_topic_mixtures(10, toy="quark")
    with pytest.raises(ValueError, match="f1 > f2"):
        make_topic_mixtures(10, fractions=(0.3, 0.8))


@pytest.mark.parametrize("name", ESTIMATORS)
def test_swapping_the_mixtures_swaps_kappa(name):
    X, y, _, _ = make_topic_mixtures(5000, toy="beta", random_state=3)
    a = ESTIMATORS[name](X[:, 0], y).kappa
    b = ESTIMATORS[name](X[:, 0], 1 - y).kappa
    np.testing.assert_allclose(b, a[::-1], rtol=0, atol=1e-12)
    fa, fb = fractions_from_kappa(a), fractions_from_kappa(b)
    # topic 1 of the swapped problem is topic 2: f1' = 1 - f2, f2' = 1 - f1
    np.testing.assert_allclose(fb, 1 - fa[::-1], atol=1e-12)


@pytest.mark.parametrize("name", ["anchor", "bbe", "roc_fit"])
@pytest.mark.parametrize(
    "transform", [np.exp, np.arctan, lambda x: -(x**3), lambda x: -np.exp(2 * x)],
    ids=["exp", "arctan", "minus_cube", "minus_exp"],
)
def test_invariance_under_monotone_transforms(name, transform):
    X, y, _, _ = make_topic_mixtures(5000, toy="gauss", random_state=4)
    s = X[:, 0]
    a = ESTIMATORS[name](s, y).kappa
    b = ESTIMATORS[name](transform(s), y).kappa
    np.testing.assert_allclose(b, a, rtol=0, atol=1e-9)


def test_integer_weights_equal_duplicated_events():
    X, y, _, _ = make_topic_mixtures(3000, toy="sep", random_state=5)
    s = X[:, 0]
    w = np.random.default_rng(0).integers(0, 4, size=len(s))
    dup = np.repeat(s, w), np.repeat(y, w)
    # The binned ratio and the ROC curve are exactly those of the duplicated events, so an
    # estimate whose settings do not depend on the event counts is exactly the same.
    pinned = {"n_bins": 12, "min_count": 0, "merge_z": None}
    a = anchor_kappa(s, y, sample_weight=w, **pinned)
    b = anchor_kappa(*dup, **pinned)
    np.testing.assert_allclose(a.kappa, b.kappa, rtol=0, atol=1e-12)
    for (_, ra, _, _), (_, rb, _, _) in zip(a.bins, b.bins):
        np.testing.assert_allclose(ra, rb, rtol=0, atol=1e-12)
    # The statistical guards and errors use effective counts (sum w)^2 / sum w^2 instead: an
    # event of weight 3 is one simulated event whose fluctuation is 3, not three events.
    assert a.kappa_std[0] > b.kappa_std[0]
    # a common scale of the weights changes nothing
    for name, estimator in ESTIMATORS.items():
        a, c = estimator(s, y, sample_weight=w), estimator(s, y, sample_weight=2.5 * w)
        np.testing.assert_allclose(a.kappa, c.kappa, rtol=0, atol=1e-12, err_msg=name)


def test_effective_counts_of_weighted_events():
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(500), np.zeros(300)]
    w = rng.uniform(0.5, 2.0, size=800)
    atoms = _Atoms(rng.normal(size=800), y, w)
    for n, mask in ((atoms.n1, y == 1), (atoms.n2, y == 0)):
        assert n == pytest.approx(w[mask].sum() ** 2 / np.sum(w[mask] ** 2))


# --------------------------------------------------------------------------------------------------
# accuracy on the toys
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("toy", TOYS)
def test_anchor_accuracy_10k(replicas_10k, toy):
    bias, rms = _bias_rms(_errors(anchor_kappa, replicas_10k[toy]))
    assert rms <= 0.035, (bias, rms)


@pytest.mark.parametrize("toy", TOYS)
def test_plain_minimum_is_biased_low_and_the_guard_fixes_it(replicas_10k, toy):
    plain = _errors(anchor_kappa, replicas_10k[toy][:20], n_bins=50, binning="uniform",
                    min_count=0, merge_z=None)
    assert plain.mean(axis=0).max() < -0.02, plain.mean(axis=0)
    guarded = _errors(anchor_kappa, replicas_10k[toy][:20])
    assert np.abs(guarded.mean(axis=0)).max() < 0.025


def test_bbe_accuracy_10k_on_sep(replicas_10k):
    bias, rms = _bias_rms(_errors(bbe_kappa, replicas_10k["sep"]))
    assert bias <= 0.01 and rms <= 0.02, (bias, rms)


@pytest.mark.parametrize("toy", TOYS)
def test_bbe_is_conservative_and_its_bound_holds(replicas_10k, toy):
    res = [bbe_kappa(atoms, None) for atoms in replicas_10k[toy][:20]]
    err = np.array([r.kappa for r in res]) - KAPPA
    assert err.mean(axis=0).min() > -0.005  # never biased low
    covered = np.mean([np.all(r.upper_bound >= KAPPA) for r in res])
    assert covered >= 0.9  # delta = 0.1


@pytest.mark.parametrize("toy", TOYS)
def test_roc_fit_accuracy_10k(replicas_10k, toy):
    bias, rms = _bias_rms(_errors(roc_fit_kappa, replicas_10k[toy]))
    assert bias <= 0.015 and rms <= 0.045, (bias, rms)


@pytest.mark.parametrize("toy", ["beta", "gauss"])
def test_likelihood_fit_accuracy_on_smooth_ratios(replicas_10k, toy):
    bias, rms = _bias_rms(_errors(likelihood_fit_kappa, replicas_10k[toy]))
    assert bias <= 0.015 and rms <= 0.03, (bias, rms)


def test_likelihood_fit_reports_its_misfit_of_a_step():
    X, y, _, _ = make_topic_mixtures(200_000, toy="sep", random_state=7)
    step = likelihood_fit_kappa(X[:, 0], y)
    X, y, _, _ = make_topic_mixtures(200_000, toy="beta", random_state=7)
    smooth = likelihood_fit_kappa(X[:, 0], y)
    assert step.p_value < 1e-6 and step.chi2 / step.ndf > 1.8
    assert smooth.p_value > 0.01


@pytest.mark.parametrize("toy", TOYS)
def test_auto_fractions_follow(replicas_10k, toy):
    err = []
    for r in range(20):
        X, y = make_topic_mixtures(10_000, toy=toy, random_state=r)[:2]
        err.append(TopicDemixer().fit(X, y).fractions_ - [0.8, 0.3])
    err = np.array(err)
    assert np.abs(err.mean(axis=0)).max() < 0.02
    assert np.sqrt((err**2).mean(axis=0)).max() < 0.04


@pytest.mark.slow
@pytest.mark.parametrize("toy", TOYS)
def test_accuracy_100k(toy):
    reps = _replicas(toy, 100_000, seed=1000)
    bias, rms = _bias_rms(_errors(anchor_kappa, reps))
    print(f"{toy} 100k anchor: |bias| {bias:.4f}, RMS {rms:.4f}")
    assert rms <= 0.012, ("anchor", bias, rms)
    if toy == "sep":
        bias, rms = _bias_rms(_errors(bbe_kappa, reps))
        print(f"{toy} 100k bbe: |bias| {bias:.4f}, RMS {rms:.4f}")
        assert bias <= 0.003 and rms <= 0.006, ("bbe", bias, rms)


@pytest.mark.slow
@pytest.mark.parametrize("toy", TOYS)
def test_roc_fit_bias_1m(toy):
    reps = _replicas(toy, 1_000_000, count=N_REPLICAS, seed=2000)
    bias, rms = _bias_rms(_errors(roc_fit_kappa, reps))
    print(f"{toy} 1M roc_fit: |bias| {bias:.4f}, RMS {rms:.4f}")
    assert bias <= 0.01, (bias, rms)


# --------------------------------------------------------------------------------------------------
# TopicDemixer
# --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gauss_2d():
    """Two features, both carrying the topic: N(-1, 1) vs N(+1, 1) in each coordinate."""
    rng = np.random.default_rng(11)
    X1, y, y_topic, _ = make_topic_mixtures(6000, toy="gauss", random_state=11)
    second = np.where(y_topic == 1, rng.normal(-1, 1, len(y)), rng.normal(1, 1, len(y)))
    return np.column_stack([X1[:, 0], second]), y, y_topic


def test_single_observable_accepts_1d_and_one_column():
    X, y, _, _ = make_topic_mixtures(5000, toy="sep", random_state=2)
    a = TopicDemixer().fit(X, y)
    b = TopicDemixer().fit(X[:, 0], y)
    np.testing.assert_array_equal(a.kappa_, b.kappa_)
    assert a.n_features_in_ == 1
    assert not hasattr(a, "oof_decision_function_")


def test_labels_any_two_values_larger_is_m1():
    X, y, _, _ = make_topic_mixtures(5000, toy="sep", random_state=2)
    ref = TopicDemixer().fit(X, y).kappa_
    for labels in ((1, 2), ("gluon-rich", "quark-rich"), (False, True)):
        yy = np.where(y == 1, labels[1], labels[0])
        d = TopicDemixer().fit(X, yy)
        np.testing.assert_array_equal(d.kappa_, ref)
        assert d.classes_[1] == labels[1]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X, y: (np.where(np.arange(len(y)) == 3, np.nan, X[:, 0]), y, None), "NaN"),
        (lambda X, y: (X, np.ones_like(y), None), "one class only"),
        (lambda X, y: (X, y % 3 + (np.arange(len(y)) % 3), None), "two labels"),
        (lambda X, y: (X, y, np.ones(len(y) - 1)), "one entry per sample"),
        (lambda X, y: (X, y, np.where(y == 1, -1.0, 1.0)), "positive total"),
        (lambda X, y: (X, y[:-1], None), "different numbers of samples"),
        (lambda X, y: (np.column_stack([X, X]), y, None), "give a backend"),
        (lambda X, y: (X[:0], y[:0], None), "empty"),
    ],
    ids=["nan", "one_class", "three_mixtures", "weights_length", "negative_total", "y_length",
         "two_features", "empty"],
)
def test_bad_input_errors(make, match):
    X, y, _, _ = make_topic_mixtures(2000, toy="sep", random_state=2)
    X, y, w = make(X, y)
    with pytest.raises(ValueError, match=match):
        TopicDemixer().fit(X, y, sample_weight=w)


@pytest.mark.parametrize(
    "estimator, kwargs, match",
    [
        (anchor_kappa, {"binning": "width"}, "binning"),
        (anchor_kappa, {"min_count": -1}, "min_count"),
        (anchor_kappa, {"merge_z": -0.5}, "merge_z"),
        (anchor_kappa, {"n_bins": 1}, "n_bins"),
        (bbe_kappa, {"delta": 1.5}, "delta"),
        (bbe_kappa, {"selection_delta": 0}, "selection_delta"),
        (roc_fit_kappa, {"window": 0}, "window"),
        (roc_fit_kappa, {"window": 0.2, "n_points": 3, "degree": 4}, "too few"),
        (likelihood_fit_kappa, {"degree": 0}, "degree"),
    ],
)
def test_estimator_parameter_errors(estimator, kwargs, match):
    X, y, _, _ = make_topic_mixtures(2000, toy="sep", random_state=2)
    with pytest.raises(ValueError, match=match):
        estimator(X[:, 0], y, **kwargs)


def test_estimator_input_errors():
    X, y, _, _ = make_topic_mixtures(500, toy="sep", random_state=2)
    s = X[:, 0]
    with pytest.raises(ValueError, match="NaN"):
        anchor_kappa(np.where(np.arange(len(s)) == 0, np.nan, s), y)
    with pytest.raises(ValueError, match="single value"):
        bbe_kappa(np.zeros(len(s)), y)
    with pytest.raises(ValueError, match="one class only"):
        roc_fit_kappa(s, np.zeros(len(s)))
    with pytest.raises(ValueError, match="different numbers"):
        bbe_kappa(s[:-1], y)


def test_bad_parameters_errors():
    X, y, _, _ = make_topic_mixtures(2000, toy="sep", random_state=2)
    with pytest.raises(ValueError, match="'method' parameter.*'anchor'.*Got 'tail'"):
        TopicDemixer(method="tail").fit(X, y)
    with pytest.raises(ValueError, match="n_bootstrap"):
        TopicDemixer(n_bootstrap=-1).fit(X, y)
    with pytest.raises(ValueError, match="out-of-fold|cv"):
        TopicDemixer(backend=LogisticRegression(), cv=None).fit(X, y)


def test_identical_mixtures_raise_and_close_mixtures_warn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000)
    with pytest.raises(ValueError, match="indistinguishable"):
        TopicDemixer().fit(x, rng.integers(0, 2, 20000))
    X, y, _, _ = make_topic_mixtures(100_000, toy="sep", fractions=(0.52, 0.48), random_state=0)
    with pytest.warns(UserWarning, match="amplify"):
        d = TopicDemixer(method="anchor").fit(X, y)
    assert np.max(np.abs(d.diagnostics_["amplification"])) > 3


def test_covariance_and_bootstrap_reproducible_and_independent_of_n_jobs():
    X, y, _, _ = make_topic_mixtures(5000, toy="beta", random_state=3)
    a = TopicDemixer(method="anchor", n_bootstrap=20, random_state=7).fit(X, y)
    with joblib.parallel_config(backend="threading"):  # no worker processes to start
        b = TopicDemixer(method="anchor", n_bootstrap=20, random_state=7, n_jobs=2).fit(X, y)
    c = TopicDemixer(method="anchor", n_bootstrap=20, random_state=8).fit(X, y)
    np.testing.assert_array_equal(a.bootstrap_kappa_, b.bootstrap_kappa_)
    np.testing.assert_array_equal(a.covariance_, b.covariance_)
    assert not np.array_equal(a.bootstrap_kappa_, c.bootstrap_kappa_)
    cov = a.covariance_
    assert cov.shape == (4, 4)
    np.testing.assert_allclose(cov, cov.T)
    assert np.all(np.linalg.eigvalsh(cov) > -1e-12)
    np.testing.assert_allclose(a.fractions_std_, np.sqrt(np.diag(cov))[2:])
    # the bootstrap spread is of the size of the estimator's own statistical error
    boot_sd = a.bootstrap_kappa_.std(axis=0)
    own = a.diagnostics_["result"].kappa_std
    assert np.all((boot_sd > 0.5 * own) & (boot_sd < 2.0 * own))


def test_topic_weights_and_histograms_recover_the_truth():
    X, y, y_topic, _ = make_topic_mixtures(50_000, toy="sep", random_state=4)
    d = TopicDemixer().fit(X, y)
    w = d.topic_weights(X, y)
    np.testing.assert_allclose(w.sum(axis=0), [1.0, 1.0])
    assert np.all(w[y == 0, 0] < 0) and np.all(w[y == 1, 1] < 0)  # signed
    edges = np.linspace(0, 1, 21)
    counts, variances, _ = d.topic_histogram(X[:, 0], y, bins=edges)
    for j, label in enumerate((1, 0)):
        truth = np.histogram(X[y_topic == label, 0], edges)[0] / np.sum(y_topic == label)
        pull = (counts[j] - truth) / np.sqrt(variances[j] + 1e-12)
        assert np.mean(pull**2) < 4.0, pull  # errors include the kappa uncertainty
    # the kappa term makes the errors larger than the bare counting errors
    _, bare, _ = __import__("sklhep._histograms", fromlist=["x"]).weighted_histogram(
        X[:, 0], edges, w
    )
    assert np.all(variances >= bare - 1e-15) and np.any(variances > 1.5 * bare)


def test_topic_histogram_as_hist():
    pytest.importorskip("hist")
    X, y, _, _ = make_topic_mixtures(5000, toy="sep", random_state=4)
    d = TopicDemixer().fit(X, y)
    h1, h2 = d.topic_histogram(X[:, 0], y, bins=10, as_hist=True, name="x")
    counts, variances, _ = d.topic_histogram(X[:, 0], y, bins=10)
    np.testing.assert_allclose(h1.values(), counts[0])
    np.testing.assert_allclose(h2.variances(), variances[1])


def test_predict_topic_proba_matches_the_exact_posterior():
    X, y, _, _ = make_topic_mixtures(100_000, toy="gauss", random_state=5)
    d = TopicDemixer().fit(X, y)
    x = np.linspace(-1.5, 1.5, 7)
    L = np.exp(-2 * x)  # T1/T2 for N(-1, 1) over N(+1, 1)
    for mixture, f in ((1, 0.8), (0, 0.3)):
        p = d.predict_topic_proba(x[:, None], mixture=mixture)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        exact = f * L / (f * L + 1 - f)
        assert np.max(np.abs(p[:, 0] - exact)) < 0.05
    with pytest.raises(ValueError, match="one of the fitted mixtures"):
        d.predict_topic_proba(x[:, None], mixture=3)


def test_classifier_path_uses_out_of_fold_scores(gauss_2d):
    X, y, _ = gauss_2d
    d = TopicDemixer(backend=LogisticRegression(), cv=3, random_state=0).fit(X, y)
    assert d.oof_decision_function_.shape == (len(y),)
    assert d.n_features_in_ == 2
    # two independent Gaussian features: kappa is still (2/7, 3/8)
    assert np.max(np.abs(d.kappa_ - KAPPA)) < 0.05
    assert np.max(np.abs(d.fractions_ - [0.8, 0.3])) < 0.05
    p = d.predict_topic_proba(X[:10])
    assert p.shape == (10, 2)


def test_memorising_classifier_collapses_in_sample_but_not_out_of_fold(gauss_2d):
    X, y, _ = gauss_2d
    forest = RandomForestClassifier(n_estimators=20, min_samples_leaf=1, random_state=0)
    in_sample = forest.fit(X, y).predict_proba(X)[:, 1]
    k_in = anchor_kappa(in_sample, y).kappa
    assert np.all(k_in < 0.05)  # it has memorised: "pure" regions everywhere
    d = TopicDemixer(backend=clone(forest), cv=3, random_state=0).fit(X, y)
    tol = 3 * d.kappa_std_ + 0.01
    assert np.all(d.kappa_ >= KAPPA - tol), (d.kappa_, tol)


def test_pipeline_and_grid_search_over_the_backend(gauss_2d):
    X, y, _ = gauss_2d
    pipe = make_pipeline(StandardScaler(), TopicDemixer(backend=LogisticRegression(), cv=3,
                                                        random_state=0))
    pipe.fit(X, y)
    assert pipe[-1].kappa_.shape == (2,)
    grid = GridSearchCV(
        TopicDemixer(backend=LogisticRegression(), cv=3, random_state=0),
        {"backend__C": [1e-4, 1.0]}, cv=2,
    ).fit(X, y)
    # a strongly regularised logistic regression still ranks the events the same way, so both
    # work; the point is that the backend's parameters are reachable and scored
    assert grid.best_params_["backend__C"] in (1e-4, 1.0)
    assert np.isfinite(grid.best_score_)


# --------------------------------------------------------------------------------------------------
# coverage and jets (slow)
# --------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("toy", TOYS)
def test_coverage_of_the_reported_intervals(toy):
    """68% intervals of the fractions at 10k events per mixture (20k in all), 60 replicas."""
    f_true = np.array([0.8, 0.3])
    covered, bare = [], []
    for r in range(60):
        X, y = make_topic_mixtures(10_000, toy=toy, random_state=5000 + r)[:2]
        d = TopicDemixer(n_bootstrap=30, random_state=r).fit(X, y)
        covered.append(np.abs(d.fractions_ - f_true) <= d.fractions_std_)
        boot_f = np.array([fractions_from_kappa(np.clip(k, 0, 0.99)) for k in d.bootstrap_kappa_])
        bare.append(np.abs(d.fractions_ - f_true) <= boot_f.std(axis=0, ddof=1))
    covered, bare = np.mean(covered, axis=0), np.mean(bare, axis=0)
    print(toy, "coverage with systematic", covered, "bootstrap alone", bare)
    # the reach bias of a finite anchor: the bootstrap alone cannot see it and covers less
    # (measured, f1 / f2: sep 0.72 / 0.67, beta 0.55 / 0.52, gauss 0.58 / 0.63 alone against
    # 0.80 / 0.77, 0.75 / 0.63 and 0.68 / 0.77 with the systematic; with the raw spread across
    # the methods as the systematic, sep over-covered at 0.87 / 0.87)
    assert bare.max() < covered.min(), (bare, covered)
    assert np.all((covered >= 0.55) & (covered <= 0.85)), covered


def test_systematic_is_the_spread_beyond_its_noise():
    from sklearn.utils import Bunch

    from sklhep.topics import _systematic

    rng = np.random.default_rng(0)
    # three methods: the third biased by +0.03 on kappa12, all with noise 0.01 per replica
    bias = np.array([[0.0, 0.0], [0.0, 0.0], [0.03, 0.0]])
    result = Bunch(kappa=KAPPA, methods={
        m: Bunch(kappa=KAPPA + bias[i]) for i, m in enumerate(("anchor", "roc_fit", "bbe"))
    })
    boot = KAPPA + bias + rng.normal(0, 0.01, size=(4000, 3, 2))
    sys, noise = _systematic(result, boot)
    np.testing.assert_allclose(noise, np.sqrt(2 / 3) * 0.01, rtol=0.05)
    # the observed spread here is the bias alone, minus the noise a spread of noise would show
    assert sys[0] == pytest.approx(np.sqrt(np.var([0, 0, 0.03]) - noise[0] ** 2), rel=1e-12)
    assert sys[1] == 0.0
    # without replicas: the whole spread (conservative)
    np.testing.assert_allclose(_systematic(result)[0], [np.std([0, 0, 0.03]), 0.0])
    # one method: the shift under its change of setting, less the shift's own noise
    single = Bunch(kappa=KAPPA, kappa_shift=np.array([0.02, 0.001]))
    shifts = rng.normal(0, 0.005, size=(4000, 2))
    boot = np.stack([KAPPA + 0 * shifts, KAPPA + shifts], axis=1)
    sys, _ = _systematic(single, boot)
    assert sys[0] == pytest.approx(np.sqrt(0.02**2 - 0.005**2), rel=0.02) and sys[1] == 0.0


def test_bootstrap_systematic_shrinks_where_methods_agree():
    X, y, _, _ = make_topic_mixtures(10_000, toy="sep", random_state=9)
    a = TopicDemixer(random_state=0).fit(X, y)
    b = TopicDemixer(n_bootstrap=20, random_state=0).fit(X, y)
    np.testing.assert_array_equal(a.kappa_, b.kappa_)
    np.testing.assert_allclose(a.kappa_systematic_, b.diagnostics_["spread"])
    assert np.all(b.kappa_systematic_ <= b.diagnostics_["spread"])
    assert np.all(b.diagnostics_["spread_noise"] > 0)


def _tv_distance(p, q):
    return 0.5 * float(np.sum(np.abs(p - q)))


def operational_limit(kappa_qg, fractions):
    """The topic fractions of two quark/gluon mixtures when quark and gluon jets themselves are
    reducible, ``kappa(q|g) = a > 0``, ``kappa(g|q) = b > 0``: the best any observable can do.

    The mixtures' ratio is smallest where q/g is, ``kappa12 = (f1 a + 1 - f1)/(f2 a + 1 - f2)``,
    and ``kappa21 = (f2 + (1 - f2) b)/(f1 + (1 - f1) b)``.
    """
    a, b = kappa_qg
    f1, f2 = fractions
    k12 = (f1 * a + 1 - f1) / (f2 * a + 1 - f2)
    k21 = (f2 + (1 - f2) * b) / (f1 + (1 - f1) * b)
    return fractions_from_kappa((k12, k21))


def test_operational_limit():
    # irreducible quarks and gluons: the partonic fractions
    np.testing.assert_allclose(operational_limit((0.0, 0.0), (0.8, 0.3)), [0.8, 0.3])
    # reducible ones: topic 1 is purer than the quarks, so it makes up less of each mixture
    f = operational_limit((0.15, 0.08), (0.8, 0.3))
    assert f[0] < 0.75 and abs(f[1] - 0.3) < 0.02


def _jet_features(jets):
    """Jet observables plus particle counts the multiplicity alone does not see: the charged
    multiplicity and the number of particles above 1, 2, 4, 8 and 16 GeV."""
    from sklhep.preprocessing import JetObservables

    names = ["multiplicity", "mass", "width", "ptd", "e2", "c2", "d2", "tau1", "tau2"]
    F = JetObservables(observables=names).fit_transform(jets)
    pt, pid = jets[..., 0], np.abs(jets[..., 3])
    counts = [np.isin(pid, (211, 321, 2212)).sum(axis=1)]
    counts += [(pt > c).sum(axis=1) for c in (1, 2, 4, 8, 16)]
    return np.column_stack([F, *counts]).astype(float), names


def _weak_classifier():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=500, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=200,
        early_stopping=True, validation_fraction=0.2, n_iter_no_change=30, random_state=0,
    )


def _supervised_kappa(F, y_quark):
    """kappa(q|g), kappa(g|q) of the true quark and gluon jets, from the out-of-fold score of a
    classifier trained on the truth (the reference the topics cannot beat)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    score = cross_val_predict(model, np.column_stack([F, np.log1p(np.abs(F))]), y_quark, cv=3,
                              method="decision_function")
    return anchor_kappa(score, y_quark).kappa


def _compare_topics(fits, f_true, f_limit, label):
    """Errors of each method's fractions against the truth, over independent samples, with the
    bootstrap uncertainty; the weak-supervision minus multiplicity difference and its error."""
    out = {}
    for name in ("multiplicity", "weak"):
        f = np.array([d.fractions_ for d in fits[name]])
        sd = np.array([d.fractions_std_ for d in fits[name]])
        out[name] = dict(f=f.mean(axis=0), se=np.sqrt((sd**2).mean(axis=0) / len(f)),
                         err=np.abs(f - f_true).mean(axis=0))
        print(f"{label} {name}: fractions {out[name]['f'].round(3)} +- "
              f"{out[name]['se'].round(3)} (truth {f_true}, operational limit "
              f"{np.round(f_limit, 3)}), |f - truth| {out[name]['err'].round(3)}")
    diff = out["weak"]["err"] - out["multiplicity"]["err"]
    se = np.sqrt(out["weak"]["se"] ** 2 + out["multiplicity"]["se"] ** 2)
    print(f"{label}: |f - truth| weak minus multiplicity {diff.round(3)} +- {se.round(3)}")
    return out, diff, se


@pytest.mark.slow
def test_jets_weak_supervision_topics_vs_multiplicity_topics():
    """Quark/gluon mixtures of the built-in shower: fractions and topic distributions vs truth.

    Three independent samples of 20k jets per mixture, fractions (0.8, 0.3). Quark and gluon jets
    of the shower are not mutually irreducible, so no topic reaches the partonic fractions: both
    methods are compared with the truth and with the operational limit set by the truth's own
    kappa(q|g), kappa(g|q).
    """
    from sklhep.datasets import make_mixtures

    f_true = np.array([0.8, 0.3])
    fits = {"multiplicity": [], "weak": []}
    limits, tvs = [], {}
    for seed in range(3):
        jets, y, y_quark = make_mixtures(20_000, fractions=tuple(f_true), random_state=seed)
        F, names = _jet_features(jets)
        kqg = _supervised_kappa(F, y_quark)
        limits.append(operational_limit(kqg, f_true))
        print(f"seed {seed}: kappa(q|g), kappa(g|q) = {kqg.round(3)}")
        mult = TopicDemixer(n_bootstrap=20, random_state=seed).fit(F[:, :1], y)
        weak = TopicDemixer(backend=_weak_classifier(), cv=3, n_bootstrap=20,
                            random_state=seed).fit(F, y)
        print(f"seed {seed}: M1-vs-M2 AUC multiplicity {1 - mult.diagnostics_['auc']:.4f}, "
              f"weak supervision {weak.diagnostics_['auc']:.4f}")
        fits["multiplicity"].append(mult)
        fits["weak"].append(weak)
        for j, obs in ((0, "multiplicity"), (1, "mass")):
            edges = np.quantile(F[:, j], np.linspace(0, 1, 16))
            edges = np.unique(edges)
            edges[-1] += 1e-9
            truth = [np.histogram(F[y_quark == t, j], edges)[0] / np.sum(y_quark == t)
                     for t in (1, 0)]
            for label, d in (("multiplicity", mult), ("weak", weak)):
                topics, _, _ = d.topic_histogram(F[:, j], y, bins=edges)
                tvs.setdefault((obs, label), []).append(
                    [_tv_distance(topics[k], truth[k]) for k in range(2)]
                )
    f_limit = np.mean(limits, axis=0)
    out, diff, se = _compare_topics(fits, f_true, f_limit, "shower")
    for (obs, label), tv in tvs.items():
        tv = np.mean(tv, axis=0)
        print(f"{obs}: {label} topics, TV distance to quark, gluon = {tv.round(3)}")
        # measured (mean of 3 samples): 0.06-0.07 for quarks, 0.02-0.03 for gluons; weak
        # supervision's gluon topic is the closer one (0.021 vs 0.033 in multiplicity)
        assert tv.max() < 0.15
    # at least as good as the multiplicity, within the statistical error of the comparison
    # (measured: fractions (0.692, 0.274) +- (0.012, 0.008) against (0.701, 0.298) +- (0.017,
    # 0.016); |f - truth| weak minus multiplicity (0.009, 0.019) +- (0.021, 0.017))
    assert np.all(diff <= 2 * se), (diff, se)
    for name in ("multiplicity", "weak"):
        # the topics find the operational limit (measured (0.705, 0.308); its own estimate carries
        # the reach bias of the supervised anchor), not the partonic quark fraction of M1
        f1 = out[name]["f"][0]
        assert abs(f1 - f_limit[0]) < abs(f1 - f_true[0]), name
        assert f1 < f_true[0] - 3 * out[name]["se"][0]


# Pythia central/forward dijets: generated once into the generator's cache (2000 jets of
# pt 300-450 GeV took 17 minutes on the loaded, shared machine here; 20k would take hours)
PYTHIA_DIJETS = dict(n_jets=2000, process="dijets", pt_min=300.0, pt_max=450.0, random_state=0)


@pytest.mark.slow
@pytest.mark.xfail(
    raises=ValueError, strict=True,
    reason="too few Pythia jets for weak supervision: with 2000 dijet jets (quark fractions 0.53 "
    "forward, 0.39 central) the cross-fitted classifier's M1-vs-M2 AUC is 0.53 (2.5 standard "
    "errors from 1/2: gradient-boosted trees 0.532, logistic regression 0.527), below the "
    "multiplicity's own 0.545, and the guard refuses to demix; the multiplicity topics give "
    "(0.66, 0.55) +- 0.22. Generating the 20k+ jets the comparison needs takes hours here",
)
def test_pythia_dijets_central_forward_topics():
    """The more forward and the more central jet of Pythia dijets as the two mixtures, with
    Pythia's parton flavour (of the nearest hard-process parton) as the truth of the quark
    fractions; weak-supervision and multiplicity topics are compared with it as for the shower.
    """
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from sklhep.datasets import generate_pythia_jets
    from sklhep.preprocessing import JetPreprocessor

    X, quark, central = generate_pythia_jets(**PYTHIA_DIJETS)
    jets = JetPreprocessor(rotate=False, reflect=False, normalize=False).fit_transform(X)
    F, _ = _jet_features(jets)
    y = 1 - central  # M1: the forward jets, richer in quarks (larger x)
    f_true = np.array([quark[y == 1].mean(), quark[y == 0].mean()])
    groups = np.arange(len(y)) // 2  # the two jets of an event stay in one fold
    print(f"pythia: quark fractions forward, central = {f_true.round(3)}")
    assert f_true[0] > f_true[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # close mixtures: a large amplification
        mult = TopicDemixer(n_bootstrap=20, random_state=0).fit(F[:, :1], y)
        print(f"pythia: multiplicity topics {mult.fractions_.round(3)} +- "
              f"{mult.fractions_std_.round(3)}")
        # the multiplicity topics are consistent with the truth within their (large) errors
        assert np.all(np.abs(mult.fractions_ - f_true) <= 2 * mult.fractions_std_)
        weak = TopicDemixer(backend=_weak_classifier(), cv=3, n_bootstrap=20,
                            random_state=0).fit(F, y, groups=groups)
    print(f"pythia: M1-vs-M2 AUC multiplicity {1 - mult.diagnostics_['auc']:.4f}, weak "
          f"supervision {weak.diagnostics_['auc']:.4f}")
    out, diff, se = _compare_topics({"multiplicity": [mult], "weak": [weak]}, f_true,
                                    np.full(2, np.nan), "pythia")
    assert np.all(diff <= 2 * se), (diff, se)
