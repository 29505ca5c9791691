"""Jet features as scikit-learn transformers: preprocessing, observables, energy flow polynomials.

All three take jets as a zero-padded array of shape (n_jets, n_particles, n_features) with
particles ``(pt, y, phi[, pid, ...])`` as rows, or as a list of per-jet 2-D arrays, so they sit at
the head of a :class:`~sklearn.pipeline.Pipeline` that feeds a classifier::

    make_pipeline(JetObservables(), StandardScaler(), LogisticRegression())
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._validation import (
    Interval,
    StrOptions,
    check_jets,
    check_n_particle_features,
    import_optional,
)

__all__ = ["EFPTransformer", "JetObservables", "JetPreprocessor"]


def _wrap(dphi):
    return (dphi + np.pi) % (2.0 * np.pi) - np.pi


def _sorted_jets(jets, *, allow_empty_jets):
    """Validated jets with particles sorted by decreasing pt (padding last), phi unwrapped.

    phi is returned relative to the hardest particle's phi (in [-pi, pi)), together with that
    reference, so that jets straddling phi = 0 / 2 pi are handled.
    """
    X = check_jets(jets, allow_empty_jets=allow_empty_jets).copy()
    order = np.argsort(-X[..., 0], axis=1, kind="stable")
    X = np.take_along_axis(X, order[..., None], axis=1)
    ref = X[:, 0, 2].copy()
    mask = X[..., 0] > 0
    X[..., 2] = np.where(mask, _wrap(X[..., 2] - ref[:, None]), 0.0)
    return X, mask, ref


class _JetTransformer(TransformerMixin, BaseEstimator):
    """Shared fit for transformers of 3-D jet input (stateless apart from input checks)."""

    def fit(self, X, y=None):
        """Check the jets and the parameters; nothing is learned.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
            Particles ``(pt, y, phi, ...)`` per jet, zero-padded.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = check_jets(X)
        self._check_params()
        self.n_particle_features_ = X.shape[2]
        return self

    def _check_params(self):
        pass

    def _check_fitted_input(self, X, *, allow_empty_jets=True):
        check_is_fitted(self, "n_particle_features_")
        Xc, mask, ref = _sorted_jets(X, allow_empty_jets=allow_empty_jets)
        return check_n_particle_features(Xc, self), mask, ref

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags


