"""Every script in examples/ runs in its quick mode and writes its figure."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))

# optional packages an example needs, beyond numpy/scikit-learn/matplotlib
NEEDS = {
    "backend_log_ratio.py": ["xgboost"],
    "cwola_quark_gluon.py": ["xgboost"],
    "dask_cluster.py": ["xgboost", "distributed", "energyflow"],
    "efn_quark_gluon.py": ["torch", "skorch", "xgboost"],
    "likelihood_ratio.py": ["xgboost"],
    "plot_correlation_dimension.py": ["energyflow"],
    "omnifold_unfolding.py": ["xgboost"],
    "jet_topics.py": ["xgboost", "sklhep.topics"],
    "root_cwola_hist.py": ["xgboost", "uproot", "awkward", "hist"],
}
# examples that take more than a few seconds even in quick mode, with the reason
SLOW = {
    "dask_cluster.py": "starts a LocalCluster of two worker processes (about 10 s)",
}


def _load(path):
    spec = importlib.util.spec_from_file_location(f"_example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_has_a_quick_mode():
    assert len(EXAMPLES) >= 8
    for path in EXAMPLES:
        text = path.read_text()
        assert "def main(argv=None)" in text, path.name
        assert "--quick" in text and "--out" in text, path.name


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.name in SLOW else [])
     for p in EXAMPLES],
)
def test_example_runs_quickly_and_writes_its_figure(path, tmp_path, monkeypatch, capsys):
    for module in NEEDS.get(path.name, []):
        pytest.importorskip(module)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklhep import _registry

    # examples may register backends: keep them out of the other tests' registry
    monkeypatch.setattr(_registry, "_RUNTIME_BACKENDS", dict(_registry._RUNTIME_BACKENDS))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / f"{path.stem}.png"
    try:
        _load(path).main(["--quick", "--out", str(out)])
    finally:
        plt.close("all")
        _registry.refresh_backends()
    assert out.is_file() and out.stat().st_size > 5000, out
    assert str(out) in capsys.readouterr().out
