"""Tests of the set-network backends `efn` and `pfn` (sklhep.backends.set_nets)."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from _helpers import TWO_D_CHECKS, TWO_D_REASON  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import sklhep  # noqa: E402
from sklhep.backends import LOSSES, backend_capabilities  # noqa: E402
from sklhep.backends.set_nets import EFNClassifier, PFNClassifier  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(phi_sizes=(16, 16), f_sizes=(16,), max_epochs=15, lr=5e-3, batch_size=64)


# ---------------------------------------------------------------- toy jets
def toy_jets(n, rng, width, mult=20, max_particles=40, pids=(22.0, 211.0, -211.0), p_pid=None):
    """Centred toy jets: Poisson multiplicity, flat Dirichlet pt fractions, Gaussian angles.

    Particle rows are (pt, y, phi, pid); the classes differ by the angular ``width`` (IRC-safe
    information, as the broader radiation pattern of gluon jets) and optionally by ``p_pid``.
    """
    m = np.clip(rng.poisson(mult, n), 2, max_particles)
    X = np.zeros((n, max_particles, 4))
    for i, k in enumerate(m):
        z = rng.dirichlet(np.ones(k))
        r = width * rng.rayleigh(1.0, k)
        a = rng.uniform(0, 2 * np.pi, k)
        yy, pp = r * np.cos(a), r * np.sin(a)
        X[i, :k, 0] = 100 * z
        X[i, :k, 1] = yy - z @ yy
        X[i, :k, 2] = pp - z @ pp
        X[i, :k, 3] = rng.choice(pids, k, p=p_pid)
    return X


def toy_task(n, rng, widths=(0.05, 0.065), **kw):
    X = np.concatenate([toy_jets(n, rng, widths[0], **kw), toy_jets(n, rng, widths[1], **kw)])
    return X, np.r_[np.zeros(n), np.ones(n)]


@pytest.fixture(scope="module")
def small_task():
    return toy_task(200, np.random.default_rng(11), widths=(0.04, 0.08), max_particles=12, mult=6)


@pytest.fixture(scope="module", params=["efn", "pfn"])
def fitted(request, small_task):
    X, y = small_task
    cls = EFNClassifier if request.param == "efn" else PFNClassifier
    return cls(**SMALL, random_state=0).fit(X, y)


# ---------------------------------------------------------------- sklearn checks
@parametrize_with_checks(
    [EFNClassifier(**SMALL, random_state=0), PFNClassifier(**SMALL, random_state=0)],
    expected_failed_checks=lambda est: dict.fromkeys(TWO_D_CHECKS, TWO_D_REASON),
)
def test_sklearn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("cls", [EFNClassifier, PFNClassifier])
def test_sklearn_contract_on_jets(cls, small_task):
    """What the expected failures above would check, on 3-D jets."""
    X, y = small_task
    est = cls(**SMALL, random_state=0)
    params = est.get_params()
    with pytest.raises(sklhep_not_fitted()):
        est.predict(X)
    assert est.fit(X, y) is est
    assert est.get_params() == params  # fit does not change parameters
    assert est.n_features_in_ == 4 and list(est.classes_) == [0.0, 1.0]
    g = est.decision_function(X)
    np.testing.assert_allclose(est.predict_proba(X)[:, 1], 1 / (1 + np.exp(-g)), rtol=1e-12)
    np.testing.assert_array_equal(est.predict(X), est.classes_[(g > 0).astype(int)])
    # idempotent and repeatable fit
    np.testing.assert_array_equal(est.fit(X, y).decision_function(X), g)
    # sample order and subsets
    perm = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(est.decision_function(X[perm]), g[perm], atol=1e-5)
    np.testing.assert_allclose(est.decision_function(X[:7]), g[:7], atol=1e-5)
    # unit weights == no weights; weights as a list
    w1 = est.fit(X, y, sample_weight=list(np.ones(len(y)))).decision_function(X)
    np.testing.assert_allclose(w1, g, atol=1e-6)
    # string labels
    labels = np.where(y == 1, "gluon", "quark")
    assert set(cls(**SMALL, random_state=0).fit(X, labels).predict(X)) <= {"gluon", "quark"}
    # pickle round trip predicts the same; clone is unfitted with equal params
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.decision_function(X), est.decision_function(X))
    fresh = clone(est)
    assert fresh.get_params() == params and not hasattr(fresh, "net_")


def sklhep_not_fitted():
    from sklearn.exceptions import NotFittedError

    return NotFittedError


# ---------------------------------------------------------------- symmetries
def test_permutation_invariance(fitted, small_task):
    X, _ = small_task
    rng = np.random.default_rng(12)
    shuffled = np.stack([jet[rng.permutation(jet.shape[0])] for jet in X])
    np.testing.assert_allclose(
        fitted.decision_function(shuffled), fitted.decision_function(X), atol=1e-5
    )


def test_padding_invariance(fitted, small_task):
    X, _ = small_task
    g = fitted.decision_function(X)
    padded = np.concatenate([X, np.zeros((X.shape[0], 25, X.shape[2]))], axis=1)
    np.testing.assert_allclose(fitted.decision_function(padded), g, atol=1e-5)
    # a list of unpadded jets gives the same answer
    jets = [jet[jet[:, 0] > 0] for jet in X]
    np.testing.assert_allclose(fitted.decision_function(jets), g, atol=1e-5)


def _split_hardest(X):
    """Split each jet's hardest particle into two collinear halves (same angles and pid)."""
    out = np.concatenate([X, np.zeros((X.shape[0], 1, X.shape[2]))], axis=1)
    for jet in out:
        i = np.argmax(jet[:, 0])
        jet[-1] = jet[i]
        jet[-1, 0] = jet[i, 0] = jet[i, 0] / 2
    return out