class JetPreprocessor(_JetTransformer):
    """Standardise jets: center, rotate, reflect and normalise, each step optional.

    The steps, in order, act on the particles' ``(y, phi)`` and pt (further features such as the
    pid are carried along unchanged):

    1. ``center``: shift so that the pt-weighted centroid of the particles is at ``(0, 0)``;
       phi is first taken relative to the hardest particle, so jets at phi ~ 0 ~ 2 pi are handled.
    2. ``rotate``: rotate about the centroid so that the principal axis of the pt-weighted
       ``(y, phi)`` distribution lies along y (the direction of largest spread becomes y).
    3. ``reflect``: flip y and phi so that the halves ``y > 0`` and ``phi > 0`` carry at least as
       much pt as the opposite halves.
    4. ``normalize``: divide the pts by their sum, so each jet's pt adds up to 1.

    Parameters
    ----------
    center : bool, default=True
    rotate : bool, default=True
    reflect : bool, default=True
    normalize : bool, default=True

    Attributes
    ----------
    n_particle_features_ : int
        Number of features per particle seen in ``fit``.

    See Also
    --------
    JetObservables : jet observables as a 2-D feature matrix.

    References
    ----------
    .. [1] L. de Oliveira et al., "Jet-images — deep learning edition", JHEP 07 (2016) 069.

    Examples
    --------
    >>> from sklhep.datasets import make_jets
    >>> from sklhep.preprocessing import JetPreprocessor
    >>> X, _ = make_jets(5, random_state=0)
    >>> Z = JetPreprocessor().fit_transform(X)
    >>> bool(np.allclose(Z[..., 0].sum(axis=1), 1.0))
    True
    """

    _parameter_constraints = {
        "center": ["boolean"],
        "rotate": ["boolean"],
        "reflect": ["boolean"],
        "normalize": ["boolean"],
    }

    def __init__(self, center=True, rotate=True, reflect=True, normalize=True):
        self.center = center
        self.rotate = rotate
        self.reflect = reflect
        self.normalize = normalize

    def transform(self, X):
        """Standardise the jets.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays

        Returns
        -------
        Xt : ndarray of shape (n_jets, n_particles, n_features)
            Particles sorted by decreasing pt, zero-padded; empty jets stay all zero.
        """
        X, mask, ref = self._check_fitted_input(X)
        pt = X[..., 0]
        total = pt.sum(axis=1)
        safe = np.where(total > 0, total, 1.0)
        z = pt / safe[:, None]
        yy, pp = X[..., 1], X[..., 2]
        if self.center:
            yy = yy - (z * yy).sum(axis=1, keepdims=True)
            pp = pp - (z * pp).sum(axis=1, keepdims=True)
        else:
            pp = pp + ref[:, None]
        if self.rotate:
            cy = (z * yy).sum(axis=1, keepdims=True)
            cp = (z * pp).sum(axis=1, keepdims=True)
            dy, dp = yy - cy, pp - cp
            syy, spp, syp = (z * dy * dy).sum(1), (z * dp * dp).sum(1), (z * dy * dp).sum(1)
            # Angle of the principal axis (largest eigenvector of the 2x2 covariance) from y.
            angle = 0.5 * np.arctan2(2.0 * syp, syy - spp)
            c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
            yy, pp = cy + c * dy + s * dp, cp - s * dy + c * dp
        if self.reflect:
            for coord in (yy, pp):
                flip = (pt * (coord > 0)).sum(axis=1) < (pt * (coord < 0)).sum(axis=1)
                coord[flip] *= -1.0
        out = X.copy()
        out[..., 1], out[..., 2] = yy, pp
        if self.normalize:
            out[..., 0] = z
        out[~mask] = 0.0
        return out

    def get_feature_names_out(self, input_features=None):
        """Per-particle feature names: ``pt, y, phi`` and ``f3, f4, ...`` for further columns."""
        check_is_fitted(self, "n_particle_features_")
        names = ["pt", "y", "phi"] + [f"f{i}" for i in range(3, self.n_particle_features_)]
        return np.asarray(names, dtype=object)


_OBSERVABLES = ("multiplicity", "mass", "width", "ptd", "e2", "c2", "d2", "tau1", "tau2", "tau21")


def _angular_distances(X, beta):
    """Pairwise (y, phi) distances to the power beta for a batch of equally padded jets."""
    dy = X[:, :, None, 1] - X[:, None, :, 1]
    dp = _wrap(X[:, :, None, 2] - X[:, None, :, 2])
    return np.hypot(dy, dp) ** beta


def _ecf_batch(X, z, beta, chunk=64):
    """e2 and e3 energy correlation functions, jets grouped by multiplicity to bound the cost."""
    n = X.shape[0]
    mult = (z > 0).sum(axis=1)
    order = np.argsort(mult, kind="stable")
    e2, e3 = np.zeros(n), np.zeros(n)
    for start in range(0, n, chunk):
        idx = order[start : start + chunk]
        w = max(int(mult[idx].max()), 1)
        d = _angular_distances(X[idx, :w], beta)
        zz = z[idx, :w]
        sq = np.sqrt(zz)
        a = sq[:, :, None] * d * sq[:, None, :]
        e2[idx] = 0.5 * np.einsum("ni,nij,nj->n", zz, d, zz)
        e3[idx] = np.einsum("nij,nij->n", a @ a, a) / 6.0
    return e2, e3


