import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks as ec

from sklhep.datasets import DetectorSmearing, make_jets

PIDS = {"charged": 211.0, "photon": 22.0, "neutral hadron": 130.0}


def _single_particle_jets(n, pt, pid, y=0.0):
    X = np.zeros((n, 1, 4))
    X[:, 0] = [pt, y, 0.0, pid]
    return X


def _perfect(**kw):
    params = dict(efficiency=(1, 1, 1), stochastic=(0, 0, 0), constant=(0, 0, 0),
                  angular=(0, 0, 0), pt_threshold=0.0, random_state=0)
    params.update(kw)
    return DetectorSmearing(**params)


def test_perfect_detector_is_identity():
    X, _ = make_jets(50, "gluon", random_state=0)
    np.testing.assert_array_equal(_perfect().fit_transform(X), X)


@pytest.mark.parametrize("i, kind", list(enumerate(PIDS)))
def test_efficiency_per_category(i, kind):
    eff = [1.0, 1.0, 1.0]
    eff[i] = 0.7
    n = 20000
    X = _single_particle_jets(n, 10.0, PIDS[kind])
    X_det, passed = _perfect(efficiency=tuple(eff), min_particles=1).fit(X).smear(X)
    found = (X_det[..., 0] > 0).sum(axis=1)
    assert X_det.shape[0] == n
    assert abs(found.mean() - 0.7) < 4 * np.sqrt(0.21 / n)
    np.testing.assert_array_equal(passed, found == 1)
    # Other categories are untouched.
    other = PIDS[list(PIDS)[(i + 1) % 3]]
    untouched = _perfect(efficiency=tuple(eff)).fit_transform(_single_particle_jets(10, 10, other))
    assert np.all(untouched[..., 0] == 10)


@pytest.mark.parametrize("i, kind", list(enumerate(PIDS)))
@pytest.mark.parametrize("pt", [4.0, 100.0])
def test_resolution_stochastic_and_constant(i, kind, pt):
    stoch, const = [0.0] * 3, [0.0] * 3
    stoch[i], const[i] = 0.5, 0.05
    n, y = 20000, 0.5
    X = _single_particle_jets(n, pt, PIDS[kind], y=y)
    det = _perfect(stochastic=tuple(stoch), constant=tuple(const))
    ratio = det.fit_transform(X)[:, 0, 0] / pt
    expected = np.hypot(0.5 / np.sqrt(pt * np.cosh(y)), 0.05)
    assert abs(ratio.mean() - 1.0) < 4 * expected / np.sqrt(n)
    assert abs(ratio.std() / expected - 1.0) < 0.03


def test_angular_smearing_and_threshold():
    n = 20000
    X = _single_particle_jets(n, 10.0, 130.0)
    out = _perfect(angular=(0.0, 0.0, 0.03)).fit_transform(X)
    assert abs(out[:, 0, 1].std() / 0.03 - 1) < 0.03 and abs(out[:, 0, 2].std() / 0.03 - 1) < 0.03
    Xj, _ = make_jets(200, "gluon", random_state=1)
    det = DetectorSmearing(pt_threshold=1.0, random_state=0).fit(Xj)
    pt = det.transform(Xj)[..., 0]
    assert pt[pt > 0].min() > 1.0


def test_event_correspondence_and_selection_flags():
    X, _ = make_jets(300, "quark", random_state=2)
    X = np.concatenate([X, np.zeros((2, X.shape[1], 4))])  # two empty jets at the end
    det = DetectorSmearing(min_particles=20, min_pt=450.0, random_state=3).fit(X)
    X_det, passed = det.smear(X)
    assert X_det.shape[0] == X.shape[0]
    assert not passed[-1] and not passed[-2] and np.all(X_det[-2:] == 0)
    n_det = (X_det[..., 0] > 0).sum(axis=1)
    np.testing.assert_array_equal(passed, (n_det >= 20) & (X_det[..., 0].sum(1) >= 450.0))
    assert 0 < passed.mean() < 1
    # Detector jet pt follows its particle-level jet: per-event correspondence is kept.
    r = np.corrcoef((X[:300, :, 0] > 0).sum(1), n_det[:300])[0, 1]
    assert r > 0.9
    np.testing.assert_array_equal(det.passes_selection(X_det), passed)
    assert np.all(np.diff(X_det[..., 0], axis=1) <= 0)