def _add_soft(X, pt, rng):
    out = np.concatenate([X, np.zeros((X.shape[0], 1, X.shape[2]))], axis=1)
    out[:, -1, 0] = pt
    out[:, -1, 1:3] = rng.normal(0, 0.1, (X.shape[0], 2))
    out[:, -1, 3] = 22.0
    return out


def test_efn_is_irc_safe(small_task):
    X, y = small_task
    efn = EFNClassifier(**SMALL, random_state=0).fit(X, y)
    g = efn.decision_function(X)
    assert np.ptp(g) > 0.5  # a network that learned something
    np.testing.assert_allclose(efn.decision_function(_split_hardest(X)), g, atol=1e-5)
    soft = _add_soft(X, 1e-7, np.random.default_rng(13))
    np.testing.assert_allclose(efn.decision_function(soft), g, atol=1e-5)


def test_pfn_is_not_irc_safe(small_task):
    """The PFN counts particles: the IRC checks above would catch it (they can fail)."""
    X, y = small_task
    pfn = PFNClassifier(**SMALL, random_state=0).fit(X, y)
    g = pfn.decision_function(X)
    soft = _add_soft(X, 1e-7, np.random.default_rng(13))
    assert np.max(np.abs(pfn.decision_function(soft) - g)) > 1e-3


# ---------------------------------------------------------------- learning
def test_efn_matches_bdt_on_observables():
    """Quark vs gluon jets of the built-in shower: an EFN on the particles reaches an AUC within
    0.02 of an xgboost BDT on jet observables trained on the same jets (about 10 s on one core)."""
    xgb = pytest.importorskip("xgboost")
    from sklhep.datasets import make_jets
    from sklhep.preprocessing import JetObservables, JetPreprocessor

    X, y = make_jets(12000, flavor="both", random_state=0, max_particles=80)
    train, test = slice(0, 8000), slice(8000, None)
    obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd", "e2"])
    O = obs.fit_transform(X)
    bdt = xgb.XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.1, n_jobs=1)
    bdt.fit(O[train], y[train])
    auc_bdt = roc_auc_score(y[test], bdt.predict_proba(O[test])[:, 1])
    efn = make_pipeline(
        JetPreprocessor(),
        EFNClassifier(
            phi_sizes=(32, 32, 32), f_sizes=(32, 32), lr=2e-3, batch_size=200, max_epochs=20,
            random_state=0,
        ),
    ).fit(X[train], y[train])
    auc_efn = roc_auc_score(y[test], efn.predict_proba(X[test])[:, 1])
    assert auc_bdt > 0.7
    assert auc_efn > auc_bdt - 0.02, (auc_efn, auc_bdt)


@pytest.mark.parametrize("loss", LOSSES)
def test_every_loss_learns(loss, small_task):
    X, y = small_task
    Xt, yt = toy_task(300, np.random.default_rng(15), widths=(0.04, 0.08), max_particles=12, mult=6)
    efn = EFNClassifier(**{**SMALL, "max_epochs": 25}, loss=loss, random_state=0).fit(X, y)
    assert roc_auc_score(yt, efn.decision_function(Xt)) > 0.75


def test_sample_weights_shift_the_log_ratio(small_task):
    """Weighting class 1 by 4 multiplies its density by 4: g shifts by log 4 on average."""
    X, y = small_task
    params = {**SMALL, "max_epochs": 25, "validation_fraction": 0, "random_state": 0}
    plain = EFNClassifier(**params).fit(X, y).decision_function(X)
    w = np.where(y == 1, 4.0, 1.0)
    weighted = EFNClassifier(**params).fit(X, y, sample_weight=w).decision_function(X)
    assert abs(np.mean(weighted - plain) - np.log(4.0)) < 0.3


