import pickle

import numpy as np
import pytest
from scipy.stats import multivariate_normal, norm

from sklhep.datasets import (
    gaussian_kl_divergence,
    make_exponential_mixtures,
    make_gaussian_mixtures,
    make_gaussian_pair,
    make_gaussian_unfolding,
)


def test_gaussian_pair_and_its_exact_log_ratio():
    X, y, log_ratio = make_gaussian_pair((3000, 1000), mean=(0.5, -0.2), scale=(1.0, 2.0),
                                         n_features=2, random_state=0)
    assert X.shape == (4000, 2) and y.sum() == 3000
    exact = (norm.logpdf(X, 0.5, 1.0) - norm.logpdf(X, -0.2, 2.0)).sum(axis=1)
    np.testing.assert_allclose(log_ratio(X), exact)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), 0.5, atol=0.06)
    np.testing.assert_allclose(X[y == 0].std(axis=0), 2.0, rtol=0.06)
    again = pickle.loads(pickle.dumps(log_ratio))
    np.testing.assert_allclose(again(X[:5]), log_ratio(X[:5]))
    X2, y2, _ = make_gaussian_pair((3000, 1000), mean=(0.5, -0.2), scale=(1.0, 2.0),
                                   n_features=2, random_state=0)
    np.testing.assert_array_equal(X, X2)


def test_kl_formula_matches_monte_carlo():
    X, y, log_ratio = make_gaussian_pair(200_000, mean=(0.3, -0.4), scale=(0.8, 1.3),
                                         random_state=1)
    kl = gaussian_kl_divergence(0.3, 0.8, -0.4, 1.3)
    assert log_ratio(X[y == 1]).mean() == pytest.approx(kl, rel=0.02)
    assert gaussian_kl_divergence(n_features=3) == pytest.approx(6.0)


@pytest.mark.parametrize("maker", [make_gaussian_mixtures, make_exponential_mixtures])
def test_mixtures_have_exactly_the_requested_fractions(maker):
    X, y_mix, y_true, log_ratio = maker((1000, 600), fractions=(0.75, 0.1), random_state=2)
    assert (y_mix == 1).sum() == 1000 and (y_mix == 0).sum() == 600
    assert y_true[y_mix == 1].mean() == 0.75 and y_true[y_mix == 0].mean() == 0.1
    # the exact log ratio separates the hidden classes
    assert log_ratio(X[y_true == 1]).mean() > log_ratio(X[y_true == 0]).mean()


def test_exponential_log_ratio_is_exact():
    X, _, y_true, log_ratio = make_exponential_mixtures(2000, scales=(3.0, 0.5), random_state=3)
    from scipy.stats import expon

    exact = expon.logpdf(X[:, 0], scale=3.0) - expon.logpdf(X[:, 0], scale=0.5)
    np.testing.assert_allclose(log_ratio(X), exact)
    assert X[y_true == 1].mean() == pytest.approx(3.0, rel=0.1)
    assert np.isnan(log_ratio(np.array([[-1.0]]))[0])


def test_unfolding_closure_toy_moments_and_flags():
    d = make_gaussian_unfolding(100_000, efficiency=0.9, fake_rate=0.05, random_state=4)
    t, r = d.nature_truth[d.nature_pass_truth, 0], d.sim_truth[d.sim_pass_truth, 0]
    assert t.mean() == pytest.approx(0.2, abs=0.01) and t.std() == pytest.approx(0.8, rel=0.01)
    assert r.mean() == pytest.approx(0.0, abs=0.01) and r.std() == pytest.approx(1.0, rel=0.01)
    both = d.sim_pass_truth & d.sim_pass_reco
    smear = d.sim_reco[both, 0] - d.sim_truth[both, 0]
    assert smear.std() == pytest.approx(0.5, rel=0.02)
    assert d.sim_pass_reco[d.sim_pass_truth].mean() == pytest.approx(0.9, abs=0.005)
    assert (~d.sim_pass_truth[d.sim_pass_reco]).mean() == pytest.approx(0.05, abs=0.002)
    # failures are flagged and filled, never dropped
    assert np.all(np.isnan(d.sim_reco[~d.sim_pass_reco]))
    assert np.all(np.isnan(d.sim_truth[~d.sim_pass_truth]))
    assert np.all(np.isfinite(d.sim_reco[d.sim_pass_reco]))
    x = np.linspace(-2, 2, 5)[:, None]
    np.testing.assert_allclose(d.truth_log_ratio(x), norm.logpdf(x[:, 0], 0.2, 0.8)
                               - norm.logpdf(x[:, 0], 0, 1))
    np.testing.assert_allclose(
        d.reco_log_ratio(x),
        norm.logpdf(x[:, 0], 0.2, np.hypot(0.8, 0.5)) - norm.logpdf(x[:, 0], 0, np.hypot(1, 0.5)),
    )


def test_multidimensional_unfolding_toy_with_correlation():
    d = make_gaussian_unfolding(50_000, n_features=3, correlation=0.5, random_state=5)
    assert d.nature_truth.shape == (50_000, 3)
    c = np.corrcoef(d.nature_truth.T)
    np.testing.assert_allclose(c[np.triu_indices(3, 1)], 0.5, atol=0.02)
    cov = np.full((3, 3), 0.5 * 0.64)
    np.fill_diagonal(cov, 0.64)
    x = d.nature_truth[:3]
    exact = multivariate_normal([0.2] * 3, cov).logpdf(x) - multivariate_normal(
        [0.0] * 3, np.eye(3)).logpdf(x)
    np.testing.assert_allclose(d.truth_log_ratio(x), exact)


@pytest.mark.parametrize("fake_density", ["simulation", "sample"])
def test_unfolding_toy_fake_density(fake_density):
    """The fakes follow the simulation's detector-level density, or each sample's own one (then
    the purity is 1 - fake_rate at every x in both samples)."""
    d = make_gaussian_unfolding(60_000, efficiency=0.9, fake_rate=0.2, fake_density=fake_density,
                                random_state=2)
    nat_fakes = d.nature_reco[~d.nature_pass_truth, 0]
    sim_fakes = d.sim_reco[~d.sim_pass_truth, 0]
    nat_real = d.nature_reco[d.nature_pass_truth & d.nature_pass_reco, 0]
    assert (~d.nature_pass_truth[d.nature_pass_reco]).mean() == pytest.approx(0.2, abs=0.002)
    assert sim_fakes.mean() == pytest.approx(0.0, abs=0.02)
    assert sim_fakes.std() == pytest.approx(np.hypot(1.0, 0.5), rel=0.02)
    if fake_density == "simulation":
        assert nat_fakes.mean() == pytest.approx(0.0, abs=0.02)
        assert nat_fakes.std() == pytest.approx(np.hypot(1.0, 0.5), rel=0.02)
    else:
        assert nat_fakes.mean() == pytest.approx(nat_real.mean(), abs=0.02)
        assert nat_fakes.std() == pytest.approx(np.hypot(0.8, 0.5), rel=0.02)
        # the same purity in every region of x
        x = d.nature_reco[d.nature_pass_reco, 0]
        fake = ~d.nature_pass_truth[d.nature_pass_reco]
        for lo, hi in ((-3, -1), (-1, 0), (0, 1), (1, 3)):
            inside = (x > lo) & (x < hi)
            assert fake[inside].mean() == pytest.approx(0.2, abs=0.02)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: make_gaussian_pair(0), "positive"),
        (lambda: make_gaussian_pair(10, scale=-1.0), "scale_p must be a positive"),
        (lambda: make_gaussian_pair(10, n_features=0), "n_features"),
        (lambda: make_gaussian_pair(10, n_features=True), "n_features must be an integer >= 1"),
        (lambda: make_gaussian_mixtures(10, fractions=(1.5, 0.2)), r"f1 must lie in \[0, 1\]"),
        (lambda: make_gaussian_mixtures(10, fractions=0.5), "pair"),
        (lambda: make_exponential_mixtures(10, scales=(1.0, 0.0)), "background scale"),
        (lambda: make_gaussian_unfolding(10, efficiency=0.0), "efficiency"),
        (lambda: make_gaussian_unfolding(10, fake_rate=1.0), "fake_rate"),
        (lambda: make_gaussian_unfolding(10, smearing=-0.1), "smearing"),
        (lambda: make_gaussian_unfolding(10, fake_density="nature"), "'simulation' or 'sample'"),
        (lambda: make_gaussian_unfolding(10, n_features=3, correlation=-0.7), "correlation"),
        (lambda: make_gaussian_mixtures(10, mean=np.inf), "mean must be a finite number"),
        (lambda: make_gaussian_unfolding(10, sim_mean=np.nan), "sim_mean must be a finite"),
        (lambda: make_gaussian_unfolding(10, nature_mean=np.inf), "nature_mean must be a finite"),
        (lambda: gaussian_kl_divergence(mean_p=np.nan), "mean_p must be a finite number"),
    ],
)
def test_toy_input_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
