import numpy as np
import pytest
from scipy import integrate
from sklearn.metrics import roc_auc_score

from sklhep.datasets import make_jets, make_mixtures
from sklhep.datasets.shower import CA, CF, NF, TR, alphas


def _mult(X):
    return (X[..., 0] > 0).sum(axis=1)


def _width(X):
    pt = X[..., 0]
    return (pt * np.hypot(X[..., 1], X[..., 2])).sum(axis=1) / pt.sum(axis=1)


@pytest.fixture(scope="module", params=["soft", "full"])
def qg(request):
    Xq, yq = make_jets(3000, "quark", random_state=1, splitting=request.param)
    Xg, yg = make_jets(3000, "gluon", random_state=2, splitting=request.param)
    return Xq, yq, Xg, yg


def test_format_and_labels(qg):
    Xq, yq, Xg, yg = qg
    assert Xq.ndim == 3 and Xq.shape[0] == 3000 and Xq.shape[2] == 4
    assert np.all(yq == 1) and np.all(yg == 0)
    for X in (Xq, Xg):
        pt = X[..., 0]
        assert np.all(np.diff(pt, axis=1) <= 0), "particles must be sorted by decreasing pt"
        pad = pt == 0
        assert np.all(X[pad] == 0), "padding rows must be all zero"
        assert _mult(X).max() == X.shape[1], "no all-padding column"
        assert np.all(np.hypot(X[..., 1], X[..., 2]) < 0.4), "all particles inside R"
        pids = set(np.unique(X[..., 3][~pad]).astype(int))
        assert pids <= {22, 130, 211, -211, 321, -321, 2212, -2212, 2112, -2112}
        assert {22, 211, -211} <= pids


def test_total_pt_is_jet_pt(qg):
    Xq, _, Xg, _ = qg
    for X in (Xq, Xg):
        np.testing.assert_allclose(X[..., 0].sum(axis=1), 500.0, rtol=1e-10)


def test_pt_range_and_axis():
    X, _ = make_jets(500, "gluon", pt=(100.0, 200.0), R=0.8, random_state=0)
    total = X[..., 0].sum(axis=1)
    assert total.min() >= 100.0 and total.max() <= 200.0 and total.std() > 20
    assert np.hypot(X[..., 1], X[..., 2]).max() < 0.8
    # The pt-weighted centroid is the axis (0, 0) up to hadronisation kicks.
    pt = X[..., 0]
    cy = (pt * X[..., 1]).sum(axis=1) / total
    assert np.abs(cy).mean() < 0.01


def test_gluon_quark_multiplicity_ratio(qg):
    Xq, _, Xg, _ = qg
    ratio = _mult(Xg).mean() / _mult(Xq).mean()
    assert 1.3 <= ratio <= 2.25
    # Realistic soft multiplicity for 500 GeV, R=0.4 jets: tens of particles.
    assert 20 <= _mult(Xq).mean() <= 60


def test_multiplicity_auc(qg):
    Xq, yq, Xg, yg = qg
    auc = roc_auc_score(np.r_[yq, yg], -np.r_[_mult(Xq), _mult(Xg)])
    assert 0.65 <= auc <= 0.9


def test_gluon_jets_are_wider(qg):
    Xq, _, Xg, _ = qg
    assert _width(Xg).mean() > 1.3 * _width(Xq).mean()


def test_charge_roughly_conserved(qg):
    Xq, _, Xg, _ = qg

    def charge(X):
        pid = X[..., 3]
        pos = np.isin(pid, (211, 321, 2212)).sum(axis=1)
        return pos - np.isin(pid, (-211, -321, -2212)).sum(axis=1)

    assert np.all(charge(Xg) == 0)
    assert np.all(np.abs(charge(Xq)) <= 1)


def _no_emission_probability(casimir_or_full, pt, R, kt_cut, flavor):
    """exp(-Sudakov exponent) for no resolvable emission of the initiator, by quadrature."""

    def density(z, lth):
        theta = np.exp(lth)
        a = alphas(z * pt * theta) / np.pi
        if casimir_or_full == "soft":
            return a * 2 * (CF if flavor == "quark" else CA) / z
        if flavor == "quark":
            return a * CF * (1 + (1 - z) ** 2) / z
        p_gg = 2 * CA * (z / (1 - z) + (1 - z) / z + z * (1 - z))
        return a * (p_gg + 2 * NF * TR * (z * z + (1 - z) ** 2))

    zhi = 0.5 if (casimir_or_full == "full" and flavor == "gluon") else 1.0
    lo = np.log(kt_cut / (pt * zhi))
    exponent, _ = integrate.dblquad(
        density, lo, np.log(R), lambda lth: kt_cut / (pt * np.exp(lth)), lambda lth: zhi
    )
    return np.exp(-exponent)


