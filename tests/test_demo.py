"""The demo's building blocks: the report writer."""

import json

import pytest

from sklhep._report import Quantity, StepResult, write_report


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    return fig


def test_report_has_every_number_next_to_its_truth(tmp_path):
    steps = [
        StepResult("a", "A step", ["Some *text* with `code`."],
                   [Quantity("a.x", "x", 0.51, 0.02, 0.5, "exact"),
                    Quantity("a.y", "y", 3.0)], {"a_fig": _figure()}),
        StepResult("b", "B step", ["Not available: no module."], available=False),
    ]
    path = write_report(tmp_path, steps, title="T", intro=["Intro."], meta={"seed": 0})
    html = path.read_text(encoding="utf-8")
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "0.51 ± 0.02" in html and "0.5 (exact)" in html and "<em>text</em>" in html
    assert "| a | x | 0.51 ± 0.02 | 0.5 (exact) | 0.01 |" in md
    assert "## B step (not available)" in md
    assert (tmp_path / "figures" / "a_fig.png").stat().st_size > 1000
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["quantities"]["a.x"]["difference"] == pytest.approx(0.01)
    assert summary["steps"]["b"]["available"] is False
    assert summary["quantities"]["a.y"]["truth"] is None


def test_report_refuses_duplicate_keys_and_writes_nothing(tmp_path):
    steps = [StepResult("a", "A", [], [Quantity("k", "x", 1.0), Quantity("k", "y", 2.0)])]
    with pytest.raises(ValueError, match="unique"):
        write_report(tmp_path, steps, title="T")
    assert list(tmp_path.iterdir()) == []


def test_a_figure_that_cannot_be_saved_leaves_no_partial_report(tmp_path):
    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    (tmp_path / "report.html").write_text("old")
    steps = [StepResult("a", "A", [], [Quantity("k", "x", 1.0)], {"f": Broken()})]
    with pytest.raises(RuntimeError, match="disk full"):
        write_report(tmp_path, steps, title="T")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert (tmp_path / "report.html").read_text() == "old"
