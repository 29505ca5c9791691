import re

import pytest

from sklhep.cli import main


def _auc(out, name):
    return float(re.search(rf"{name} AUC[^:]*:\s+([0-9.]+)", out).group(1))


def test_demo_on_the_toy_prints_close_aucs(capsys):
    pytest.importorskip("xgboost")
    assert main(["demo", "--toy", "--n-jets", "4000", "--n-folds", "2"]) == 0
    out = capsys.readouterr().out
    cwola, supervised = _auc(out, "CWoLa"), _auc(out, "supervised")
    assert 0.9 < supervised < 1.0  # 2-D N(+-1, 1): optimal AUC Phi(2) = 0.977
    assert cwola >= 0.98 * supervised
    assert "mixed-sample AUC" in out


def test_demo_on_jets(capsys):
    pytest.importorskip("xgboost")
    assert main(["demo", "--n-jets", "1500", "--backend", "bdt"]) == 0
    out = capsys.readouterr().out
    assert "quark/gluon jets" in out
    cwola, supervised = _auc(out, "CWoLa"), _auc(out, "supervised")
    assert 0.65 < supervised < 0.95
    assert cwola >= 0.95 * supervised  # 1500 jets per mixture: a few % of statistical noise


def test_backends_and_errors(capsys):
    assert main(["backends"]) == 0
    assert "histogram" in capsys.readouterr().out.split()
    assert main(["demo", "--toy", "--fractions", "0.5", "0.5"]) == 2
    assert "must differ" in capsys.readouterr().err
    assert main(["demo", "--toy", "--backend", "bdx"]) == 2
    assert "Did you mean 'bdt'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--version"])
