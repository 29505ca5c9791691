"""Every public estimator x every installed backend under scikit-learn's estimator checks.

Backends whose package is missing are skipped through ``pytest.importorskip``; a backend that
raises is a failure, never a skip. The expected failures of each backend (and so of the estimators
that drive it) are listed with their reasons in ``tests/_helpers.py``. Estimators that take 3-D
particle sets follow one strategy: the 2-D checks are expected failures with one reason, and
:func:`test_particle_set_contract` checks the same properties on padded jets.
"""

import importlib.util
import pickle

import numpy as np
import pytest
from _helpers import backend_expected_failures
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklhep
from sklhep import CWoLaClassifier, LikelihoodRatioEstimator, TopicDemixer

# backend name -> (packages it needs, small settings for fast checks)
_BACKENDS = {
    "logistic": ((), None),
    "histogram": ((), dict(bins=5)),
    "bdt": (("xgboost",), dict(n_estimators=10, random_state=0)),
    "mlp": (
        ("torch", "skorch"),
        dict(hidden_sizes=(8,), max_epochs=30, lr=1e-2, batch_size=64, random_state=0),
    ),
    "efn": (("torch", "skorch"), dict(phi_sizes=(8,), f_sizes=(8,), max_epochs=3)),
    "pfn": (("torch", "skorch"), dict(phi_sizes=(8,), f_sizes=(8,), max_epochs=3)),
}
INSTALLED = [
    name
    for name, (packages, _) in _BACKENDS.items()
    if all(importlib.util.find_spec(p) is not None for p in packages)
]


def make_backend(name):
    packages, params = _BACKENDS[name]
    for package in packages:
        pytest.importorskip(package)
    if name == "logistic":
        return LogisticRegression()
    return sklhep.get_backend(name, **params)


# the mlp trains a network in each of ~50 checks (about 2 minutes per estimator here): slow run
SLOW_BACKENDS = ("mlp",)


def _estimators(slow):
    for name in INSTALLED:
        if (name in SLOW_BACKENDS) != slow:
            continue
        backend = make_backend(name)
        yield LikelihoodRatioEstimator(backend=backend, random_state=0)
        yield CWoLaClassifier(backend=backend, random_state=0)
    if not slow:
        # cross-fitting and calibration, with a backend that runs every check quickly
        yield LikelihoodRatioEstimator(LogisticRegression(), cv=2, calibration="isotonic",
                                       random_state=0)
        yield CWoLaClassifier(LogisticRegression(), fractions=(0.7, 0.3), cv=2, random_state=0)
        # jet topics on a cross-fitted classifier; the checks' data sets have 20-30 events, so
        # the guard against indistinguishable mixtures is switched off there
        yield TopicDemixer(method="bbe", backend=LogisticRegression(), cv=3, min_significance=0,
                           random_state=0)


def expected_failed_checks(estimator):
    failed = backend_expected_failures(estimator.backend)
    # the estimator checks its input before the backend sees it, so empty input gets the
    # standard message whatever the backend
    failed.pop("check_estimators_empty_data_messages", None)
    return failed


@parametrize_with_checks(list(_estimators(False)), expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks(list(_estimators(True)), expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_slow_backends(estimator, check):
    check(estimator)


# ------------------------------------------------------------------------------------------------
# the same contract on 3-D particle sets
# ------------------------------------------------------------------------------------------------
def _toy_jets(n, rng, width):
    m = 8
    X = np.zeros((n, 10, 3))
    X[:, :m, 0] = rng.dirichlet(np.ones(m), n) * 100
    X[:, :m, 1:] = rng.normal(0, width, (n, m, 2))
    return X


@pytest.mark.parametrize("name", [n for n in ("efn", "pfn") if n in INSTALLED])
@pytest.mark.parametrize("cls", [LikelihoodRatioEstimator, CWoLaClassifier])
def test_particle_set_contract(cls, name):
    rng = np.random.default_rng(0)
    X = np.concatenate([_toy_jets(60, rng, 0.05), _toy_jets(60, rng, 0.1)])
    y = np.r_[np.zeros(60), np.ones(60)].astype(int)
    est = cls(backend=make_backend(name), random_state=0)
    params = est.get_params()
    with pytest.raises(NotFittedError):
        est.predict(X)
    assert est.fit(X, y) is est
    assert est.get_params() == params and est.particle_sets_
    g = est.decision_function(X)
    assert g.shape == (120,) and np.all(np.isfinite(g))
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], 1 / (1 + np.exp(-g)), rtol=1e-6)
    # row order and subsets do not change an event's output; padding does not either
    order = rng.permutation(120)
    np.testing.assert_allclose(est.decision_function(X[order]), g[order], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(est.decision_function(X[:7]), g[:7], rtol=1e-5, atol=1e-6)
    padded = np.concatenate([X, np.zeros((120, 5, 3))], axis=1)
    np.testing.assert_allclose(est.decision_function(padded), g, rtol=1e-5, atol=1e-6)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.decision_function(X), g, rtol=1e-6)
    refit = clone(est).fit(X, y)
    np.testing.assert_allclose(refit.decision_function(X), g, rtol=1e-5, atol=1e-6)
    # string labels and weights work on particle sets too
    labels = np.array(["gluon", "quark"])[y]
    est_s = cls(backend=make_backend(name), random_state=0).fit(X, labels, np.ones(120))
    np.testing.assert_allclose(est_s.decision_function(X), g, rtol=1e-5, atol=1e-6)
    bad = X.copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls(backend=make_backend(name)).fit(bad, y)
    with pytest.raises(ValueError, match="one class"):
        cls(backend=make_backend(name)).fit(X, np.zeros(120))
