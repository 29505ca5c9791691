"""The documentation builds without a warning (``sphinx-build -W -b html docs docs/_build/html``)."""

from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build(tmp_path, monkeypatch):
    # the API reference imports every public name, the torch backends included
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from sphinx.cmd.build import build_main

    out = tmp_path / "html"
    status = build_main(["-q", "-W", "--keep-going", "-b", "html", "-d", str(tmp_path / "doctrees"),
                         str(DOCS), str(out)])
    assert status == 0, "the docs build gave warnings (treated as errors); see the output above"
    for page in ("index", "registry", "backends", "install", "demo", "api"):
        assert (out / f"{page}.html").is_file()
    registry = (out / "registry.html").read_text()
    # autodoc really ran: the reference section carries the functions' docstrings.
    assert "sklhep.get_backend" in registry
    assert "name_or_estimator" in registry

    # the API reference lists every public name of the package and of its public modules
    monkeypatch.syspath_prepend(str(DOCS / "_ext"))
    from sklhep_api import public_objects

    api = (out / "api.html").read_text()
    names = [qualname for _, entries in public_objects() for qualname, _ in entries]
    assert "sklhep.CWoLaClassifier" in names and "sklhep.datasets.make_mixtures" in names
    missing = [n for n in names if n not in api]
    assert not missing, missing