def _nsubjettiness(y, p, z, mask, beta, n_iter=5):
    """tau1 about the jet axis and tau2 about two axes from a few weighted k-means steps."""
    r1 = np.hypot(y, p)
    tau1 = (z * r1**beta).sum(axis=1)
    rows = np.arange(y.shape[0])
    # Seeds: the hardest particle, and the one that is far from it and hard.
    ay, ap = y[:, 0].copy(), p[:, 0].copy()
    score = np.where(mask, z * ((y - ay[:, None]) ** 2 + (p - ap[:, None]) ** 2), -1.0)
    j = np.argmax(score, axis=1)
    by, bp = y[rows, j], p[rows, j]
    for _ in range(n_iter):
        da = (y - ay[:, None]) ** 2 + (p - ap[:, None]) ** 2
        db = (y - by[:, None]) ** 2 + (p - bp[:, None]) ** 2
        in_a = da <= db
        wa, wb = z * in_a, z * ~in_a
        sa, sb = wa.sum(axis=1), wb.sum(axis=1)
        ok_a, ok_b = sa > 0, sb > 0
        ay = np.where(ok_a, (wa * y).sum(1) / np.where(ok_a, sa, 1), ay)
        ap = np.where(ok_a, (wa * p).sum(1) / np.where(ok_a, sa, 1), ap)
        by = np.where(ok_b, (wb * y).sum(1) / np.where(ok_b, sb, 1), by)
        bp = np.where(ok_b, (wb * p).sum(1) / np.where(ok_b, sb, 1), bp)
    da = np.hypot(y - ay[:, None], p - ap[:, None])
    db = np.hypot(y - by[:, None], p - bp[:, None])
    tau2 = (z * np.minimum(da, db) ** beta).sum(axis=1)
    return tau1, np.minimum(tau2, tau1)


