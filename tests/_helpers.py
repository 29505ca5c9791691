"""Shared helpers of the ratio/CWoLa tests: backend availability and the ratio-error metric."""

import numpy as np

import sklhep


def backend_available(name):
    """Whether the named sklhep backend can be built here (its module has landed and imports)."""
    try:
        sklhep.get_backend(name)
    except (ImportError, ValueError):
        return False
    return True


def central_ratio_error(estimator, log_ratio, X_p, central=0.98):
    """Median |r_hat/r - 1| over the events of p inside their central ``central`` quantile range."""
    x = X_p[:, 0]
    lo, hi = np.quantile(x, [(1 - central) / 2, (1 + central) / 2])
    inside = X_p[(x > lo) & (x < hi)]
    residual = estimator.predict_log_ratio(inside) - log_ratio(inside)
    return float(np.median(np.abs(np.expm1(residual))))