def test_pfn_uses_particle_ids():
    """Classes differing only in the photon fraction: the PFN (pid embedding) separates them,
    the EFN (angles and energies only) cannot."""
    rng = np.random.default_rng(16)

    def jets(p_photon, n):
        p = [p_photon, (1 - p_photon) / 2, (1 - p_photon) / 2]
        return toy_jets(n, rng, 0.05, mult=10, max_particles=20, p_pid=p)

    X = np.concatenate([jets(0.2, 400), jets(0.6, 400)])
    y = np.r_[np.zeros(400), np.ones(400)]
    Xt = np.concatenate([jets(0.2, 300), jets(0.6, 300)])
    yt = np.r_[np.zeros(300), np.ones(300)]
    pfn = PFNClassifier(**SMALL, random_state=0).fit(X, y)
    np.testing.assert_array_equal(pfn.pid_classes_, [-211.0, 22.0, 211.0])
    assert roc_auc_score(yt, pfn.decision_function(Xt)) > 0.9
    efn = EFNClassifier(**SMALL, random_state=0).fit(X, y)
    assert abs(roc_auc_score(yt, efn.decision_function(Xt)) - 0.5) < 0.1
    # an id never seen in fit goes to the shared "other" vector instead of failing
    odd = Xt.copy()
    odd[:, 0, 3] = 2112.0
    assert np.all(np.isfinite(pfn.decision_function(odd)))
    with pytest.raises(ValueError, match="pid_column=None"):
        bad = X.copy()
        bad[..., 3] = np.random.default_rng(0).normal(size=bad.shape[:2])
        PFNClassifier(**SMALL).fit(bad, y)


def test_global_features(small_task):
    X, y = small_task
    rng = np.random.default_rng(17)
    G = (y + rng.normal(0, 0.3, y.size))[:, None]  # a strongly informative per-jet feature
    efn = EFNClassifier(**SMALL, random_state=0).fit(X, y, global_features=G)
    assert efn.n_global_features_in_ == 1
    assert roc_auc_score(y, efn.decision_function(X, global_features=G)) > 0.95
    assert efn.predict_proba(X, global_features=G).shape == (len(y), 2)
    with pytest.raises(ValueError, match="pass them again"):
        efn.decision_function(X)
    with pytest.raises(ValueError, match="2 columns"):
        efn.decision_function(X, global_features=np.c_[G, G])
    with pytest.raises(ValueError, match="global_features must have shape"):
        EFNClassifier(**SMALL).fit(X, y, global_features=G[:5])


def test_mixed_precision_runs(small_task):
    X, y = small_task
    efn = EFNClassifier(**SMALL, mixed_precision=True, random_state=0).fit(X, y)
    g = efn.decision_function(X)
    assert np.all(np.isfinite(g)) and roc_auc_score(y, g) > 0.75


