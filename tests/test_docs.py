"""The documentation builds (``sphinx-build -b html docs docs/_build/html``)."""

from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build(tmp_path):
    from sphinx.cmd.build import build_main

    out = tmp_path / "html"
    status = build_main(["-q", "-b", "html", "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)])
    assert status == 0
    for page in ("index", "registry", "backends"):
        assert (out / f"{page}.html").is_file()
    registry = (out / "registry.html").read_text()
    # autodoc really ran: the reference section carries the functions' docstrings.
    assert "sklhep.get_backend" in registry
    assert "name_or_estimator" in registry
