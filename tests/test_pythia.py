import time

import numpy as np
import pytest

from sklhep.datasets import generate_pythia_jets, load_energyflow_qg


def _jet_pt_y(X):
    pt, y, phi = X[..., 0], X[..., 1], X[..., 2]
    # Massless approximation is fine for the window check (hadron masses are tiny at 500 GeV).
    px, py = (pt * np.cos(phi)).sum(1), (pt * np.sin(phi)).sum(1)
    pz, e = (pt * np.sinh(y)).sum(1), (pt * np.cosh(y)).sum(1)
    return np.hypot(px, py), 0.5 * np.log((e + pz) / (e - pz))


@pytest.fixture(scope="module")
def zjets(tmp_path_factory):
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    cache = tmp_path_factory.mktemp("cache")
    t0 = time.perf_counter()
    X, y = generate_pythia_jets(30, "zjets", random_state=3, cache_dir=cache)
    return X, y, cache, time.perf_counter() - t0


def test_zjets_recipe(zjets):
    X, y, _, _ = zjets
    assert X.shape[0] == 30 and X.shape[2] == 4 and sorted(np.bincount(y)) == [15, 15]
    pt, rap = _jet_pt_y(X)
    assert np.all((pt > 495) & (pt < 555)) and np.all(np.abs(rap) < 1.75)
    assert np.all(np.diff(X[..., 0], axis=1) <= 0)
    pids = set(np.abs(X[..., 3][X[..., 0] > 0]).astype(int))
    assert {22, 211} <= pids and not pids & {12, 14, 16}
    mult = (X[..., 0] > 0).sum(axis=1)
    assert mult[y == 0].mean() > mult[y == 1].mean()


def test_cache_reuses_and_keys_on_settings(zjets):
    X, y, cache, elapsed = zjets
    files = list((cache / "pythia").glob("*.npz"))
    assert len(files) == 1
    t0 = time.perf_counter()
    X2, y2 = generate_pythia_jets(30, "zjets", random_state=3, cache_dir=cache)
    assert time.perf_counter() - t0 < min(0.5, elapsed / 3)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    X3, _ = generate_pythia_jets(30, "zjets", random_state=3, cache_dir=cache, max_particles=5)
    np.testing.assert_array_equal(X3, X[:, :5])
    # A different setting is a different key; cache=False and random_state=None write nothing.
    generate_pythia_jets(2, "zjet-gluon", random_state=3, cache_dir=cache)
    generate_pythia_jets(2, "zjet-gluon", random_state=3, cache_dir=cache, cache=False)
    generate_pythia_jets(2, "zjet-gluon", random_state=None, cache_dir=cache)
    assert len(list((cache / "pythia").glob("*.npz"))) == 2


def test_dijets_central_forward(tmp_path):
    pytest.importorskip("pythia8mc")
    X, y, central = generate_pythia_jets(8, "dijets", random_state=1, cache_dir=tmp_path)
    assert X.shape[0] == 8 and set(np.unique(y)) <= {0, 1}
    np.testing.assert_array_equal(central.reshape(4, 2).sum(1), 1)
    _, rap = _jet_pt_y(X)
    pairs = np.abs(rap).reshape(4, 2)
    c = central.reshape(4, 2)
    assert np.all(pairs[c == 1] <= pairs[c == 0])
    assert np.all(np.abs(rap) < 2.55)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"process": "ttbar"}, r"'process' parameter of generate_pythia_jets .*'dijets'.*'ttbar'"),
        ({"process": "dijets", "n_jets": 3}, "n_jets must be even"),
        ({"pt_min": 600.0}, "pt_min must be below pt_max"),
        ({"n_jets": 0}, r"'n_jets' .* an int in the range \[1, inf\). Got 0"),
        ({"n_jets": True}, r"'n_jets' .* Got True"),
        ({"R": -0.4}, r"'R' .* a float in the range \(0.0, inf\). Got -0.4"),
        ({"verbose": -1}, r"'verbose' .* Got -1"),
        ({"max_particles": 0}, r"'max_particles' .* or None. Got 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    params = {"n_jets": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        generate_pythia_jets(**params)


def test_load_energyflow_qg(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.random((5, 7, 4))
    b = rng.random((3, 9, 4))
    np.savez(tmp_path / "QG_jets.npz", X=a, y=np.ones(5))
    np.savez(tmp_path / "QG_jets_1.npz", X=b, y=np.zeros(3))
    X, y = load_energyflow_qg(tmp_path)
    assert X.shape == (8, 9, 4)
    np.testing.assert_array_equal(X[:5, :7], a)
    np.testing.assert_array_equal(y, [1] * 5 + [0] * 3)
    X1, y1 = load_energyflow_qg(tmp_path / "QG_jets_1.npz")
    np.testing.assert_array_equal(X1, b)
    assert load_energyflow_qg(tmp_path, max_files=1)[0].shape == (5, 7, 4)


def test_load_energyflow_qg_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*does not download"):
        load_energyflow_qg(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="No QG_jets\\*.npz file"):
        load_energyflow_qg(tmp_path)
    np.savez(tmp_path / "QG_jets.npz", jets=np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="needs arrays 'X' and 'y'; found \\['jets'\\]"):
        load_energyflow_qg(tmp_path)
    np.savez(tmp_path / "QG_jets.npz", X=np.ones((2, 3, 4)), y=np.ones(3))
    with pytest.raises(ValueError, match="expected X of shape"):
        load_energyflow_qg(tmp_path)


def test_chunks_seeded_independently_of_n_jobs(monkeypatch, tmp_path):
    pytest.importorskip("pythia8mc")
    import sklhep.datasets.pythia as mod

    monkeypatch.setattr(mod, "_CHUNK", 3)
    a = generate_pythia_jets(6, "zjet-gluon", random_state=5, cache=False, n_jobs=1)
    b = generate_pythia_jets(6, "zjet-gluon", random_state=5, cache=False, n_jobs=2, verbose=1)
    np.testing.assert_array_equal(a[0], b[0])
    # Two chunks with different seeds: no jet is repeated.
    firsts = a[0][:, 0, 0]
    assert len(set(firsts)) == 6


@pytest.mark.slow
def test_pythia_quark_gluon_multiplicity(tmp_path):
    pytest.importorskip("pythia8mc")
    from sklearn.metrics import roc_auc_score

    X, y = generate_pythia_jets(400, "zjets", random_state=0, cache_dir=tmp_path, n_jobs=2)
    mult = (X[..., 0] > 0).sum(axis=1)
    ratio = mult[y == 0].mean() / mult[y == 1].mean()
    assert 1.3 <= ratio <= 2.25
    assert 0.65 <= roc_auc_score(y, -mult) <= 0.95
