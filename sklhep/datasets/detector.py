"""A simple parametrised detector: particle-level jets in, detector-level jets out."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._validation import Interval, check_jets, check_n_particle_features

__all__ = ["DetectorSmearing"]

# Charged particles seen by the tracker: pions, kaons, protons, electrons, muons, and their
# antiparticles (pid sign does not matter). Photons are 22; everything else is a neutral hadron.
_CHARGED = (211, 321, 2212, 11, 13, 3222, 3112, 3312, 3334)
_CATEGORIES = ("charged", "photon", "neutral hadron")


def _categories(pid):
    a = np.abs(np.rint(pid)).astype(np.int64)
    return np.where(np.isin(a, _CHARGED), 0, np.where(a == 22, 1, 2))


class DetectorSmearing(TransformerMixin, BaseEstimator):
    """Turn particle-level jets into detector-level jets with a parametrised detector response.

    Particles fall into three categories by their pid (feature 3): charged particles (tracks),
    photons (electromagnetic calorimeter) and neutral hadrons (hadronic calorimeter). For each
    particle, in order:

    1. it is detected with the category's efficiency;
    2. its pt is multiplied by ``1 + sigma * N(0, 1)`` with the calorimeter-style relative
       resolution ``sigma = stochastic / sqrt(E) (+) constant`` (added in quadrature,
       ``E = pt cosh(y)`` in GeV);
    3. its y and phi are shifted by ``N(0, angular**2)``;
    4. it is kept only if its smeared pt exceeds ``pt_threshold``.

    Optionally ``Poisson(n_extra)`` soft particles per jet are added (underlying event / pile-up
    like: pt drawn from ``pt_threshold + Exponential(extra_pt)``, uniform within ``R`` of the jet's
    pt-weighted centroid, two thirds charged pions and one third photons).

    Row ``i`` of the output is always the detector view of input jet ``i``: jets are never dropped,
    so particle- and detector-level events stay paired as unfolding needs. Jets that fail the
    detector-level selection (fewer than ``min_particles`` particles or a total pt below
    ``min_pt``) are flagged by :meth:`passes_selection`, or directly by :meth:`smear`.

    Parameters
    ----------
    efficiency : (float, float, float), default=(0.95, 0.95, 0.8)
        Detection efficiency of charged particles, photons and neutral hadrons.
    stochastic : (float, float, float), default=(0.05, 0.1, 0.5)
        Stochastic resolution terms (in sqrt(GeV)) per category.
    constant : (float, float, float), default=(0.01, 0.01, 0.05)
        Constant resolution terms per category.
    angular : (float, float, float), default=(0.002, 0.01, 0.02)
        Gaussian smearing of y and phi per category.
    pt_threshold : float, default=0.5
        Smallest detected pt in GeV.
    n_extra : float, default=0.0
        Mean number of extra soft particles per jet.
    extra_pt : float, default=1.0
        Mean pt above threshold of the extra particles, in GeV.
    R : float, default=0.4
        Radius within which extra particles are placed.
    min_particles : int, default=1
        Selection: the fewest detected particles a jet needs to pass.
    min_pt : float, default=0.0
        Selection: the smallest detected jet pt (sum of particle pts) to pass.
    random_state : int, RandomState or None, default=None
        With an int, transforming the same jets gives the same detector jets.

    Attributes
    ----------
    n_particle_features_ : int
        Features per particle seen in ``fit`` (at least 4: pt, y, phi, pid).

    Examples
    --------
    >>> from sklhep.datasets import make_jets, DetectorSmearing
    >>> X, _ = make_jets(100, random_state=0)
    >>> det = DetectorSmearing(random_state=0).fit(X)
    >>> X_det, passed = det.smear(X)
    >>> X_det.shape[0], bool(passed.all())
    (100, True)
    >>> bool((X_det[..., 0] > 0).sum(1).mean() < (X[..., 0] > 0).sum(1).mean())
    True
    """

    _parameter_constraints = {
        # three values each (charged, photon, neutral hadron), checked in _check_params
        "efficiency": ["array-like"],
        "stochastic": ["array-like"],
        "constant": ["array-like"],
        "angular": ["array-like"],
        "pt_threshold": [Interval(Real, 0, None, closed="left")],
        "n_extra": [Interval(Real, 0, None, closed="left")],
        "extra_pt": [Interval(Real, 0, None, closed="left")],
        "R": [Interval(Real, 0, None, closed="left")],
        "min_particles": [Interval(Integral, 0, None, closed="left")],
        "min_pt": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, efficiency=(0.95, 0.95, 0.8), stochastic=(0.05, 0.1, 0.5),
                 constant=(0.01, 0.01, 0.05), angular=(0.002, 0.01, 0.02), pt_threshold=0.5,
                 n_extra=0.0, extra_pt=1.0, R=0.4, min_particles=1, min_pt=0.0,
                 random_state=None):
        self.efficiency = efficiency
        self.stochastic = stochastic
        self.constant = constant
        self.angular = angular
        self.pt_threshold = pt_threshold
        self.n_extra = n_extra
        self.extra_pt = extra_pt
        self.R = R
        self.min_particles = min_particles
        self.min_pt = min_pt
        self.random_state = random_state

    def _triple(self, name, upper=None):
        value = getattr(self, name)
        arr = np.asarray(value, dtype=float) if not isinstance(value, str) else np.array([])
        if arr.shape != (3,):
            raise ValueError(
                f"{name} must give three values, for {', '.join(_CATEGORIES)}; got {value!r}."
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or (upper and np.any(arr > upper)):
            bound = f"[0, {upper}]" if upper else ">= 0"
            raise ValueError(f"{name} values must be finite and in {bound}; got {value!r}.")
        return arr

    def _check_params(self):
        self._validate_params()
        params = {
            "efficiency": self._triple("efficiency", upper=1.0),
            "stochastic": self._triple("stochastic"),
            "constant": self._triple("constant"),
            "angular": self._triple("angular"),
        }
        if self.n_extra > 0 and (self.R <= 0 or self.extra_pt <= 0):
            raise ValueError(
                f"Extra particles need R > 0 and extra_pt > 0; got R={self.R!r}, "
                f"extra_pt={self.extra_pt!r}."
            )
        return params

    def _check_jets(self, X):
        X = check_jets(X)
        if X.shape[2] < 4:
            raise ValueError(
                f"DetectorSmearing needs the particle id as feature 3 (pt, y, phi, pid) to tell "
                f"tracks, photons and neutral hadrons apart; got {X.shape[2]} features per "
                f"particle."
            )
        return X

    def fit(self, X, y=None):
        """Check the parameters and the jets; nothing is learned.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
            Particle-level jets ``(pt, y, phi, pid, ...)``.
        y : ignored

        Returns
        -------
        self
        """
        self._check_params()
        self.n_particle_features_ = self._check_jets(X).shape[2]
        return self

    def transform(self, X):
        """Detector-level jets, one row per input jet, pt-sorted and zero-padded.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays

        Returns
        -------
        X_det : ndarray of shape (n_jets, n_detected_max, n_features)
        """
        return self.smear(X)[0]

    def smear(self, X):
        """Detector-level jets and the selection flags.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays

        Returns
        -------
        X_det : ndarray of shape (n_jets, n_detected_max, n_features)
            Row ``i`` is the detector view of jet ``i`` (possibly empty).
        passed : ndarray of bool of shape (n_jets,)
            Whether each jet passes the detector-level selection.
        """
        check_is_fitted(self, "n_particle_features_")
        p = self._check_params()
        X = check_n_particle_features(self._check_jets(X), self)
        rng = check_random_state(self.random_state)
        n, m, f = X.shape
        pt, y, phi = X[..., 0], X[..., 1], X[..., 2]
        real = pt > 0
        cat = _categories(X[..., 3])
        keep = real & (rng.random_sample((n, m)) < p["efficiency"][cat])
        energy = np.where(real, pt * np.cosh(y), 1.0)
        sigma = np.hypot(p["stochastic"][cat] / np.sqrt(energy), p["constant"][cat])
        out = X.copy()
        out[..., 0] = pt * (1.0 + sigma * rng.standard_normal((n, m)))
        ang = p["angular"][cat]
        out[..., 1] = y + ang * rng.standard_normal((n, m))
        out[..., 2] = phi + ang * rng.standard_normal((n, m))
        keep &= out[..., 0] > self.pt_threshold
        out[~keep] = 0.0
        if self.n_extra > 0:
            out = np.concatenate([out, self._extra(X, rng)], axis=1)
        order = np.argsort(-out[..., 0], axis=1, kind="stable")
        out = np.take_along_axis(out, order[..., None], axis=1)
        width = max(int((out[..., 0] > 0).sum(axis=1).max()), 1)
        out = out[:, :width]
        return out, self.passes_selection(out)

    def _extra(self, X, rng):
        n, _, f = X.shape
        counts = rng.poisson(self.n_extra, size=n)
        k = max(int(counts.max()), 1)
        pt = X[..., 0]
        total = np.where(pt.sum(1) > 0, pt.sum(1), 1.0)
        lead = X[np.arange(n), np.argmax(pt, axis=1)]
        dphi = (X[..., 2] - lead[:, None, 2] + np.pi) % (2 * np.pi) - np.pi
        cy = (pt * X[..., 1]).sum(1) / total
        cphi = lead[:, 2] + (pt * dphi).sum(1) / total
        r = self.R * np.sqrt(rng.random_sample((n, k)))
        a = 2 * np.pi * rng.random_sample((n, k))
        extra = np.zeros((n, k, f))
        extra[..., 0] = self.pt_threshold + rng.exponential(self.extra_pt, size=(n, k))
        extra[..., 1] = cy[:, None] + r * np.cos(a)
        extra[..., 2] = cphi[:, None] + r * np.sin(a)
        extra[..., 3] = rng.choice([211.0, -211.0, 22.0], size=(n, k))
        extra[np.arange(k)[None, :] >= counts[:, None]] = 0.0
        return extra

    def passes_selection(self, X_det):
        """Whether detector-level jets pass the selection (``min_particles``, ``min_pt``).

        Parameters
        ----------
        X_det : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays

        Returns
        -------
        passed : ndarray of bool of shape (n_jets,)
        """
        X_det = check_jets(X_det)
        pt = X_det[..., 0]
        return ((pt > 0).sum(axis=1) >= self.min_particles) & (pt.sum(axis=1) >= self.min_pt)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags
