"""The ``sklhep`` command: the demo's report and its numbers against the truth, and its errors."""

import json
import subprocess
import sys

import pytest

from sklhep import _demo
from sklhep.cli import main


def _summary(folder):
    return json.loads((folder / "summary.json").read_text())


def _check_report(out, quick_numbers):
    for name in ("report.html", "report.md", "summary.json"):
        assert (out / name).is_file(), name
    summary = _summary(out)
    steps = summary["steps"]
    assert list(steps) == [key for key, _ in _demo.STEPS]
    for key, step in steps.items():
        for stem in step["figures"]:
            png = out / "figures" / f"{stem}.png"
            assert png.is_file() and png.stat().st_size > 5000, png
            assert f"figures/{stem}.png" in (out / "report.html").read_text()
    assert not list(out.glob(".partial-*")), "the temporary folder was left behind"
    q = {k: v for k, v in summary["quantities"].items()}
    html = (out / "report.html").read_text(encoding="utf-8")
    for key, item in q.items():
        assert item["label"].split(" (")[0] in html, key
    quick_numbers(q)
    return summary


def _numbers_match_the_truth(q):
    # CWoLa on mixtures (0.8, 0.3) of 1500 jets each: within a few statistical errors of the
    # supervised AUC (0.76-0.79 on the shower's observables); a classifier that learned nothing
    # would give 0.5, one trained on shuffled mixture labels likewise.
    auc = q["cwola.auc"]
    assert auc["truth"] > 0.72
    assert auc["value"] > auc["truth"] - 0.07, auc
    mixed = q["cwola.mixed_auc"]
    assert abs(mixed["value"] - mixed["truth"]) < 0.06, mixed
    # correlation dimensions: gluon jets are higher-dimensional at small Q, ratio near 9/4
    # (2.3-3.2 over seeds, with an outlier near 7 at 80 jets per mixture; equal dimensions give 1)
    ratio = q["emd.dimension_ratio"]
    assert ratio["truth"] == pytest.approx(9 / 4)
    assert 1.5 < ratio["value"] < 8.0, ratio
    if "unfolding.distance_omnifold" in q:
        # OmniFold brings every spectrum to the particle level: its summed triangular distance to
        # the truth is a quarter of the detector level's or less (40-45 vs ~160 x 1e-3 at 1500 jets
        # per mixture), comparable to IBU's; the unfolded means agree with the truth well inside
        # the detector-level shift (multiplicity 33 vs 42)
        of = q["unfolding.distance_omnifold"]
        assert of["value"] < 0.3 * q["unfolding.distance_detector"]["value"], of
        assert of["value"] < 1.5 * of["truth"], of
        for key in ("m1_multiplicity_mean", "m2_multiplicity_mean"):
            item = q[f"unfolding.{key}"]
            assert abs(item["value"] - item["truth"]) < max(4 * item["error"], 2.0), item
    if "topics.kappa12" in q:
        # the fractions of the topics: ordered, near the hidden (0.8, 0.3) within the shower's
        # quark/gluon overlap (f1 0.57-0.73, f2 0.25-0.34 over seeds at 1500 jets); a demixer that
        # read kappa from in-sample scores would give kappa -> 0, fractions (1, 0)
        for method in ("multiplicity", "weak_supervision"):
            f1, f2 = (q[f"topics.{method}.f{i}"]["value"] for i in (1, 2))
            assert 0.45 < f1 < 0.95 and 0.15 < f2 < 0.5 and f1 - f2 > 0.15, (method, f1, f2)
        for name in ("kappa12", "kappa21"):
            item = q[f"topics.{name}"]
            assert 0.05 < item["value"] < 0.9, item
            assert abs(item["value"] - item["truth"]) < 0.25, item
        assert q["topics.kappa_quark_gluon"]["value"] > 0.05


def test_demo_writes_a_report_whose_numbers_match_the_truth(tmp_path, capsys):
    pytest.importorskip("xgboost")
    pytest.importorskip("energyflow")
    out = tmp_path / "report"
    argv = ["demo", "--quick", "--n-jets", "1500", "--n-emd", "100", "--output", str(out),
            "--seed", "1", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"report written to {out / 'report.html'}" in printed
    summary = _check_report(out, _numbers_match_the_truth)
    # every step is either run or says plainly that it is not available
    for key, step in summary["steps"].items():
        text = (out / "report.md").read_text()
        if not step["available"]:
            assert "Not available" in text
    assert "CWoLa AUC" in printed


@pytest.mark.slow
def test_quick_demo_as_the_readme_runs_it(tmp_path):
    # `sklhep demo --quick` with its defaults (4000 jets per mixture, 150 EMD jets), as a
    # separate process the way the README's first command runs it
    pytest.importorskip("xgboost")
    pytest.importorskip("energyflow")
    out = tmp_path / "sklhep-demo"
    proc = subprocess.run([sys.executable, "-m", "sklhep", "demo", "--quick", "--output",
                           str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "report written to" in proc.stdout

    def tighter(q):
        _numbers_match_the_truth(q)
        assert q["cwola.auc"]["value"] > q["cwola.auc"]["truth"] - 0.04
        assert 1.7 < q["emd.dimension_ratio"]["value"] < 4.0

    _check_report(out, tighter)


def test_a_failing_step_writes_nothing(tmp_path, monkeypatch, capsys):
    out = tmp_path / "report"
    out.mkdir()
    (out / "report.html").write_text("an earlier report")

    def broken(ctx, cfg):
        raise ValueError("the detector caught fire")

    monkeypatch.setattr(_demo, "STEPS", (("broken", broken),))
    assert main(["demo", "--quick", "--output", str(out), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "step 'broken' failed: ValueError: the detector caught fire" in err
    assert "no report was written" in err
    assert (out / "report.html").read_text() == "an earlier report"
    assert sorted(p.name for p in out.iterdir()) == ["report.html"]


def test_demo_errors(capsys, monkeypatch, tmp_path):
    out = ["--output", str(tmp_path / "never")]
    assert main(["demo", "--backend", "bdx", *out]) == 2
    assert "Did you mean 'bdt'" in capsys.readouterr().err
    assert main(["demo", "--fractions", "0.5", "0.5", *out]) == 2
    assert "must differ" in capsys.readouterr().err
    assert main(["demo", "--fractions", "0.2", "0.7", *out]) == 2
    assert "quark-enriched" in capsys.readouterr().err
    assert main(["demo", "--n-jets", "10", *out]) == 2
    assert "n_jets" in capsys.readouterr().err
    assert main(["demo", "--generator", "pythia", "--fractions", "0.8", "0.2", *out]) == 2
    assert "--fractions applies to the built-in shower" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "--generator", "herwig"])
    assert "invalid choice" in capsys.readouterr().err
    # Pythia missing: a clear error naming the extra, before any work is done
    monkeypatch.setitem(sys.modules, "pythia8mc", None)
    assert main(["demo", "--generator", "pythia", "--quick", *out]) == 2
    err = capsys.readouterr().err
    assert "pythia8mc" in err and 'pip install "sklhep[gen]"' in err
    assert not (tmp_path / "never").exists()


def test_backends_help_and_version(capsys):
    assert main(["backends"]) == 0
    assert "histogram" in capsys.readouterr().out.split()
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--version"])
    proc = subprocess.run([sys.executable, "-m", "sklhep", "--version"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "sklhep" in proc.stdout
