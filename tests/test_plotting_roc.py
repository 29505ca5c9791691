import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklhep.plotting import plot_ratio_calibration, plot_roc, plot_sic  # noqa: E402


@pytest.fixture(scope="module")
def scores():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(2000), np.zeros(2000)].astype(int)
    good = np.r_[rng.normal(1, 1, 2000), rng.normal(-1, 1, 2000)]
    weak = np.r_[rng.normal(0.3, 1, 2000), rng.normal(-0.3, 1, 2000)]
    return y, {"good": good, "weak": weak}


def test_plot_roc_rejection_and_roc(scores):
    import matplotlib.pyplot as plt

    y, s = scores
    ax = plot_roc(y, s)
    assert [line.get_label() for line in ax.lines] == ["good", "weak"]
    assert ax.get_yscale() == "log" and ax.get_legend() is not None
    # the better classifier rejects more background at every efficiency
    good, weak = (line.get_ydata() for line in ax.lines)
    assert np.median(good) > np.median(weak)
    ax = plot_roc(y, s["good"], kind="roc")
    assert len(ax.lines) == 2  # the curve and the random-guess diagonal
    with pytest.raises(ValueError, match="kind"):
        plot_roc(y, s, kind="pr")
    plt.close("all")


def test_plot_sic(scores):
    import matplotlib.pyplot as plt

    y, s = scores
    fig, ax = plt.subplots()
    assert plot_sic(y, s, ax=ax) is ax
    assert len(ax.lines) == 2 + 1  # two curves and the SIC = 1 line
    assert ax.lines[0].get_ydata().max() > 1.5
    plt.close("all")


def test_plot_ratio_calibration():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(1)
    t = rng.normal(size=5000)
    ax = plot_ratio_calibration(t, t + rng.normal(0, 0.1, 5000), bins=10)
    assert len(ax.lines) == 2 and len(ax.collections) == 1
    x, m = ax.lines[1].get_data()
    np.testing.assert_allclose(m, x, atol=0.05)  # the learned means follow the diagonal
    plot_ratio_calibration(t, t, ax=ax)  # a second curve, no second diagonal
    assert len(ax.lines) == 3
    with pytest.raises(ValueError, match="same length"):
        plot_ratio_calibration(t, t[:10])
    with pytest.raises(ValueError, match="bins"):
        plot_ratio_calibration(t, t, bins=0)
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        plot_ratio_calibration(t, t, bins=True)
    with pytest.raises(ValueError, match="single value 1.0"):
        plot_ratio_calibration(np.ones(50), np.ones(50))
    g = t.copy()
    g[:3] = [np.inf, -np.inf, np.nan]
    with pytest.warns(UserWarning, match="3 of 5000 events have a NaN or infinite"):
        ax = plot_ratio_calibration(t, g)
    assert len(ax.collections) == 1
    plt.close("all")