def test_extra_particles():
    X, _ = make_jets(2000, "quark", random_state=4)
    base = _perfect().fit_transform(X)
    more = _perfect(n_extra=3.0, extra_pt=0.7).fit_transform(X)
    added = (more[..., 0] > 0).sum(1) - (base[..., 0] > 0).sum(1)
    assert abs(added.mean() - 3.0) < 0.15
    extra_pt = more[..., 0].sum(1) - base[..., 0].sum(1)
    assert abs(extra_pt.mean() - 3.0 * 0.7) < 0.15
    assert np.hypot(more[..., 1], more[..., 2]).max() < 0.4 + 0.01


def test_reproducible_and_default_response():
    X, _ = make_jets(100, "gluon", random_state=5)
    a = DetectorSmearing(random_state=0).fit_transform(X)
    b = DetectorSmearing(random_state=0).fit_transform(X)
    c = DetectorSmearing(random_state=1).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    # Defaults lose some particles and keep the jet pt within a few percent.
    assert (a[..., 0] > 0).sum() < (X[..., 0] > 0).sum()
    frac = a[..., 0].sum(1) / X[..., 0].sum(1)
    assert 0.85 < frac.mean() < 1.0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"efficiency": (0.9, 1.2, 0.8)}, "efficiency values must be finite and in \\[0, 1.0\\]"),
        ({"efficiency": (0.9, 0.8)}, "three values, for charged, photon, neutral hadron"),
        ({"stochastic": (0.1, -0.1, 0.5)}, "stochastic values"),
        ({"angular": "big"}, "'angular' parameter of DetectorSmearing must be an array-like"),
        ({"angular": [[1, 2, 3]]}, "angular must give three values"),
        ({"pt_threshold": -1.0}, "'pt_threshold' parameter of DetectorSmearing must be a float"),
        ({"n_extra": np.nan}, "n_extra"),
        ({"R": np.inf}, "'R' parameter of DetectorSmearing must be a float"),
        ({"min_particles": 1.5}, "'min_particles' parameter of DetectorSmearing must be an int"),
        ({"min_particles": True}, "'min_particles' parameter"),
        ({"n_extra": 2.0, "extra_pt": 0.0}, "extra_pt > 0"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        DetectorSmearing(**params).fit(np.ones((2, 3, 4)))


def test_bad_jets():
    with pytest.raises(ValueError, match="particle id as feature 3"):
        DetectorSmearing().fit(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        DetectorSmearing().fit(np.full((2, 3, 4), np.nan))
    det = DetectorSmearing().fit(np.ones((2, 3, 5)))
    with pytest.raises(ValueError, match="fitted with 5"):
        det.transform(np.ones((2, 3, 4)))


@pytest.mark.parametrize(
    "check",
    [ec.check_no_attributes_set_in_init, ec.check_parameters_default_constructible,
     ec.check_get_params_invariance, ec.check_set_params, ec.check_estimator_cloneable,
     ec.check_estimator_repr, ec.check_valid_tag_types, ec.check_mixin_order],
    ids=lambda c: c.__name__,
)
def test_sklearn_data_free_checks(check):
    # 3-D input: scikit-learn's data checks (2-D matrices) do not apply; see test_preprocessing.
    check("DetectorSmearing", DetectorSmearing(random_state=0))


def test_clone_and_pickle():
    X, _ = make_jets(20, "quark", random_state=0)
    det = DetectorSmearing(random_state=0, n_extra=1.0).fit(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(det)).transform(X), det.transform(X))
    np.testing.assert_array_equal(clone(det).fit(X).transform(X), det.transform(X))