def test_verbose_progress(small_task, capsys):
    X, y = small_task
    PFNClassifier(**{**SMALL, "max_epochs": 2, "patience": None}, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "PFNClassifier" in err and "2/2" in err


# ---------------------------------------------------------------- filters and plots
def test_latent_filters_are_phi_of_one_particle_jets(small_task):
    X, y = small_task
    efn = EFNClassifier(**SMALL, random_state=0).fit(X, y)
    ys, phis, filt = efn.latent_filters(y_range=(-0.2, 0.2), phi_range=(-0.1, 0.3), n_grid=9)
    assert filt.shape == (16, 9, 9) and ys[0] == -0.2 and phis[-1] == pytest.approx(0.3)
    # for a jet of one particle (z = 1) the latent vector is Phi at its angles
    i, j = 2, 7
    jet = np.array([[[50.0, ys[i], phis[j], 22.0]]])
    inputs = efn._prepare(jet, fitting=False)
    tensors = {k: torch.from_numpy(v) for k, v in inputs.items()}
    module = efn.net_.module_
    with torch.no_grad():
        latent = torch.einsum("bp,bpl->bl", tensors["z"], module.Phi(tensors["angles"]))
    np.testing.assert_allclose(latent.numpy()[0], filt[:, i, j], rtol=1e-5, atol=1e-6)


def test_plot_efn_filters(small_task):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklhep.plotting import plot_efn_filters

    X, y = small_task
    efn = EFNClassifier(**SMALL, random_state=0).fit(X, y)
    axes = plot_efn_filters(efn, filters=3, n_grid=21)
    assert len(axes) == 3 and all(len(ax.images) == 1 for ax in axes)
    ax = plot_efn_filters(efn, kind="overlay", n_grid=21)
    assert len(ax.collections) >= 1
    with pytest.raises(ValueError, match="indices in"):
        plot_efn_filters(efn, filters=[99])
    with pytest.raises(TypeError, match="fitted EFNClassifier"):
        plot_efn_filters(PFNClassifier())
    plt.close("all")


# ---------------------------------------------------------------- sklearn tools
def test_pipeline_gridsearch_pickle(small_task):
    X, y = small_task

    from sklhep.preprocessing import JetPreprocessor

    pipe = make_pipeline(JetPreprocessor(), EFNClassifier(**SMALL, random_state=0))
    grid = GridSearchCV(pipe, {"efnclassifier__phi_sizes": [(8,), (16, 16)]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["efnclassifier__phi_sizes"] in [(8,), (16, 16)]
    best = grid.best_estimator_
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict_proba(X), best.predict_proba(X))


def test_registry_and_capabilities():
    for name, cls in [("efn", EFNClassifier), ("pfn", PFNClassifier)]:
        est = sklhep.get_backend(name, phi_sizes=(4,))
        assert isinstance(est, cls) and est.phi_sizes == (4,)
        caps = backend_capabilities(est)
        assert caps.particle_sets and caps.sample_weight and set(caps.losses) == set(LOSSES)
        assert caps.signed_weights
    assert EFNClassifier().__sklearn_tags__().input_tags.three_d_array
    assert sklhep.EFNClassifier is EFNClassifier and sklhep.backends.PFNClassifier is PFNClassifier


@pytest.mark.parametrize("cls", [EFNClassifier, PFNClassifier])
def test_signed_weights(cls, small_task):
    # mixed-sign jet weights train; a negative weight pulls the output the other way
    X, y = small_task
    w = np.ones(len(y))
    w[(y == 0) & (np.arange(len(y)) % 4 == 0)] = -0.5
    est = cls(**SMALL).fit(X, y, sample_weight=w)
    assert np.all(np.isfinite(est.decision_function(X)))
    with pytest.raises(ValueError, match=r"total sample_weight <= 0.*positive total"):
        cls(**SMALL).fit(X, y, sample_weight=np.where(y == 0, -1.0, 1.0))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"pid_embedding_dim": True}, r"'pid_embedding_dim' .* Got True"),
        ({"pid_embedding_dim": 0}, r"'pid_embedding_dim' .* \[1, inf\)"),
        ({"pid_column": 2}, r"'pid_column' .* \[3, inf\) or None"),
        ({"mixed_precision": "yes"}, r"'mixed_precision' .* Got 'yes'"),
        ({"max_epochs": 2.0}, r"'max_epochs' .* Got 2.0"),
    ],
)
def test_bad_parameters_are_refused_by_the_constraints(params, match, small_task):
    X, y = small_task
    with pytest.raises(ValueError, match=match):
        PFNClassifier(**{**SMALL, **params}).fit(X, y)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [EFNClassifier, PFNClassifier])
def test_bad_input(cls, small_task):
    X, y = small_task
    est = cls(**SMALL)
    with pytest.raises(ValueError, match=r"3-D array.*'mlp' or 'bdt'"):
        est.fit(X[:, :, 0], y)
    nan = X.copy()
    nan[3, 0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(nan, y)
    with pytest.raises(ValueError, match="same number of features"):
        est.fit([X[0][:, :3], X[1]], [0, 1])
    neg = X.copy()
    neg[0, 0, 0] = -1.0
    with pytest.raises(ValueError, match="negative pt"):
        est.fit(neg, y)
    with pytest.raises(ValueError, match="at least 3 features"):
        est.fit(X[..., :2], y)
    with pytest.raises(ValueError, match="different numbers of samples"):
        est.fit(X[:10], y)
    with pytest.raises(ValueError, match="exactly two classes"):
        est.fit(X, np.zeros(len(y)))
    with pytest.raises(TypeError, match="sparse"):
        from scipy.sparse import csr_matrix

        est.fit(csr_matrix(X[:, :, 0]), y)
    with pytest.raises(ValueError, match="phi_sizes"):
        cls(phi_sizes=()).fit(X, y)
    with pytest.raises(ValueError, match=rf"'dropout' parameter of {cls.__name__}"):
        cls(dropout=1.5).fit(X, y)
    with pytest.raises(ValueError, match="every jet is empty"):
        cls(**SMALL).fit(np.zeros((4, 3, 4)), [0, 1, 0, 1])
    est.fit(X, y)
    with pytest.raises(ValueError, match="fitted with 4"):
        est.predict(X[..., :3])
    with pytest.raises(ValueError, match="3-D array"):
        est.predict(X[:, 0, :])
