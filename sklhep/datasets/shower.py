"""A fast, vectorised parton shower with a simple hadronisation: quark and gluon jets in pure numpy.

The shower is a toy with the right leading logarithms, not a substitute for Pythia: it knows the
soft-collinear emission law, colour factors, running coupling, angular ordering and secondary
showering of emitted gluons, which is what makes quark and gluon jets differ. All jets of a call
are showered together, one veto step per loop over flat arrays, so 100k jets take seconds.

Conventions (those of energyflow's quark/gluon datasets)
-----------------------------------------------------------
* A jet is an array of particles ``(pt, y, phi, pid)``, zero-padded, sorted by decreasing pt.
* The jet axis is at ``y = 0, phi = 0``: particles are placed around it in the small-angle
  approximation (the distance from the axis is ``sqrt(y**2 + phi**2)``), every particle lies within
  ``R`` of the axis, and the particle pts add up exactly to the jet pt. The pt-weighted centroid of
  the particles is the axis up to the small transverse kicks of hadronisation.
* Labels are ``1`` for quark jets and ``0`` for gluon jets.
* Hadrons are massless; ``pid`` is a PDG code: 22 (photon), +-211, +-321, 130 (K_L), +-2212,
  +-2112. Neutral pions and etas are decayed to photon pairs.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_fractions

__all__ = ["make_jets", "make_mixtures"]

CF = 4.0 / 3.0
CA = 3.0
TR = 0.5
NF = 5
MZ = 91.1876

# Overestimate coefficients K (emission density <= (alpha_max/pi) K/z) per splitting mode.
_K_SOFT = {"quark": 2 * CF, "gluon": 2 * CA}
# 'full': g -> gg (softer gluon fraction z <= 1/2):  z P_gg <= 2 C_A (1/2 + 1 + 1/8),
#         g -> q qbar folded on z <= 1/2:           z 2 n_f T_R (z^2 + (1-z)^2) <= n_f T_R / 2.
_K_FULL = {"quark": 2 * CF, "gluon": 2 * CA * 1.625 + NF * TR / 2}

# Hadronisation: light flavours u, d, s coded 1, 2, 3 (negative for antiquarks).
_QCHARGE = np.array([0.0, 2 / 3, -1 / 3, -1 / 3])
# Meson made of quark a and antiquark b (a, b in 1..3) -> PDG id (before photon decays).
_MESON = np.array(
    [
        [0, 0, 0, 0],
        [0, 111, 211, 321],
        [0, -211, 111, 130],
        [0, -321, 130, 221],
    ]
)
# Two-body decays done in the jet: parent -> (daughter 1, daughter 2, parent mass in GeV).
_DECAYS = {111: (22, 22, 0.1349768), 221: (22, 22, 0.547862), 113: (211, -211, 0.77526)}


def _rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=4)
    return np.random.default_rng(seed)


def alphas(kt, alphas_mz=0.118):
    """One-loop running coupling with five flavours, alpha_s(kt), kt in GeV."""
    b0 = (33.0 - 2.0 * NF) / (12.0 * np.pi)
    return alphas_mz / (1.0 + 2.0 * b0 * alphas_mz * np.log(np.asarray(kt, dtype=float) / MZ))


def _shower(pt, is_gluon, flav, R, kt_cut, splitting, alphas_mz, rng):
    """Shower initiating partons (all at the jet axis); return the final partons as flat arrays."""
    n = pt.size
    jet = np.arange(n)
    y = np.zeros(n)
    phi = np.zeros(n)
    thmax = np.full(n, float(R))
    pt = pt.astype(float).copy()
    gl = is_gluon.copy()
    fl = flav.copy()
    init = np.ones(n, dtype=bool)
    amax = float(alphas(kt_cut, alphas_mz))
    K = _K_FULL if splitting == "full" else _K_SOFT
    done = []
    while jet.size:
        zhi = np.where(gl & (splitting == "full"), 0.5, 1.0)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            zlo = kt_cut / (pt * thmax)
            L = np.log(zhi / zlo)
        alive = L > 0
        if not np.all(alive):
            dead = ~alive
            done.append((jet[dead], pt[dead], y[dead], phi[dead], gl[dead], fl[dead], init[dead]))
            jet, pt, y, phi, thmax, gl, fl, init, zhi, zlo, L = (
                a[alive] for a in (jet, pt, y, phi, thmax, gl, fl, init, zhi, zlo, L)
            )
        m = jet.size
        if m == 0:
            break
        k = np.where(gl, K["gluon"], K["quark"])
        rate = amax / np.pi * k * L
        u = rng.random((5, m))
        th = thmax * u[0] ** (1.0 / rate)
        z = zlo * np.exp(L * u[1])
        kt = z * pt * th
        accept = kt > kt_cut
        with np.errstate(divide="ignore", invalid="ignore"):
            accept &= u[2] * amax < alphas(np.maximum(kt, kt_cut), alphas_mz)
        to_quarks = np.zeros(m, dtype=bool)
        if splitting == "full":
            pq = (1.0 + (1.0 - z) ** 2) / 2.0
            p_gg = 2 * CA * (z * z / (1 - z) + (1 - z) + z * z * (1 - z))
            p_qq = 2 * NF * TR * z * (z * z + (1 - z) ** 2)
            w = np.where(gl, (p_gg + p_qq) / K["gluon"], pq)
            accept &= u[3] < w
            to_quarks = gl & (u[4] * (p_gg + p_qq) < p_qq)
        psi = 2.0 * np.pi * rng.random(m)
        dy, dphi = th * np.cos(psi), th * np.sin(psi)
        cy, cphi = y + (1 - z) * dy, phi + (1 - z) * dphi
        py, pphi = y - z * dy, phi - z * dphi
        r2 = R * R
        accept &= (cy * cy + cphi * cphi < r2) & (py * py + pphi * pphi < r2)
        thmax = th
        i = np.flatnonzero(accept)
        if i.size:
            zi = z[i]
            tq = to_quarks[i]
            # g -> q qbar: the parent becomes a quark of a random light flavour, the child its
            # antiquark; otherwise the child is a gluon and the parent keeps its identity.
            newf = rng.integers(1, 4, size=i.size) * rng.choice([-1, 1], size=i.size)
            child_gl = ~tq
            child_fl = np.where(tq, -newf, 0)
            fl[i] = np.where(tq, newf, fl[i])
            gl[i] = gl[i] & ~tq
            child = (jet[i], zi * pt[i], cy[i], cphi[i], th[i], child_gl, child_fl,
                     np.zeros(i.size, dtype=bool))
            pt[i] *= 1.0 - zi
            y[i], phi[i] = py[i], pphi[i]
            jet, pt, y, phi, thmax, gl, fl, init = (
                np.concatenate([a, b])
                for a, b in zip((jet, pt, y, phi, thmax, gl, fl, init), child)
            )
    return tuple(np.concatenate(parts) for parts in zip(*done))


def _hadronize(jet, pt, y, phi, gl, fl, free, R, rng, *, a=0.3, pt_stop=2.0, sigma_kt=0.3,
               strange=0.15, baryon=0.07, vector=0.5):
    """Independent fragmentation of each parton into massless hadrons along a flavour chain.

    Each step takes a fraction z ~ (1 + a)(1 - z)**a of the chain's remaining pt and makes a hadron
    from the chain's current flavour and a new q qbar pair's antiflavour, so charge is conserved
    along the chain; the chain stops when less than ``pt_stop`` would remain. The last hadron
    closes the chain with the antiflavour of its start, so chains are neutral, except the ``free``
    ones (the initiating quark of a quark jet), whose last antiflavour is random: the jet then
    keeps a charge correlated with its quark's.
    """
    # A gluon's chain starts from a random light quark or antiquark.
    gflav = rng.choice([1, 2, 3], size=gl.size, p=[(1 - strange) / 2, (1 - strange) / 2, strange])
    cur = np.where(gl, gflav * rng.choice([-1, 1], size=gl.size), fl)
    cjet, cpt, cy, cphi, start, cfree = jet, pt, y, phi, np.abs(cur), free
    out = []
    while cjet.size:
        m = cjet.size
        u = rng.random((3, m))
        z = 1.0 - u[0] ** (1.0 / (1.0 + a))
        hpt = z * cpt
        last = (cpt - hpt) < pt_stop
        hpt = np.where(last, cpt, hpt)
        new = np.where(u[1] < strange, 3, np.where(u[2] < 0.5, 1, 2))
        new = np.where(last & ~cfree, start, new)
        sign = np.sign(cur)
        q = np.abs(cur)
        pid = _MESON[q, new] * np.where(np.isin(_MESON[q, new], (111, 130, 221)), 1, sign)
        charge = np.rint(sign * (_QCHARGE[q] - _QCHARGE[new])).astype(int)
        isb = rng.random(m) < baryon
        bpid = np.where(charge > 0, 2212, np.where(charge < 0, -2212, 2112 * sign))
        # A light diagonal pair makes a neutral pion or, with probability `vector`, a rho0.
        rho = (pid == 111) & (rng.random(m) < vector)
        pid = np.where(isb, bpid, np.where(rho, 113, pid))
        out.append((cjet, hpt, cy, cphi, pid))
        cpt = cpt - hpt
        cur = sign * new
        keep = ~last
        cjet, cpt, cy, cphi, cur, start, cfree = (
            v[keep] for v in (cjet, cpt, cy, cphi, cur, start, cfree)
        )
    hjet, hpt, hy, hphi, pid = (np.concatenate(p) for p in zip(*out))

    # Transverse kicks of hadronisation: angle ~ kt / pt, redrawn while outside the jet radius.
    ny, nphi = hy.copy(), hphi.copy()
    redo = np.arange(hpt.size)
    for _ in range(8):
        k = rng.normal(0.0, sigma_kt, size=(2, redo.size)) / hpt[redo]
        ty, tphi = hy[redo] + k[0], hphi[redo] + k[1]
        ok = ty * ty + tphi * tphi < R * R
        ny[redo[ok]], nphi[redo[ok]] = ty[ok], tphi[ok]
        redo = redo[~ok]
        if not redo.size:
            break
    hy, hphi = ny, nphi

    # pi0, eta -> two photons, rho0 -> pi+ pi-: the pt is shared, the opening angle set by the mass.
    dec = np.flatnonzero(np.isin(pid, list(_DECAYS)))
    if dec.size:
        parent = pid[dec]
        mass, d1, d2 = (np.zeros(dec.size) for _ in range(3))
        for code, (a1, a2, mm) in _DECAYS.items():
            sel = parent == code
            d1[sel], d2[sel], mass[sel] = a1, a2, mm
        zz = np.clip(rng.random(dec.size), 0.05, 0.95)
        p = hpt[dec]
        delta = mass / (p * np.sqrt(zz * (1 - zz)))
        psi = 2.0 * np.pi * rng.random(dec.size)
        ey, ephi = np.cos(psi), np.sin(psi)
        y1, p1 = hy[dec] + (1 - zz) * delta * ey, hphi[dec] + (1 - zz) * delta * ephi
        y2, p2 = hy[dec] - zz * delta * ey, hphi[dec] - zz * delta * ephi
        # Keep both daughters inside the jet: if either would leave it, they stay collinear.
        out_r = (y1 * y1 + p1 * p1 >= R * R) | (y2 * y2 + p2 * p2 >= R * R)
        y1, p1 = np.where(out_r, hy[dec], y1), np.where(out_r, hphi[dec], p1)
        y2, p2 = np.where(out_r, hy[dec], y2), np.where(out_r, hphi[dec], p2)
        hpt[dec], hy[dec], hphi[dec], pid[dec] = zz * p, y1, p1, d1
        hjet = np.concatenate([hjet, hjet[dec]])
        hpt = np.concatenate([hpt, (1 - zz) * p])
        hy = np.concatenate([hy, y2])
        hphi = np.concatenate([hphi, p2])
        pid = np.concatenate([pid, d2.astype(pid.dtype)])
    return hjet, hpt, hy, hphi, pid


def _pad(n_jets, jet, pt, y, phi, pid, max_particles):
    """Flat particle lists -> (n_jets, max_particles, 4) array, pt-ordered within each jet."""
    order = np.lexsort((-pt, jet))
    jet, pt, y, phi, pid = (v[order] for v in (jet, pt, y, phi, pid))
    counts = np.bincount(jet, minlength=n_jets)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(jet.size) - np.repeat(starts, counts)
    width = int(counts.max()) if max_particles is None else int(max_particles)
    keep = pos < width
    X = np.zeros((n_jets, width, 4))
    X[jet[keep], pos[keep]] = np.column_stack([pt, y, phi, pid])[keep]
    return X


def _check_params(n_jets, pt, R, kt_cut, splitting, alphas_mz, max_particles):
    if isinstance(n_jets, bool) or not isinstance(n_jets, (int, np.integer)) or n_jets < 1:
        raise ValueError(f"n_jets must be a positive integer; got {n_jets!r}.")
    pt_arr = np.asarray(pt, dtype=float)
    if pt_arr.ndim > 1 or (pt_arr.ndim == 1 and pt_arr.size != 2):
        raise ValueError(
            f"pt must be a number or a (pt_min, pt_max) pair; got an array of shape {pt_arr.shape}."
        )
    if not np.all(np.isfinite(pt_arr)) or np.any(pt_arr <= 0):
        raise ValueError(f"pt must be positive and finite; got {pt!r}.")
    if pt_arr.ndim == 1 and pt_arr[0] > pt_arr[1]:
        raise ValueError(f"pt=(pt_min, pt_max) needs pt_min <= pt_max; got {pt!r}.")
    if not (np.isfinite(R) and 0 < R <= 1.5):
        raise ValueError(f"R must be a jet radius in (0, 1.5]; got {R!r}.")
    if not (np.isfinite(kt_cut) and kt_cut > 0.4):
        raise ValueError(
            f"kt_cut must be above 0.4 GeV (the coupling's Landau pole is near 0.09 GeV and the "
            f"shower is perturbative only above ~1 GeV); got {kt_cut!r}."
        )
    if np.min(pt_arr) * R <= kt_cut:
        raise ValueError(
            f"pt * R must exceed kt_cut for any emission to be possible; got pt={pt!r}, R={R!r}, "
            f"kt_cut={kt_cut!r}."
        )
    if splitting not in ("soft", "full"):
        raise ValueError(f"splitting must be 'soft' or 'full'; got {splitting!r}.")
    if not (0.05 <= alphas_mz <= 0.2):
        raise ValueError(f"alphas_mz must lie in [0.05, 0.2]; got {alphas_mz!r}.")
    if max_particles is not None and (
        isinstance(max_particles, bool)
        or not isinstance(max_particles, (int, np.integer))
        or max_particles < 1
    ):
        raise ValueError(
            f"max_particles must be None or a positive integer; got {max_particles!r}."
        )
    return pt_arr


def _generate(labels, pt_arr, R, kt_cut, splitting, alphas_mz, hadronize, max_particles, rng):
    n = labels.size
    if pt_arr.ndim == 0:
        pts = np.full(n, float(pt_arr))
    else:
        pts = rng.uniform(pt_arr[0], pt_arr[1], size=n)
    is_gluon = labels == 0
    # Light-quark initiators u:d:s = 5:3:2 (a Z+jet-like mix), quark or antiquark at random.
    qf = rng.choice([1, 2, 3], size=n, p=[0.5, 0.3, 0.2]) * rng.choice([-1, 1], size=n)
    flav = np.where(is_gluon, 0, qf)
    jet, ppt, y, phi, gl, fl, init = _shower(
        pts, is_gluon, flav, R, kt_cut, splitting, alphas_mz, rng
    )
    if hadronize:
        free = init & ~is_gluon[jet]
        jet, ppt, y, phi, pid = _hadronize(jet, ppt, y, phi, gl, fl, free, R, rng)
    else:
        pid = np.where(gl, 21, fl)
    return _pad(n, jet, ppt, y, phi, pid.astype(float), max_particles)


def make_jets(n_jets, flavor="quark", pt=500.0, R=0.4, random_state=None, *, splitting="soft",
              kt_cut=1.0, alphas_mz=0.118, hadronize=True, max_particles=None):
    """Generate quark or gluon jets with a fast built-in parton shower and hadronisation.

    Each jet starts as one parton of transverse momentum ``pt`` along the jet axis. Partons emit
    gluons with the soft-collinear probability

    .. math:: dP = \\frac{2 \\alpha_s(k_T)}{\\pi} C_i \\frac{d\\theta}{\\theta} \\frac{dz}{z},
              \\qquad k_T = z\\, p_T\\, \\theta > k_{T,\\mathrm{cut}},

    with :math:`C_F = 4/3` for quarks and :math:`C_A = 3` for gluons, ordered in decreasing angle
    :math:`\\theta < R` and generated with the Sudakov veto algorithm; the coupling runs at one loop
    from :math:`\\alpha_s(m_Z)`. Emitted gluons shower again inside their emission angle (angular
    ordering), and emissions that would leave the jet radius are vetoed. Final partons fragment
    independently along a flavour chain (a gluon as two string ends) into massless hadrons with
    Gaussian transverse kicks; neutral pions and etas decay to photon pairs, rho0 to pion pairs.

    Parameters
    ----------
    n_jets : int
        Number of jets.
    flavor : {"quark", "gluon", "both"}, default="quark"
        The initiating parton. ``"both"`` draws each jet's flavour with probability 1/2.
    pt : float or (float, float), default=500.0
        Jet transverse momentum in GeV, or a range from which each jet's pt is drawn uniformly.
    R : float, default=0.4
        Jet radius: every particle lies within ``R`` of the axis ``(y, phi) = (0, 0)``.
    random_state : int, RandomState, Generator or None, default=None
        Seed for reproducible jets.
    splitting : {"soft", "full"}, default="soft"
        ``"soft"`` uses the soft-collinear law above; ``"full"`` uses the full leading-order
        splitting functions P_qq, P_gg and P_qg (including g -> q qbar).
    kt_cut : float, default=1.0
        Shower cut-off in GeV on the emission's relative transverse momentum.
    alphas_mz : float, default=0.118
        The strong coupling at the Z mass.
    hadronize : bool, default=True
        If False, return the final partons (pid 21 for gluons, +-1, +-2, +-3 for light quarks).
    max_particles : int or None, default=None
        Width of the padded array; None fits the largest jet. A smaller value drops the softest
        particles of larger jets (their pt then no longer sums to the jet pt).

    Returns
    -------
    X : ndarray of shape (n_jets, max_particles, 4)
        Particles ``(pt, y, phi, pid)`` per jet, sorted by decreasing pt and zero-padded.
    y : ndarray of shape (n_jets,)
        1 for quark jets, 0 for gluon jets.

    See Also
    --------
    make_mixtures : two samples with chosen quark fractions.

    References
    ----------
    .. [1] S. Catani, B. R. Webber, G. Marchesini, "QCD coherent branching and semi-inclusive
       processes at large x", Nucl. Phys. B 349 (1991) 635.
    .. [2] T. Sjöstrand et al., "An introduction to PYTHIA 8.2", Comput. Phys. Commun. 191 (2015)
       159 (the veto algorithm, Sec. 2.1).
    .. [3] R. D. Field, R. P. Feynman, "A parametrization of the properties of quark jets",
       Nucl. Phys. B 136 (1978) 1.

    Examples
    --------
    >>> from sklhep.datasets import make_jets
    >>> X, y = make_jets(100, flavor="gluon", random_state=0)
    >>> X.shape[0], X.shape[2], int(y.sum())
    (100, 4, 0)
    >>> bool(abs(X[:, :, 0].sum(axis=1) - 500.0).max() < 1e-6)
    True
    """
    pt_arr = _check_params(n_jets, pt, R, kt_cut, splitting, alphas_mz, max_particles)
    if flavor not in ("quark", "gluon", "both"):
        raise ValueError(f"flavor must be 'quark', 'gluon' or 'both'; got {flavor!r}.")
    rng = _rng(random_state)
    if flavor == "both":
        labels = rng.integers(0, 2, size=n_jets)
    else:
        labels = np.full(n_jets, int(flavor == "quark"))
    X = _generate(labels, pt_arr, R, kt_cut, splitting, alphas_mz, hadronize, max_particles, rng)
    return X, labels


def make_mixtures(n, fractions=(0.8, 0.2), pt=500.0, R=0.4, random_state=None, *,
                  splitting="soft", kt_cut=1.0, alphas_mz=0.118, max_particles=None, shuffle=True):
    """Two mixed samples of quark and gluon jets with known quark fractions.

    Mixture 1 holds ``round(f1 * n1)`` quark jets and the rest gluon jets, mixture 2 likewise
    with ``f2``: the fractions are exact, not binomial draws. This is the setting of
    classification without labels (CWoLa) and of jet topics.

    Parameters
    ----------
    n : int or (int, int)
        Jets per mixture (the same for both, or one number per mixture).
    fractions : (float, float), default=(0.8, 0.2)
        Quark fractions f1 and f2 of mixtures 1 and 2, each in [0, 1].
    pt, R, random_state, splitting, kt_cut, alphas_mz, max_particles
        As in :func:`make_jets`.
    shuffle : bool, default=True
        Shuffle the jets of the two mixtures together; otherwise mixture 1 comes first.

    Returns
    -------
    X : ndarray of shape (n1 + n2, max_particles, 4)
        The jets of both mixtures.
    y_mixture : ndarray of shape (n1 + n2,)
        The label a CWoLa classifier sees: 1 for jets of mixture 1 (quark fraction f1), 0 for
        mixture 2 (quark fraction f2).
    y_true : ndarray of shape (n1 + n2,)
        The hidden truth: 1 for quark jets, 0 for gluon jets.

    Examples
    --------
    >>> from sklhep.datasets import make_mixtures
    >>> X, y_mix, y_true = make_mixtures(100, fractions=(0.7, 0.3), random_state=0)
    >>> float(y_true[y_mix == 1].mean()), float(y_true[y_mix == 0].mean())
    (0.7, 0.3)
    """
    n_pair = np.broadcast_to(np.asarray(n), (2,)) if np.ndim(n) == 0 else np.asarray(n)
    if (
        n_pair.shape != (2,)
        or n_pair.dtype.kind not in "iu"
        or np.any(n_pair < 1)
    ):
        raise ValueError(f"n must be a positive integer or a pair of them; got {n!r}.")
    f = check_fractions(fractions, distinct=False, meaning="quark fractions")
    n1, n2 = (int(v) for v in n_pair)
    pt_arr = _check_params(n1 + n2, pt, R, kt_cut, splitting, alphas_mz, max_particles)
    rng = _rng(random_state)
    nq1, nq2 = int(round(f[0] * n1)), int(round(f[1] * n2))
    y_true = np.concatenate([np.ones(nq1), np.zeros(n1 - nq1), np.ones(nq2), np.zeros(n2 - nq2)])
    y_mix = np.concatenate([np.ones(n1), np.zeros(n2)])
    y_true, y_mix = y_true.astype(int), y_mix.astype(int)
    X = _generate(y_true, pt_arr, R, kt_cut, splitting, alphas_mz, True, max_particles, rng)
    if shuffle:
        perm = rng.permutation(n1 + n2)
        X, y_mix, y_true = X[perm], y_mix[perm], y_true[perm]
    return X, y_mix, y_true
