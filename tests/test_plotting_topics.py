import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from sklhep.datasets import make_topic_mixtures  # noqa: E402
from sklhep.plotting import plot_topic_ratio, plot_topic_roc, plot_topics  # noqa: E402
from sklhep.topics import TopicDemixer, anchor_kappa, roc_fit_kappa  # noqa: E402


@pytest.fixture(scope="module")
def toy():
    return make_topic_mixtures(5000, toy="sep", random_state=0)


def test_plot_topic_ratio_marks_the_anchors(toy):
    import matplotlib.pyplot as plt

    X, y, _, _ = toy
    ax = plot_topic_ratio(X[:, 0], y)
    res = anchor_kappa(X[:, 0], y)
    levels = sorted(line.get_ydata()[0] for line in ax.lines if len(line.get_ydata()) == 2)
    np.testing.assert_allclose(levels, sorted([res.kappa[0], 1 / res.kappa[1]]))
    assert ax.get_yscale() == "log"
    plt.close("all")


def test_plot_topic_roc_draws_both_endpoints(toy):
    import matplotlib.pyplot as plt

    X, y, _, _ = toy
    axes = plot_topic_roc(X[:, 0], y)
    res = roc_fit_kappa(X[:, 0], y)
    for ax, k in zip(axes, res.kappa):
        assert f"{k:.3f}" in ax.get_title()
    with pytest.raises(ValueError, match="two Axes"):
        plot_topic_roc(X[:, 0], y, axes=[axes[0]])
    plt.close("all")


def test_plot_topics_overlays_the_truth(toy):
    import matplotlib.pyplot as plt

    X, y, y_topic, _ = toy
    d = TopicDemixer().fit(X, y)
    ax = plot_topics(d, X[:, 0], y, y_topic=y_topic, labels=("quark", "gluon"))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "quark (demixed)" in texts and "gluon (truth)" in texts
    assert len(ax.patches) == 2
    with pytest.raises(ValueError, match="y_topic"):
        plot_topics(d, X[:, 0], y, y_topic=y_topic[:-1])
    plt.close("all")
