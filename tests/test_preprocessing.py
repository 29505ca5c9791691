import itertools
import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks as ec

from sklhep.datasets import make_jets
from sklhep.preprocessing import EFPTransformer, JetObservables, JetPreprocessor


@pytest.fixture(scope="module")
def jets():
    Xq, yq = make_jets(400, "quark", random_state=11)
    Xg, yg = make_jets(400, "gluon", random_state=12)
    n = max(Xq.shape[1], Xg.shape[1])
    pad = lambda X: np.pad(X, ((0, 0), (0, n - X.shape[1]), (0, 0)))  # noqa: E731
    return np.concatenate([pad(Xq), pad(Xg)]), np.r_[yq, yg]


def _random_jets(rng, n_jets=6, max_n=9):
    out = []
    for _ in range(n_jets):
        m = rng.integers(1, max_n + 1)
        out.append(np.column_stack([rng.uniform(1, 50, m), rng.normal(0, 0.2, m),
                                    rng.normal(1.0, 0.2, m), rng.choice([22, 211], m)]))
    return out


# ----------------------------------------------------------------------------- JetPreprocessor


def test_preprocessor_steps(jets):
    X, _ = jets
    Z = JetPreprocessor().fit_transform(X)
    pt, y, p = Z[..., 0], Z[..., 1], Z[..., 2]
    np.testing.assert_allclose(pt.sum(axis=1), 1.0)
    np.testing.assert_allclose((pt * y).sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose((pt * p).sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose((pt * y * p).sum(axis=1), 0.0, atol=1e-12)
    assert np.all((pt * y * y).sum(axis=1) >= (pt * p * p).sum(axis=1) - 1e-15)
    assert np.all((pt * (y > 0)).sum(1) >= (pt * (y < 0)).sum(1))
    assert np.all((pt * (p > 0)).sum(1) >= (pt * (p < 0)).sum(1))
    assert np.all(Z[pt == 0] == 0)
    np.testing.assert_array_equal(Z[..., 3], X[..., 3])  # pid carried along (input is pt-sorted)


def test_preprocessor_preserves_distances_and_handles_phi_wrap():
    rng = np.random.default_rng(0)
    jets = _random_jets(rng)
    for j in jets:
        j[:, 2] = (j[:, 2] - 1.0 + 2 * np.pi) % (2 * np.pi)  # around phi = 0 == 2 pi
    Z = JetPreprocessor(normalize=False).fit_transform(jets)
    before = JetObservables(["e2", "c2", "width"]).fit_transform(jets)
    after = JetObservables(["e2", "c2", "width"]).fit_transform(Z)
    # Pairwise distances are invariant; the width's four-momentum axis only to small-angle accuracy.
    np.testing.assert_allclose(after[:, :2], before[:, :2], rtol=1e-9)
    np.testing.assert_allclose(after[:, 2], before[:, 2], rtol=3e-3, atol=1e-9)
    assert np.all(np.abs(Z[..., 2]) < 1.5)


def test_preprocessor_each_step_optional(jets):
    X, _ = jets
    same = JetPreprocessor(center=False, rotate=False, reflect=False, normalize=False)
    np.testing.assert_allclose(same.fit_transform(X[:20]), X[:20], atol=1e-12)
    Z = JetPreprocessor(rotate=False, reflect=False, normalize=False).fit_transform(X[:20])
    np.testing.assert_allclose(Z[..., 0], X[:20, :, 0])
    np.testing.assert_allclose((Z[..., 0] * Z[..., 1]).sum(1), 0, atol=1e-10)


def test_preprocessor_list_input_and_empty_jet():
    jets = [np.array([[10.0, 0.1, 0.2, 22]]), np.zeros((0, 4)), np.array([[3.0, 0, 0, 211],
                                                                           [1.0, 0.2, 0, 22]])]
    Z = JetPreprocessor().fit_transform(jets)
    assert Z.shape == (3, 2, 4)
    assert np.all(Z[1] == 0)
    np.testing.assert_allclose(Z[0, 0, :3], [1.0, 0.0, 0.0])


# ----------------------------------------------------------------------------- JetObservables


def test_observables_two_particle_analytic():
    a, b, dy, dp = 30.0, 10.0, 0.12, -0.05
    jet = np.array([[[a, 0.3, 1.0], [b, 0.3 + dy, 1.0 + dp]]])
    obs = JetObservables().fit(jet)
    f = dict(zip(obs.get_feature_names_out(), obs.transform(jet)[0]))
    d = np.hypot(dy, dp)
    assert f["multiplicity"] == 2
    np.testing.assert_allclose(f["mass"], np.sqrt(2 * a * b * (np.cosh(dy) - np.cos(dp))))
    np.testing.assert_allclose(f["ptd"], np.hypot(a, b) / (a + b))
    np.testing.assert_allclose(f["e2"], a * b / (a + b) ** 2 * d)
    assert f["c2"] == 0 and f["d2"] == 0 and f["tau2"] == 0 and f["tau21"] == 0
    # The jet axis lies (to small-angle accuracy) at the pt-weighted centroid.
    np.testing.assert_allclose(f["width"], 2 * a * b / (a + b) ** 2 * d, rtol=1e-2)
    np.testing.assert_allclose(f["tau1"], f["width"])


def test_observables_ecf_against_brute_force():
    rng = np.random.default_rng(1)
    jets = _random_jets(rng, n_jets=8)
    for beta in (1.0, 2.0):
        got = JetObservables(["e2", "c2", "d2"], beta=beta).fit_transform(jets)
        for j, row in zip(jets, got):
            z = j[:, 0] / j[:, 0].sum()
            d = lambda i, k, j=j, beta=beta: np.hypot(j[i, 1] - j[k, 1], j[i, 2] - j[k, 2]) ** beta  # noqa: E731
            e2 = sum(z[i] * z[k] * d(i, k) for i, k in itertools.combinations(range(len(j)), 2))
            e3 = sum(z[i] * z[k] * z[m] * d(i, k) * d(i, m) * d(k, m)
                     for i, k, m in itertools.combinations(range(len(j)), 3))
            exp = [e2, e3 / e2**2 if e2 else 0, e3 / e2**3 if e2 else 0]
            np.testing.assert_allclose(row, exp, rtol=1e-10, atol=1e-15)


def test_tau2_finds_two_prongs():
    rng = np.random.default_rng(2)
    def prong(cy, n):
        return np.column_stack([rng.uniform(5, 10, n), cy + rng.normal(0, 0.01, n),
                                rng.normal(0, 0.01, n)])

    two = np.vstack([prong(-0.15, 6), prong(0.15, 6)])
    one = prong(0.0, 12)
    t = JetObservables(["tau1", "tau2", "tau21"]).fit_transform([two, one])
    assert t[0, 2] < 0.15 and t[1, 2] > 0.4
    assert 0.1 < t[0, 0] < 0.2


def test_observables_invariant_to_particle_order_and_padding():
    rng = np.random.default_rng(3)
    jets = _random_jets(rng)
    obs = JetObservables().fit(jets)
    ref = obs.transform(jets)
    shuffled = [j[rng.permutation(len(j))] for j in jets]
    np.testing.assert_allclose(obs.transform(shuffled), ref, rtol=1e-10)
    padded = np.zeros((len(jets), 15, 4))
    for i, j in enumerate(shuffled):
        padded[i, -len(j):] = j  # padding first
    np.testing.assert_allclose(obs.transform(padded), ref, rtol=1e-10)


def test_observables_separate_quarks_and_gluons(jets):
    X, y = jets
    F = JetObservables().fit_transform(X)
    names = list(JetObservables().fit(X).get_feature_names_out())
    for name in ("multiplicity", "width", "mass", "e2"):
        assert roc_auc_score(y, -F[:, names.index(name)]) > 0.65, name
    assert roc_auc_score(y, F[:, names.index("ptd")]) > 0.6
    pipe = make_pipeline(JetObservables(), StandardScaler(), LogisticRegression())
    score = cross_val_predict(pipe, X, y, cv=3, method="predict_proba")[:, 1]
    assert roc_auc_score(y, score) > 0.75


def test_grid_search_over_observable_parameters(jets):
    X, y = jets
    pipe = make_pipeline(JetObservables(["width", "c2"]), LogisticRegression())
    grid = GridSearchCV(pipe, {"jetobservables__beta": [0.5, 2.0]}, cv=2, scoring="roc_auc")
    grid.fit(X[::4], y[::4])
    assert grid.best_params_["jetobservables__beta"] in (0.5, 2.0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"observables": ["width", "charm"]}, "choose from \\['multiplicity'"),
        ({"observables": "width"}, "not a string"),
        ({"observables": []}, "choose from"),
        ({"beta": -1.0}, r"'beta' parameter of JetObservables .* Got -1.0"),
    ],
)
def test_observables_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        JetObservables(**params).fit(np.ones((2, 3, 3)))


@pytest.mark.parametrize("cls", [JetPreprocessor, JetObservables])
@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones((4, 3)), "3-D array"),
        (np.full((2, 3, 3), np.nan), "NaN or inf"),
        (-np.ones((2, 3, 3)), "negative pt"),
        (np.ones((2, 3, 2)), "at least 3 features"),
        (np.ones((0, 3, 3)), "empty"),
        ([np.ones((2, 3)), np.ones((2, 4))], "same number of features"),
        ([np.ones(3)], "2-D"),
    ],
)
def test_malformed_jets_rejected(cls, bad, match):
    with pytest.raises(ValueError, match=match):
        cls().fit(bad)
    est = cls().fit(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match=match):
        est.transform(bad)


def test_transform_checks_feature_count_and_empty_jets():
    obs = JetObservables().fit(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="fitted with 4"):
        obs.transform(np.ones((2, 3, 3)))
    empty = np.ones((2, 3, 4))
    empty[1, :, 0] = 0
    with pytest.raises(ValueError, match="empty jet.*DetectorSmearing"):
        obs.transform(empty)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        JetObservables().transform(np.ones((2, 3, 3)))


# ----------------------------------------------------------------------------- EFPTransformer


def test_efp_matches_energyflow_and_parallel():
    ef = pytest.importorskip("energyflow")
    X, _ = make_jets(30, "gluon", random_state=5)
    t = EFPTransformer(dmax=4).fit(X)
    got = t.transform(X)
    ref = ef.EFPSet("d<=4", measure="hadr", beta=1.0, normed=True, coords="ptyphim")
    expected = ref.batch_compute([x[x[:, 0] > 0, :3] for x in X], n_jobs=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert got.shape[1] == t.n_features_out_ == len(t.get_feature_names_out())
    assert len(set(t.get_feature_names_out())) == t.n_features_out_
    from joblib import parallel_backend

    with parallel_backend("threading"):  # the chunked Parallel path, without process start-up
        np.testing.assert_allclose(EFPTransformer(dmax=4, n_jobs=2).fit_transform(X), got)
    with parallel_backend("threading"):  # n_jobs=-1: all cores, four chunks per worker
        np.testing.assert_allclose(EFPTransformer(dmax=4, n_jobs=-1).fit_transform(X), got)
    prime = EFPTransformer(dmax=4, select="p==1").fit(X)
    assert prime.n_features_out_ < t.n_features_out_
    # EFPs are IRC safe: an extra zero-pt-like soft particle barely changes them.
    Xs = [np.vstack([x[x[:, 0] > 0], [[1e-9, 0.3, 0.1, 22]]]) for x in X[:5]]
    np.testing.assert_allclose(t.transform(Xs), got[:5], rtol=1e-6)


def test_efp_chunks_follow_the_number_of_workers():
    import os

    from joblib import effective_n_jobs

    from sklhep.preprocessing import _chunks

    jets = list(range(1000))
    assert _chunks(jets, 1) == [jets]
    n_cores = os.cpu_count() or 1
    # n_jobs=-1 means every core, not one worker (it used to make four chunks whatever the cores)
    chunks = _chunks(jets, effective_n_jobs(-1))
    assert len(chunks) == (1 if n_cores == 1 else 4 * n_cores)
    assert len(_chunks(jets, 3)) == 12 and sum(_chunks(jets, 3), []) == jets


@pytest.mark.parametrize(
    "params, match",
    [({"dmax": 0}, r"'dmax' .* an int in the range \[1, 10\]. Got 0"),
     ({"dmax": True}, r"'dmax' .* Got True"),
     ({"measure": "ee"}, r"'measure' .*'hadrdot'"),
     ({"beta": 0}, r"'beta' .* Got 0"), ({"select": "q>=2"}, "energyflow rejected")],
)
def test_efp_bad_parameters(params, match):
    pytest.importorskip("energyflow")
    with pytest.raises(ValueError, match=match):
        EFPTransformer(**params).fit(np.ones((2, 3, 3)))


# ----------------------------------------------------------------------------- citizenship

# These transformers take 3-D jets, so they declare input_tags.two_d_array=False and
# three_d_array=True; scikit-learn's parametrize_with_checks then skips its data checks (they feed
# 2-D matrices). The checks that do not need data are run here; fitting behaviour (idempotence,
# NotFitted errors, clone/pickle equality, Pipeline/GridSearchCV) is tested explicitly.
_DATA_FREE_CHECKS = [
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_valid_tag_types,
    ec.check_mixin_order,
    ec.check_estimator_tags_renamed,
]
_ESTIMATORS = [JetPreprocessor(), JetObservables(), EFPTransformer(dmax=3)]


@pytest.mark.parametrize("est", _ESTIMATORS, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", _DATA_FREE_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_data_free_checks(est, check):
    check(type(est).__name__, clone(est))


@pytest.mark.parametrize("est", _ESTIMATORS, ids=lambda e: type(e).__name__)
def test_clone_pickle_idempotent(est):
    if isinstance(est, EFPTransformer):
        pytest.importorskip("energyflow")
    X, _ = make_jets(10, "quark", random_state=0)
    a = clone(est).fit(X).transform(X)
    fitted = clone(est).fit(X)
    fitted.fit(X)
    np.testing.assert_allclose(fitted.transform(X), a)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(again.transform(X), a)
    tags = est.__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array
