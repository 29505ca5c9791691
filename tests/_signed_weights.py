"""A sample with negative weights and an analytic log ratio: p against (mixture - background).

Class 1 is p = N(+1, 1). Class 0 should be q = N(-1, 1), but q is only observed inside a mixture
M = (1 - b) q + b B with a background B = N(-0.5, 1) that overlaps it; a separate background
sample enters class 0 with negative weights, ``-b n_M / n_B`` each, so the signed density of class
0 is ``(1 - b) q``. With the class totals balanced, ``log p/q = 2x``. Dropping the signs (``|w|``)
gives class 0 the density ``(1 - b) q + 2 b B`` and a log ratio off by a factor of about two.
"""

import numpy as np

BACKGROUND_MEAN = -0.5


def background_subtracted_pair(n, *, background_fraction=0.4, seed=0):
    """``X, y, w``: n events of p, n of the mixture, n of the background (negative weights).

    The class totals are balanced, so a backend's raw output estimates ``log p/q = 2x``.
    """
    rng = np.random.default_rng(seed)
    n_q = int(round((1 - background_fraction) * n))
    x_p = rng.normal(1.0, 1.0, n)
    x_mix = np.r_[rng.normal(-1.0, 1.0, n_q), rng.normal(BACKGROUND_MEAN, 1.0, n - n_q)]
    x_bkg = rng.normal(BACKGROUND_MEAN, 1.0, n)
    X = np.r_[x_p, x_mix, x_bkg][:, None]
    y = np.r_[np.ones(n), np.zeros(2 * n)].astype(int)
    w = np.r_[np.ones(2 * n), np.full(n, -(n - n_q) / n)]
    w[y == 0] *= w[y == 1].sum() / w[y == 0].sum()
    return X, y, w


def ratio_error(estimator, n_test=50_000, seed=1000):
    """Median |r_hat/r - 1| over fresh events of p inside their central 98%, with r = exp(2x)."""
    x = np.random.default_rng(seed).normal(1.0, 1.0, n_test)
    lo, hi = np.quantile(x, [0.01, 0.99])
    x = x[(x > lo) & (x < hi)]
    g = estimator.decision_function(x[:, None])
    return float(np.median(np.abs(np.expm1(g - 2 * x))))