class JetObservables(_JetTransformer):
    """Classic jet substructure observables as a 2-D feature matrix.

    With ``z_i = pt_i / sum(pt)`` and ``R_i`` the (y, phi) distance to the jet axis (the direction
    of the jet's four-momentum, particles taken massless):

    - ``multiplicity``: number of particles;
    - ``mass``: invariant mass of the jet's four-momentum (GeV if pt is in GeV);
    - ``width``: girth, ``sum_i z_i R_i``;
    - ``ptd``: ``sqrt(sum_i z_i**2)``;
    - ``e2``, ``c2``, ``d2``: energy correlation functions
      ``e2 = sum_{i<j} z_i z_j R_ij**beta``,
      ``e3 = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)**beta``,
      and the ratios ``c2 = e3 / e2**2``, ``d2 = e3 / e2**3`` (0 when ``e2 = 0``);
    - ``tau1``, ``tau2``, ``tau21``: N-subjettiness ``tau_N = sum_i z_i min_k R_ik**beta``, with
      ``tau1`` about the jet axis and ``tau2`` about two axes found by a few pt-weighted k-means
      steps (an approximate minimum, cheap and vectorised); ``tau21 = tau2 / tau1``.

    Parameters
    ----------
    observables : list of str or None, default=None
        The observables to compute, in this order; None computes all of
        ``multiplicity, mass, width, ptd, e2, c2, d2, tau1, tau2, tau21``.
    beta : float, default=1.0
        Angular exponent of the energy correlation functions and N-subjettiness.

    Attributes
    ----------
    n_particle_features_ : int
        Number of features per particle seen in ``fit``.
    observables_ : list of str
        The observables computed.

    References
    ----------
    .. [1] A. J. Larkoski, G. P. Salam, J. Thaler, "Energy correlation functions for jet
       substructure", JHEP 06 (2013) 108.
    .. [2] J. Thaler, K. Van Tilburg, "Identifying boosted objects with N-subjettiness",
       JHEP 03 (2011) 015.
    .. [3] J. Gallicchio, M. D. Schwartz, "Quark and gluon jet substructure", JHEP 04 (2013) 090.

    Examples
    --------
    >>> from sklhep.datasets import make_jets
    >>> from sklhep.preprocessing import JetObservables
    >>> X, _ = make_jets(10, random_state=0)
    >>> obs = JetObservables(observables=["multiplicity", "width"]).fit(X)
    >>> obs.transform(X).shape, obs.get_feature_names_out().tolist()
    ((10, 2), ['multiplicity', 'width'])
    """

    _parameter_constraints = {
        # names checked against the known observables; a lone string gets its own hint
        "observables": ["array-like", str, None],
        "beta": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, observables=None, beta=1.0):
        self.observables = observables
        self.beta = beta

    def _check_params(self):
        if self.observables is None:
            names = list(_OBSERVABLES)
        else:
            if isinstance(self.observables, str):
                raise ValueError(
                    f"observables must be a list of names, not a string; got {self.observables!r}"
                    f" (use [{self.observables!r}])."
                )
            names = list(self.observables)
            unknown = [n for n in names if n not in _OBSERVABLES]
            if unknown or not names:
                raise ValueError(
                    f"Unknown or no observables {unknown}; choose from {list(_OBSERVABLES)}."
                )
        self.observables_ = names

    def transform(self, X):
        """Compute the observables.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
            Jets with at least one particle each.

        Returns
        -------
        features : ndarray of shape (n_jets, n_observables)
        """
        check_is_fitted(self, "observables_")
        try:
            X, mask, _ = self._check_fitted_input(X, allow_empty_jets=False)
        except ValueError as exc:
            if "empty jet" in str(exc):
                raise ValueError(
                    f"{exc} Observables of an empty jet are undefined; remove such jets first "
                    f"(e.g. with the selection mask of DetectorSmearing)."
                ) from exc
            raise
        names = self.observables_
        pt, y, p = X[..., 0], X[..., 1], X[..., 2]
        total = pt.sum(axis=1)
        z = pt / total[:, None]
        px, py = (pt * np.cos(p)).sum(1), (pt * np.sin(p)).sum(1)
        pz, e = (pt * np.sinh(y)).sum(1), (pt * np.cosh(y)).sum(1)
        out = {}
        out["multiplicity"] = mask.sum(axis=1).astype(float)
        if "mass" in names:
            out["mass"] = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
        # Coordinates relative to the jet axis.
        yj = 0.5 * np.log((e + pz) / (e - pz))
        pj = np.arctan2(py, px)
        ry = np.where(mask, y - yj[:, None], 0.0)
        rp = np.where(mask, _wrap(p - pj[:, None]), 0.0)
        if "width" in names:
            out["width"] = (z * np.hypot(ry, rp)).sum(axis=1)
        if "ptd" in names:
            out["ptd"] = np.sqrt((z * z).sum(axis=1))
        if {"e2", "c2", "d2"} & set(names):
            Xr = np.stack([pt, ry, rp], axis=-1)
            e2, e3 = _ecf_batch(Xr, z, self.beta)
            pos = e2 > 0
            safe = np.where(pos, e2, 1.0)
            out["e2"] = e2
            out["c2"] = np.where(pos, e3 / safe**2, 0.0)
            out["d2"] = np.where(pos, e3 / safe**3, 0.0)
        if {"tau1", "tau2", "tau21"} & set(names):
            tau1, tau2 = _nsubjettiness(ry, rp, z, mask, self.beta)
            out["tau1"], out["tau2"] = tau1, tau2
            out["tau21"] = np.where(tau1 > 0, tau2 / np.where(tau1 > 0, tau1, 1.0), 0.0)
        return np.column_stack([out[n] for n in names])

    def get_feature_names_out(self, input_features=None):
        """The observable names, in the column order of ``transform``."""
        check_is_fitted(self, "observables_")
        return np.asarray(self.observables_, dtype=object)