@pytest.mark.parametrize("splitting", ["soft", "full"])
@pytest.mark.parametrize("flavor", ["quark", "gluon"])
def test_sudakov_no_emission_probability(splitting, flavor):
    # At parton level the fraction of jets that never emit is the Sudakov factor, which depends on
    # the colour factor, the running coupling and the splitting function: a wrong one fails this.
    n, pt, R, kt_cut = 20000, 20.0, 0.4, 1.0
    X, _ = make_jets(n, flavor, pt=pt, R=R, kt_cut=kt_cut, splitting=splitting,
                     hadronize=False, random_state=3)
    observed = np.mean(_mult(X) == 1)
    expected = _no_emission_probability(splitting, pt, R, kt_cut, flavor)
    sigma = np.sqrt(expected * (1 - expected) / n)
    assert abs(observed - expected) < 4 * sigma + 1e-3, (observed, expected)


def test_partons_pid_codes():
    X, _ = make_jets(200, "gluon", hadronize=False, splitting="full", random_state=0)
    pids = set(np.unique(X[..., 3][X[..., 0] > 0]).astype(int))
    assert 21 in pids and pids <= {21, 1, -1, 2, -2, 3, -3}


def test_reproducible_with_random_state():
    a, _ = make_jets(50, "quark", random_state=7)
    b, _ = make_jets(50, "quark", random_state=7)
    c, _ = make_jets(50, "quark", random_state=8)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    rs = np.random.RandomState(0)
    d, _ = make_jets(10, "quark", random_state=rs)
    e, _ = make_jets(10, "quark", random_state=rs)
    assert d.shape != e.shape or not np.array_equal(d, e)


def test_both_flavors_and_max_particles():
    X, y = make_jets(400, "both", random_state=0)
    assert set(np.unique(y)) == {0, 1}
    assert _mult(X[y == 0]).mean() > _mult(X[y == 1]).mean()
    Xs, _ = make_jets(50, "gluon", random_state=0, max_particles=10)
    assert Xs.shape == (50, 10, 4)
    Xf, _ = make_jets(50, "gluon", random_state=0)
    np.testing.assert_array_equal(Xs, Xf[:, :10])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_jets": 0}, "n_jets must be a positive integer"),
        ({"n_jets": 2.5}, "n_jets must be a positive integer"),
        ({"flavor": "charm"}, "'quark', 'gluon' or 'both'; got 'charm'"),
        ({"pt": -5.0}, "pt must be positive"),
        ({"pt": (600.0, 500.0)}, "pt_min <= pt_max"),
        ({"pt": np.nan}, "pt must be positive"),
        ({"R": 0.0}, "R must be a jet radius"),
        ({"splitting": "exact"}, "'soft' or 'full'; got 'exact'"),
        ({"kt_cut": 0.1}, "kt_cut must be above"),
        ({"pt": 2.0}, "pt \\* R must exceed kt_cut"),
        ({"max_particles": 0}, "max_particles"),
        ({"alphas_mz": 0.5}, "alphas_mz"),
    ],
)
def test_bad_parameters(kwargs, match):
    params = {"n_jets": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_jets(**params)


def test_make_mixtures():
    X, y_mix, y_true = make_mixtures((300, 200), fractions=(0.75, 0.2), random_state=0)
    assert X.shape[0] == 500 and y_mix.shape == y_true.shape == (500,)
    assert y_mix.sum() == 300
    assert y_true[y_mix == 1].mean() == 0.75 and y_true[y_mix == 0].mean() == 0.2
    assert not np.all(y_mix[:300] == 1), "shuffled by default"
    np.testing.assert_allclose(X[..., 0].sum(axis=1), 500.0)
    # The hidden truth is the real flavour: quark jets have fewer particles.
    assert _mult(X[y_true == 1]).mean() < _mult(X[y_true == 0]).mean()
    X2, m2, t2 = make_mixtures(10, fractions=(1.0, 0.0), random_state=1, shuffle=False)
    np.testing.assert_array_equal(m2, [1] * 10 + [0] * 10)
    np.testing.assert_array_equal(t2, m2)
    X3, m3, t3 = make_mixtures(10, fractions=(1.0, 0.0), random_state=1, shuffle=False)
    np.testing.assert_array_equal(X2, X3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"n": (10, 5, 3)}, "n must be a positive integer"),
        ({"fractions": (0.5, 1.5)}, r"quark fraction f2 must lie in \[0, 1\]; got 1.5"),
        ({"fractions": 0.5}, r"fractions must be a pair \(f1, f2\) of the quark fractions"),
        ({"fractions": (0.5,)}, "fractions must be a pair"),
    ],
)
def test_make_mixtures_bad_parameters(kwargs, match):
    params = {"n": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_mixtures(**params)
