"""Tests of sklhep._histograms: weighted counts and variances, and hist objects built from them."""

import numpy as np
import pytest

from sklhep._histograms import to_hist, weighted_histogram


def test_counts_and_variances_are_sums_of_weights_and_squares():
    values = np.array([0.1, 0.2, 0.6, 0.9, 0.95, 1.0])
    weights = np.array([1.0, 2.0, -0.5, 3.0, 0.25, 4.0])
    counts, variances, edges = weighted_histogram(values, bins=[0.0, 0.5, 1.0], weights=weights)
    np.testing.assert_array_equal(edges, [0.0, 0.5, 1.0])
    # numpy's convention: the last bin includes its right edge
    np.testing.assert_allclose(counts, [3.0, -0.5 + 3.0 + 0.25 + 4.0])
    np.testing.assert_allclose(variances, [1.0 + 4.0, 0.25 + 9.0 + 0.0625 + 16.0])


def test_unweighted_is_numpy_histogram_with_poisson_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    counts, variances, edges = weighted_histogram(x, bins=12)
    ref, ref_edges = np.histogram(x, bins=12)
    np.testing.assert_array_equal(counts, ref)
    np.testing.assert_array_equal(variances, ref)
    np.testing.assert_array_equal(edges, ref_edges)


def test_several_weight_columns_at_once():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=200)
    w = rng.normal(size=(200, 3))
    counts, variances, edges = weighted_histogram(x, bins=5, weights=w)
    assert counts.shape == variances.shape == (3, 5)
    for k in range(3):
        c, v, e = weighted_histogram(x, bins=5, weights=w[:, k])
        np.testing.assert_allclose(counts[k], c)
        np.testing.assert_allclose(variances[k], v)
        np.testing.assert_array_equal(edges, e)


def test_variance_matches_the_spread_of_weighted_counts_over_toys():
    # the sum of squared weights is the variance of a weighted Poisson count: check it on toys
    rng = np.random.default_rng(2)
    edges = np.linspace(0, 1, 5)
    totals, predicted = [], []
    for _ in range(400):
        x = rng.uniform(size=rng.poisson(300))
        w = rng.exponential(2.0, size=len(x))
        c, v, _ = weighted_histogram(x, bins=edges, weights=w)
        totals.append(c)
        predicted.append(v)
    spread = np.var(totals, axis=0, ddof=1)
    # E[sum w^2] = 75 * E[w^2] = 600 per bin; the toy variance agrees within its ~7% error
    np.testing.assert_allclose(spread, np.mean(predicted, axis=0), rtol=0.25)
    np.testing.assert_allclose(np.mean(predicted, axis=0), 600.0, rtol=0.03)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="values must be one-dimensional"):
        weighted_histogram(np.zeros((3, 2)), bins=3)
    with pytest.raises(ValueError, match="values contains NaN or inf"):
        weighted_histogram([0.1, np.nan], bins=3)
    with pytest.raises(ValueError, match=r"weights must have one row per value \(3\)"):
        weighted_histogram([0.1, 0.2, 0.3], bins=3, weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="weights contains NaN or inf"):
        weighted_histogram([0.1, 0.2], bins=3, weights=[1.0, np.inf])


def test_to_hist_has_weighted_storage_with_values_and_variances():
    hist = pytest.importorskip("hist")
    x = np.array([0.1, 0.2, 0.7])
    w = np.array([2.0, -1.0, 0.5])
    counts, variances, edges = weighted_histogram(x, bins=[0.0, 0.5, 1.0], weights=w)
    h = to_hist(edges, counts, variances, name="mass", label="m [GeV]")
    assert isinstance(h, hist.Hist)
    assert h.storage_type is hist.storage.Weight
    np.testing.assert_allclose(h.values(), counts)
    np.testing.assert_allclose(h.variances(), variances)
    np.testing.assert_array_equal(h.axes[0].edges, edges)
    assert h.axes[0].name == "mass" and h.axes[0].label == "m [GeV]"
    # the same as filling a hist directly with the weights
    direct = hist.Hist(hist.axis.Variable(edges, name="mass", label="m [GeV]"),
                       storage=hist.storage.Weight())
    direct.fill(mass=x, weight=w)
    np.testing.assert_allclose(h.values(), direct.values())
    np.testing.assert_allclose(h.variances(), direct.variances())
    # combines with the user's own histograms
    np.testing.assert_allclose((h + direct).values(), 2 * counts)


def test_to_hist_default_axis_and_shape_errors():
    pytest.importorskip("hist")
    h = to_hist([0.0, 1.0, 2.0], [1.0, 2.0], [1.0, 2.0])
    assert h.axes[0].name == "x"
    with pytest.raises(ValueError, match=r"one entry per bin \(2\)"):
        to_hist([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"one entry per bin \(2\)"):
        to_hist([0.0, 1.0, 2.0], [1.0, 2.0], [1.0])


def test_to_hist_without_hist_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "hist", None)
    with pytest.raises(ImportError, match=r'pip install "sklhep\[io\]"'):
        to_hist([0.0, 1.0], [1.0], [1.0])
