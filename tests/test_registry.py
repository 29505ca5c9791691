import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import sklhep
from sklhep import _registry
from sklhep.backends import BackendCapabilities, backend_capabilities, loss_per_event


@pytest.fixture
def clean_registry():
    saved = dict(_registry._RUNTIME_BACKENDS)
    sklhep.refresh_backends()
    yield
    _registry._RUNTIME_BACKENDS.clear()
    _registry._RUNTIME_BACKENDS.update(saved)
    sklhep.refresh_backends()


def test_import_is_light():
    code = (
        "import sys, sklhep; sklhep.list_backends(); "
        "heavy = [m for m in ('torch', 'skorch', 'xgboost', 'energyflow', 'pythia8mc', 'fastjet', "
        "'matplotlib', 'dask') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_list_backends_has_builtins_sorted():
    names = sklhep.list_backends()
    assert names == sorted(names)
    for name in ("bdt", "histogram", "mlp", "efn", "pfn"):
        assert name in names


def test_unknown_backend_lists_names_and_suggests(clean_registry):
    with pytest.raises(ValueError, match="Available backends: .*bdt.*histogram") as info:
        sklhep.get_backend("histgram")
    assert "Did you mean 'histogram'" in str(info.value)


def test_register_and_get_runtime_backend(clean_registry):
    sklhep.register_backend("logistic", LogisticRegression)
    assert "logistic" in sklhep.list_backends()
    est = sklhep.get_backend("logistic", C=0.25)
    assert isinstance(est, LogisticRegression) and est.C == 0.25
    with pytest.raises(ValueError, match="already exists"):
        sklhep.register_backend("logistic", LogisticRegression)
    sklhep.register_backend("logistic", "sklearn.linear_model:LogisticRegression", overwrite=True)
    assert isinstance(sklhep.get_backend("logistic"), LogisticRegression)


def test_register_rejects_bad_factory(clean_registry):
    with pytest.raises(TypeError, match="import string"):
        sklhep.register_backend("bad", 42)
    with pytest.raises(ValueError, match="non-empty string"):
        sklhep.register_backend("", LogisticRegression)


def test_estimator_instance_is_cloned():
    est = LogisticRegression(C=3.0)
    est.fit(np.array([[0.0], [1.0]]), np.array([0, 1]))
    fresh = sklhep.get_backend(est, max_iter=50)
    assert fresh is not est and fresh.C == 3.0 and fresh.max_iter == 50
    assert not hasattr(fresh, "coef_")


def test_get_backend_rejects_other_types():
    with pytest.raises(TypeError, match="backend name"):
        sklhep.get_backend(3.5)


def test_missing_module_names_extra(clean_registry):
    sklhep.register_backend("ghost", "sklhep_no_such_module_xyz:Thing")
    with pytest.raises(ImportError, match="sklhep_no_such_module_xyz"):
        sklhep.get_backend("ghost")


def _make_dist(tmp_path, dist_name, module_name, entry_points, module_source):
    (tmp_path / f"{module_name}.py").write_text(textwrap.dedent(module_source))
    info = tmp_path / f"{dist_name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: 1.0\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[sklhep.backends]\n{lines}\n")


def test_entry_point_discovery_finds_and_fits(tmp_path, monkeypatch, clean_registry):
    _make_dist(
        tmp_path,
        "sklhep_demo_plugin",
        "sklhep_demo_plugin",
        {"demo_logistic": "sklhep_demo_plugin:DemoLogistic"},
        """
        from sklearn.linear_model import LogisticRegression

        class DemoLogistic(LogisticRegression):
            pass
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sklhep.refresh_backends()
    assert "demo_logistic" in sklhep.list_backends()
    est = sklhep.get_backend("demo_logistic", C=2.0)
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(-1, 1, (200, 2)), rng.normal(1, 1, (200, 2))]
    y = np.r_[np.zeros(200), np.ones(200)]
    est.fit(X, y)
    assert est.score(X, y) > 0.8


def test_broken_plugin_warns_not_crashes(tmp_path, monkeypatch, clean_registry):
    _make_dist(
        tmp_path,
        "sklhep_broken_plugin",
        "sklhep_broken_plugin",
        {"broken": "sklhep_broken_plugin:Nope"},
        "raise RuntimeError('this plugin is broken on purpose')\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sklhep.refresh_backends()
    assert "broken" in sklhep.list_backends()
    with pytest.warns(RuntimeWarning, match="broken.*failed to load"):
        with pytest.raises(ValueError, match="failed to load"):
            sklhep.get_backend("broken")


def test_conflicting_plugins_warn_and_choose_deterministically(
    tmp_path, monkeypatch, clean_registry
):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    src = "from sklearn.linear_model import LogisticRegression as {name}\n"
    _make_dist(
        a, "alpha_plugin", "alpha_mod", {"twin": "alpha_mod:Alpha"}, src.format(name="Alpha")
    )
    _make_dist(b, "beta_plugin", "beta_mod", {"twin": "beta_mod:Beta"}, src.format(name="Beta"))
    monkeypatch.syspath_prepend(str(b))
    monkeypatch.syspath_prepend(str(a))
    sklhep.refresh_backends()
    with pytest.warns(RuntimeWarning, match="alpha_plugin.*beta_plugin"):
        sklhep.list_backends()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = sklhep.get_backend("twin")
    assert type(est).__name__ == "LogisticRegression"
    assert _registry._entry_point_backends()["twin"].value == "alpha_mod:Alpha"


def test_capabilities_inferred_for_plain_sklearn():
    caps = backend_capabilities(LogisticRegression())
    assert caps == BackendCapabilities(sample_weight=True, losses=("bce",))


@pytest.mark.parametrize("loss", ["bce", "mlc", "mse", "sqrt"])
def test_reference_losses_are_minimised_at_the_log_ratio(loss):
    # For a point where p = 0.7 and q = 0.2 (balanced classes), the expected per-event loss
    # p * l(1, g) + q * l(0, g) must be minimal at g = log(p / q).
    p, q = 0.7, 0.2
    grid = np.linspace(-3, 4, 70001)
    risk = p * loss_per_event(loss, np.ones_like(grid), grid) + q * loss_per_event(
        loss, np.zeros_like(grid), grid
    )
    assert grid[np.argmin(risk)] == pytest.approx(np.log(p / q), abs=1e-3)


def test_unknown_loss_lists_valid():
    with pytest.raises(ValueError, match="bce, mlc, mse, sqrt"):
        loss_per_event("hinge", [1], [0.0])


def test_unknown_backend_parameter_lists_valid_ones():
    with pytest.raises(ValueError, match="Invalid parameter 'no_such_param'.*[Vv]alid parameters"):
        sklhep.get_backend("histogram", no_such_param=1)


def test_resolve_backend_needs_probabilities():
    from sklearn.linear_model import SGDClassifier

    with pytest.raises(TypeError, match="not a classifier with predict_proba"):
        _registry.resolve_backend(SGDClassifier(loss="hinge"))
    assert hasattr(_registry.resolve_backend(SGDClassifier(loss="log_loss")), "predict_proba")