class EFPTransformer(_JetTransformer):
    """Energy flow polynomials of jets, computed with energyflow's ``EFPSet``.

    EFPs are a linear basis of infrared- and collinear-safe jet observables: each multigraph
    ``G`` gives ``EFP_G = sum_{i_1..i_N} z_{i_1}...z_{i_N} prod_{(k,l) in G} theta_{i_k i_l}``, with
    ``z_i`` the pt fractions and ``theta_ij = R_ij**beta``. A linear model on EFPs up to degree
    ``d`` is a strong quark/gluon baseline.

    Parameters
    ----------
    dmax : int, default=5
        Largest degree (number of edges) of the multigraphs.
    select : str or None, default=None
        Further selection in energyflow's syntax, e.g. ``"p==1"`` (prime graphs only) or
        ``"n<=4"``; combined with ``d<=dmax``.
    measure : {"hadr", "hadrdot"}, default="hadr"
        energyflow's hadronic measure.
    beta : float, default=1.0
        Angular exponent.
    normed : bool, default=True
        Use pt fractions (True) or pts (False).
    n_jobs : int or None, default=None
        joblib workers: the jets are split in four chunks per worker (one chunk for one worker),
        computed in parallel with :class:`sklearn.utils.parallel.Parallel` (so
        ``joblib.parallel_backend("dask")`` applies); None means 1, -1 all cores.
    verbose : int, default=0
        Show a progress bar over completed chunks when > 0.

    Attributes
    ----------
    n_particle_features_ : int
    efpset_ : energyflow.EFPSet
    n_features_out_ : int
        Number of EFPs.

    References
    ----------
    .. [1] P. T. Komiske, E. M. Metodiev, J. Thaler, "Energy flow polynomials: a complete linear
       basis for jet substructure", JHEP 04 (2018) 013.

    Examples
    --------
    >>> from sklhep.datasets import make_jets
    >>> from sklhep.preprocessing import EFPTransformer
    >>> X, _ = make_jets(4, random_state=0)
    >>> EFPTransformer(dmax=3).fit_transform(X).shape
    (4, 13)
    """

    _parameter_constraints = {
        "dmax": [Interval(Integral, 1, 10, closed="both")],
        "select": [str, None],
        "measure": [StrOptions({"hadr", "hadrdot"})],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "normed": ["boolean"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, dmax=5, select=None, measure="hadr", beta=1.0, normed=True, n_jobs=None,
                 verbose=0):
        self.dmax = dmax
        self.select = select
        self.measure = measure
        self.beta = beta
        self.normed = normed
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_params(self):
        ef = import_optional("energyflow", purpose="EFPTransformer")
        args = [f"d<={int(self.dmax)}"] + ([self.select] if self.select else [])
        try:
            efpset = ef.EFPSet(*args, measure=self.measure, beta=self.beta, normed=self.normed,
                               coords="ptyphim", verbose=0)
        except Exception as exc:
            raise ValueError(f"energyflow rejected the EFP selection {args}: {exc}") from exc
        if efpset.count() == 0:
            raise ValueError(f"The selection {args} leaves no energy flow polynomials.")
        self.efpset_ = efpset
        self.n_features_out_ = int(efpset.count())

    def transform(self, X):
        """Compute the EFPs.

        Parameters
        ----------
        X : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays

        Returns
        -------
        efps : ndarray of shape (n_jets, n_features_out_)
        """
        check_is_fitted(self, "efpset_")
        X, mask, _ = self._check_fitted_input(X, allow_empty_jets=False)
        jets = [x[m, :3] for x, m in zip(X, mask)]
        chunks = _chunks(jets, effective_n_jobs(self.n_jobs))
        parts = Parallel(n_jobs=self.n_jobs, return_as="generator")(
            delayed(self.efpset_.batch_compute)(chunk, 1) for chunk in chunks
        )
        if self.verbose:  # counts chunks as they complete, in order
            from tqdm.auto import tqdm

            parts = tqdm(parts, total=len(chunks), desc="EFPs", unit="chunk")
        return np.concatenate(list(parts), axis=0)

    def get_feature_names_out(self, input_features=None):
        """``efp{i}_d{d}_n{n}``: running index, degree (edges) and number of vertices."""
        check_is_fitted(self, "efpset_")
        names = [f"efp{i}_d{d}_n{n}" for i, (n, _, d, *_) in enumerate(self.efpset_.specs)]
        return np.asarray(names, dtype=object)


def _chunks(jets, n_workers):
    """Four chunks per joblib worker (one for a single worker), so the work is balanced."""
    n_chunks = 1 if n_workers == 1 else 4 * n_workers
    bounds = np.linspace(0, len(jets), min(n_chunks, len(jets)) + 1).astype(int)
    return [jets[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
