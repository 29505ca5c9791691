import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score, roc_curve

from sklhep.metrics import (
    auc_standard_error,
    background_rejection,
    efficiency_curve,
    max_significance_improvement,
    mixed_auc,
    pure_auc_from_mixed,
    significance_improvement,
    triangular_discriminator,
)


@pytest.fixture(scope="module")
def gaussian_scores():
    rng = np.random.default_rng(0)
    n = 200_000
    y = np.r_[np.ones(n), np.zeros(n)].astype(int)
    score = np.r_[rng.normal(1, 1, n), rng.normal(-1, 1, n)]
    return y, score


def test_efficiency_curve_is_the_roc_curve_renamed(gaussian_scores):
    y, s = gaussian_scores
    eps_s, eps_b, thr = efficiency_curve(y[::100], s[::100])
    fpr, tpr, thr2 = roc_curve(y[::100], s[::100], drop_intermediate=False)
    np.testing.assert_array_equal(eps_s, tpr)
    np.testing.assert_array_equal(eps_b, fpr)


@pytest.mark.parametrize("eff", [0.3, 0.5])
def test_background_rejection_matches_the_analytic_value(gaussian_scores, eff):
    y, s = gaussian_scores
    cut = 1 + norm.ppf(1 - eff)  # P(N(1,1) > cut) = eff
    exact = 1 / norm.sf(cut + 1)  # background N(-1,1)
    assert background_rejection(y, s, eff) == pytest.approx(exact, rel=0.06)
    both = background_rejection(y, s, [0.3, 0.5])
    assert both.shape == (2,) and both[0] > both[1]


def test_sic_matches_the_analytic_curve(gaussian_scores):
    y, s = gaussian_scores
    eps_s, sic = significance_improvement(y, s, min_background_efficiency=1e-3)
    cut = 1 + norm.ppf(1 - eps_s)
    exact = eps_s / np.sqrt(norm.sf(cut + 1))
    mid = (eps_s > 0.3) & (eps_s < 0.9)  # eps_B > 0.5%: >= 1000 background events pass
    np.testing.assert_allclose(sic[mid], exact[mid], rtol=0.04)
    grid = np.linspace(0.01, 0.999, 2000)
    best = np.max(grid / np.sqrt(norm.sf(1 + norm.ppf(1 - grid) + 1)))
    assert max_significance_improvement(y, s) == pytest.approx(best, rel=0.05)


def test_mixed_auc_relation_and_inverse():
    assert mixed_auc(0.9, (0.8, 0.2)) == pytest.approx(0.74)
    assert mixed_auc(0.9, (0.2, 0.8)) == pytest.approx(0.26)
    assert pure_auc_from_mixed(mixed_auc(0.83, (0.7, 0.1)), (0.7, 0.1)) == pytest.approx(0.83)
    np.testing.assert_allclose(mixed_auc(np.array([0.5, 1.0]), (1.0, 0.0)), [0.5, 1.0])
    with pytest.raises(ValueError, match="must differ"):
        mixed_auc(0.9, (0.4, 0.4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pure_auc_from_mixed(0.7, (0.4, 1.4))
    # an AUC outside [0, 1] (or NaN) is refused, not carried into a plausible-looking number
    for bad in (1.2, -0.1, np.nan):
        with pytest.raises(ValueError, match="pure_auc must lie in"):
            mixed_auc(bad, (0.8, 0.2))
        with pytest.raises(ValueError, match="mixed must lie in"):
            pure_auc_from_mixed(bad, (0.8, 0.2))
    # with f1 - f2 = 0.6 a mixed AUC can only lie in [0.2, 0.8]: 0.95 would mean a pure AUC 1.25
    with pytest.raises(ValueError, match=r"impossible .* \[0.2, 0.8\]"):
        pure_auc_from_mixed(0.95, (0.8, 0.2))
    assert pure_auc_from_mixed(0.8, (0.8, 0.2)) == pytest.approx(1.0)
    assert pure_auc_from_mixed(0.2, (0.8, 0.2)) == pytest.approx(0.0)


def test_auc_standard_error_matches_repeated_experiments():
    rng = np.random.default_rng(1)
    aucs = []
    for _ in range(300):
        s = np.r_[rng.normal(1, 1, 100), rng.normal(-1, 1, 150)]
        aucs.append(roc_auc_score(np.r_[np.ones(100), np.zeros(150)], s))
    predicted = auc_standard_error(norm.cdf(np.sqrt(2)), 100, 150)
    assert np.std(aucs) == pytest.approx(predicted, rel=0.15)
    with pytest.raises(ValueError, match="auc must lie"):
        auc_standard_error(1.5, 10, 10)


def test_metric_input_errors():
    with pytest.raises(ValueError, match="signal_efficiency"):
        background_rejection([0, 1], [0.1, 0.9], 0.0)
    with pytest.raises(ValueError, match="one value per event"):
        efficiency_curve([0, 1, 1], [0.1, 0.9])
    with pytest.raises(ValueError, match="NaN"):
        efficiency_curve([0, 1], [np.nan, 0.9])
    with pytest.raises(ValueError, match="both labels"):
        efficiency_curve([1, 1], [0.1, 0.9])
    with pytest.raises(ValueError, match="min_background_efficiency"):
        max_significance_improvement([0, 1], [0.1, 0.9], min_background_efficiency=1.0)
    for bad in (-0.1, np.nan, "0.1"):
        with pytest.raises(ValueError, match=r"min_background_efficiency must be .* \[0, 1\)"):
            significance_improvement([0, 1], [0.1, 0.9], min_background_efficiency=bad)
    # no background passes: the rejection is infinite, not a made-up number
    assert np.isposinf(background_rejection([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], 0.5))


def test_triangular_discriminator_values_and_bad_input():
    assert triangular_discriminator([1, 2, 3], [2, 4, 6]) == 0.0  # shapes, not normalisations
    assert triangular_discriminator([1, 0], [0, 1]) == 1.0
    # two bins (1/3, 2/3) vs (2/3, 1/3): 1/2 * 2 * (1/3)^2 / 1 = 1/9
    assert triangular_discriminator([1, 2], [2, 1]) == pytest.approx(1 / 9, rel=1e-12)
    for p, q, match in [([1, 2], [1, 2, 3], "same"), ([], [], "same"),
                        ([1, np.nan], [1, 1], "finite"), ([1, -1], [1, 1], "non-negative"),
                        ([0, 0], [1, 1], "positive sum")]:
        with pytest.raises(ValueError, match=match):
            triangular_discriminator(p, q)
