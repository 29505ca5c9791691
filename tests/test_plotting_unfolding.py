import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklhep.datasets import make_gaussian_unfolding  # noqa: E402
from sklhep.plotting import plot_unfolded, plot_unfolding_diagnostics  # noqa: E402
from sklhep.unfolding import OmniFoldUnfolder  # noqa: E402


def test_plot_unfolded_and_diagnostics_from_a_fit():
    import matplotlib.pyplot as plt

    d = make_gaussian_unfolding(2000, random_state=0)
    of = OmniFoldUnfolder("histogram", n_iterations=2, random_state=0).fit(
        d.sim_reco, d.sim_truth, d.nature_reco)
    edges = np.linspace(-3, 3, 9)
    counts, variances, _ = of.histogram(d.sim_truth[:, 0], edges)
    truth = np.histogram(d.nature_truth[:, 0], edges)[0]
    det = np.histogram(d.nature_reco[:, 0], edges)[0]
    ax, rax = plot_unfolded(edges, counts, variances, truth=truth, detector=det, density=True)
    assert len(ax.lines) + len(ax.containers) >= 2 and rax.get_ylabel() == "ratio to truth"
    _, rax2 = plot_unfolded(edges, counts)
    assert rax2.get_ylabel() == "ratio to unfolded"
    axes = plot_unfolding_diagnostics(of.diagnostics_)
    assert len(axes[0].lines) == 2 + 1  # steps 1 and 2, and the log 2 line
    plt.close("all")


def test_plot_unfolded_errors():
    with pytest.raises(ValueError, match="one value per bin"):
        plot_unfolded([0, 1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="strictly increasing"):
        plot_unfolded([1, 0], [1])
    with pytest.raises(ValueError, match="non-negative"):
        plot_unfolded([0, 1], [1], [-1])
    with pytest.raises(ValueError, match="list of dicts"):
        plot_unfolding_diagnostics([{"iteration": 1}])
