"""TopicDemixer and the kappa estimators, against toys with analytic reducibility factors.

The accuracy tests run 50 replicas of each toy at 10k events per mixture (the 100k and 1M settings
are marked slow: ``python -m pytest -m slow tests/test_topics.py``).
"""

import warnings

import numpy as np
import pytest

from sklhep.datasets import make_topic_mixtures
from sklhep.topics import (
    KAPPA_METHODS,
    TopicDemixer,
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
from sklhep.topics import _Atoms

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
    for (ca, ra, _, _), (cb, rb, _, _) in zip(a.bins, b.bins):
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
    assert rms <= 0.012, ("anchor", bias, rms)
    if toy == "sep":
        bias, rms = _bias_rms(_errors(bbe_kappa, reps))
        assert bias <= 0.003 and rms <= 0.006, ("bbe", bias, rms)


@pytest.mark.slow
@pytest.mark.parametrize("toy", TOYS)
def test_roc_fit_bias_1m(toy):
    reps = _replicas(toy, 1_000_000, count=N_REPLICAS, seed=2000)
    bias, _ = _bias_rms(_errors(roc_fit_kappa, reps))
    assert bias <= 0.01
