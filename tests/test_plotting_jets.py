import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklhep.datasets import make_jets  # noqa: E402
from sklhep.plotting import plot_quark_gluon  # noqa: E402


def test_plot_quark_gluon_draws_and_overlays():
    import matplotlib.pyplot as plt

    X, y = make_jets(200, "both", random_state=0)
    axes = plot_quark_gluon(X, y, ["multiplicity", "width", "mass"], sample_label="shower")
    assert len(axes) == 3
    for ax in axes:
        assert len(ax.patches) == 2
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["shower quark",
                                                                      "shower gluon"]
    assert axes[0].get_xlabel() == "constituent multiplicity"
    plot_quark_gluon(X, y, ["multiplicity", "width", "mass"], axes=axes, linestyle="--")
    assert len(axes[1].patches) == 4
    plt.close("all")


def test_plot_quark_gluon_errors():
    X, y = make_jets(20, "both", random_state=0)
    with pytest.raises(ValueError, match="0 and 1"):
        plot_quark_gluon(X, np.full(20, 2))
    with pytest.raises(ValueError, match="20 jets but y has 19"):
        plot_quark_gluon(X, np.r_[0, np.ones(18, int)])
    with pytest.raises(ValueError, match="one Axes per observable"):
        plot_quark_gluon(X, y, ["width"], axes=[None, None])
