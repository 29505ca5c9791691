"""Figures for the Energy Mover's Distance: correlation dimensions and optimal flows."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_correlation_dimension", "plot_emd_flow"]


def plot_correlation_dimension(Q, dim, dim_err=None, *, label=None, ax=None, **plot_kwargs):
    """Draw a correlation dimension ``dim(Q)`` against ``Q`` (log axis).

    Parameters
    ----------
    Q, dim : array-like of shape (n,)
        From :func:`sklhep.emd.correlation_dimension`.
    dim_err : array-like of shape (n,) or None
        Drawn as a band when given.
    label : str or None
    ax : matplotlib Axes or None
        Drawn into a new figure when None.
    **plot_kwargs
        Passed to ``Axes.plot``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklhep.plotting import plot_correlation_dimension
    >>> ax = plot_correlation_dimension([0.1, 1.0], [2.0, 1.5], label="gluon")
    """
    import matplotlib.pyplot as plt

    Q = np.asarray(Q, dtype=float)
    dim = np.asarray(dim, dtype=float)
    if Q.shape != dim.shape or Q.ndim != 1:
        raise ValueError(f"Q and dim must be 1-D of one length; got {Q.shape} and {dim.shape}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    (line,) = ax.plot(Q, dim, label=label, **plot_kwargs)
    if dim_err is not None:
        err = np.asarray(dim_err, dtype=float)
        ax.fill_between(Q, dim - err, dim + err, color=line.get_color(), alpha=0.25, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("Energy Mover's Distance Q")
    ax.set_ylabel("correlation dimension dim(Q)")
    if label is not None:
        ax.legend()
    return ax


def plot_emd_flow(ev0, ev1, flow, *, ax=None, labels=("event 0", "event 1")):
    """Draw two events in the (y, phi) plane and the optimal flow between them.

    Particle areas are proportional to pt; each flow is a line whose width is proportional to
    the pt it carries.

    Parameters
    ----------
    ev0, ev1 : array-like of shape (n_particles, >=3)
        Particles ``(pt, y, phi)``.
    flow : array-like of shape (n_particles0, n_particles1)
        From ``sklhep.emd.emd(ev0, ev1, return_flow=True)``.
    ax : matplotlib Axes or None
    labels : (str, str)

    Returns
    -------
    ax : matplotlib Axes
    """
    import matplotlib.pyplot as plt

    a = np.asarray(ev0, dtype=float)
    b = np.asarray(ev1, dtype=float)
    f = np.asarray(flow, dtype=float)
    if f.shape != (len(a), len(b)):
        raise ValueError(
            f"flow must have shape (len(ev0), len(ev1)) = {(len(a), len(b))}; got {f.shape}."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    scale = 300.0 / max(a[:, 0].max(initial=0), b[:, 0].max(initial=0), 1e-300)
    fmax = max(f.max(initial=0), 1e-300)
    for i, j in zip(*np.nonzero(f > 1e-3 * fmax)):
        ax.plot(
            [a[i, 1], b[j, 1]], [a[i, 2], b[j, 2]], color="0.4", lw=3 * f[i, j] / fmax, zorder=1
        )
    ax.scatter(a[:, 1], a[:, 2], s=a[:, 0] * scale, alpha=0.6, label=labels[0], zorder=2)
    ax.scatter(b[:, 1], b[:, 2], s=b[:, 0] * scale, alpha=0.6, label=labels[1], zorder=2)
    ax.set_xlabel("rapidity y")
    ax.set_ylabel("azimuth phi")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend()
    return ax
