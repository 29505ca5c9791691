"""Figures for the set networks: the learned latent filters of an Energy Flow Network."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_efn_filters"]


def plot_efn_filters(
    efn,
    filters=None,
    *,
    kind="grid",
    n_grid=81,
    y_range=None,
    phi_range=None,
    level=0.5,
    ncols=4,
    axes=None,
    cmap="viridis",
):
    """Draw the learned filters ``Phi_a(y, phi)`` of a fitted EFN (its interpretability picture).

    Parameters
    ----------
    efn : EFNClassifier
        A fitted Energy Flow Network (``sklhep.get_backend("efn")``).
    filters : int, sequence of int or None, default=None
        Which latent components to draw: indices, or an int ``k`` for the ``k`` most active ones
        (largest range of values on the grid). None means 8 for ``kind="grid"`` and every active
        filter for ``kind="overlay"``.
    kind : {"grid", "overlay"}, default="grid"
        ``"grid"``: one image per filter. ``"overlay"``: one panel with the contour of each filter
        at ``level`` times its maximum, the style of the EFN paper's figure.
    n_grid : int, default=81
        Grid points per axis.
    y_range, phi_range : (float, float), default=None
        Grid limits; default the range of the training particles (``efn.angle_range_``).
    level : float, default=0.5
        Contour level, as a fraction of each filter's maximum, for ``kind="overlay"``.
    ncols : int, default=4
        Panels per row for ``kind="grid"``.
    axes : matplotlib Axes or array of Axes, default=None
        Where to draw; new ones are created when None.
    cmap : str, default="viridis"

    Returns
    -------
    axes : ndarray of Axes (``kind="grid"``) or Axes (``kind="overlay"``)

    References
    ----------
    .. [1] P. T. Komiske, E. M. Metodiev, J. Thaler, "Energy Flow Networks: Deep Sets for Particle
       Jets", JHEP 01 (2019) 121, arXiv:1810.05165, Fig. 7.

    Examples
    --------
    >>> from sklhep.plotting import plot_efn_filters
    >>> axes = plot_efn_filters(fitted_efn, filters=4)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if kind not in ("grid", "overlay"):
        raise ValueError(f"kind must be 'grid' or 'overlay'; got {kind!r}.")
    if not hasattr(efn, "latent_filters"):
        raise TypeError(
            f"plot_efn_filters needs a fitted EFNClassifier; got {type(efn).__name__}."
        )
    ys, phis, values = efn.latent_filters(y_range=y_range, phi_range=phi_range, n_grid=n_grid)
    spread = values.max(axis=(1, 2)) - values.min(axis=(1, 2))
    active = np.argsort(-spread)
    active = active[spread[active] > 0]
    if filters is None:
        chosen = active[:8] if kind == "grid" else active
    elif np.isscalar(filters):
        chosen = active[: int(filters)]
    else:
        chosen = np.asarray(filters, dtype=int)
        bad = chosen[(chosen < 0) | (chosen >= values.shape[0])]
        if bad.size:
            raise ValueError(
                f"filters must be indices in [0, {values.shape[0]}); got {bad.tolist()}."
            )
    if len(chosen) == 0:
        raise ValueError("No filter varies over this grid (all are constant); nothing to draw.")
    extent = (phis[0], phis[-1], ys[0], ys[-1])

    if kind == "overlay":
        ax = axes if axes is not None else plt.subplots(figsize=(4.5, 4.5))[1]
        colors = plt.get_cmap(cmap)(np.linspace(0, 1, len(chosen)))
        for color, a in zip(colors, chosen):
            vmax = values[a].max()
            ax.contour(phis, ys, values[a], levels=[level * vmax], colors=[color], linewidths=1)
        ax.set_xlabel(r"$\phi$")
        ax.set_ylabel(r"$y$")
        ax.set_title(f"EFN filters at {level:g} of their maximum")
        ax.set_aspect("equal")
        return ax

    n = len(chosen)
    if axes is None:
        nrows = -(-n // ncols)
        fig, axes = plt.subplots(
            nrows, min(n, ncols), figsize=(2.6 * min(n, ncols), 2.6 * nrows), squeeze=False
        )
    axes = np.atleast_1d(axes).ravel()
    if axes.size < n:
        raise ValueError(f"{n} filters need {n} axes; got {axes.size}.")
    for ax, a in zip(axes, chosen):
        ax.imshow(values[a], origin="lower", extent=extent, aspect="auto", cmap=cmap)
        ax.set_title(f"filter {a}")
        ax.set_xlabel(r"$\phi$")
        ax.set_ylabel(r"$y$")
    for ax in axes[n:]:
        ax.set_visible(False)
    return axes[:n]
