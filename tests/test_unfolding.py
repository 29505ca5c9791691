"""Unfolding: IterativeBayesUnfolder against pyunfold and toys, OmniFold against the exact EM
recursion of the Gaussian toy, and the binned identity of the two."""

import functools
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone

import sklhep
from sklhep.datasets import make_gaussian_unfolding
from sklhep.unfolding import IterativeBayesUnfolder, OmniFoldUnfolder


def em_recursion(k, mu_sim=0.0, s_sim=1.0, mu_nat=0.2, s_nat=0.8, smear=0.5):
    """Exact (mean, std) of IBU/OmniFold iteration k for Gaussians with Gaussian smearing.

    With prior N(mu, s^2) the posterior of t given x has mean mu + a (x - mu), a = s^2/(s^2+e^2),
    and variance s^2 e^2/(s^2+e^2); averaging over the data's x ~ N(mu_nat, s_nat^2 + e^2) gives
    the next prior.
    """
    mu, var = mu_sim, s_sim**2
    for _ in range(k):
        a = var / (var + smear**2)
        mu, var = mu + a * (mu_nat - mu), var * smear**2 / (var + smear**2) + a**2 * (
            s_nat**2 + smear**2
        )
    return mu, np.sqrt(var)


@functools.lru_cache(maxsize=4)
def _smearing_grid(smear):
    from scipy.stats import norm

    t, x = np.linspace(-7, 7, 701), np.linspace(-8, 8, 801)
    return t, x, norm.pdf(x[:, None], t[None, :], smear)


def purity_recursion(k, efficiency=0.9, fake_rate=0.1, fake_density="simulation", mu_sim=0.0,
                     s_sim=1.0, mu_nat=0.2, s_nat=0.8, smear=0.5):
    """(mean, std) of iteration k of any unfolding that corrects fakes by the simulated purity
    (IBU's purity factor, OmniFold's step 2b) and misses by the efficiency, on the Gaussian toy of
    ``make_gaussian_unfolding``, in the limit of infinite statistics and bins (a fine grid).

    With ``fake_density="sample"`` the purity is the same in nature and simulation and this is
    the fake-free EM recursion; with ``"simulation"`` nature's fakes keep the simulation's shape
    and the fixed point moves.
    """
    from scipy.stats import norm

    t, x, K = _smearing_grid(smear)
    R = efficiency * K  # p(reco x, passes | t)
    sim, nat = norm.pdf(t, mu_sim, s_sim), norm.pdf(t, mu_nat, s_nat)
    c = fake_rate / (1 - fake_rate)
    sim_real, nat_real = (R @ sim) * (t[1] - t[0]), (R @ nat) * (t[1] - t[0])  # densities in x
    if fake_density == "sample":
        sim_fakes, nat_fakes = c * sim_real, c * nat_real
    else:
        sim_fakes = nat_fakes = c * efficiency * norm.pdf(x, mu_sim, np.hypot(s_sim, smear))
    data = (nat_real + nat_fakes) * sim_real / (sim_real + sim_fakes)
    n = sim
    for _ in range(k):
        n = n / efficiency * (R.T @ (data / (R @ n)))
    mean = np.sum(n * t) / np.sum(n)
    return mean, np.sqrt(np.sum(n * (t - mean) ** 2) / np.sum(n))


def test_purity_recursion():
    """The grid recursion is the EM recursion when nature's purity is the simulation's, and it
    moves (mean -0.020, std +0.025 at k = 8) when nature's fakes keep the simulation's shape."""
    for k in (1, 4, 8):
        np.testing.assert_allclose(purity_recursion(k, fake_density="sample"), em_recursion(k),
                                   atol=1e-4)
    np.testing.assert_allclose(purity_recursion(8), (0.180, 0.825), atol=1e-3)
    np.testing.assert_allclose(purity_recursion(8, fake_rate=0.0), em_recursion(8), atol=1e-4)


def test_em_recursion_matches_the_papers_numbers():
    for k, (m, s) in {1: (0.160, 0.877), 4: (0.199, 0.808), 8: (0.200, 0.800)}.items():
        mu, sd = em_recursion(k)
        assert abs(mu - m) < 6e-4 and abs(sd - s) < 6e-4


# --------------------------------------------------------------------------------------------------
# IterativeBayesUnfolder
# --------------------------------------------------------------------------------------------------
def _toy(n=20000, efficiency=0.8, fake_rate=0.1, seed=0):
    return make_gaussian_unfolding(n, efficiency=efficiency, fake_rate=fake_rate,
                                   random_state=seed)


EDGES_R = np.linspace(-3.5, 3.5, 15)
EDGES_G = np.linspace(-3.0, 3.0, 11)


def _fit_ibu(d, n_iterations=4, **kw):
    return IterativeBayesUnfolder(EDGES_R, EDGES_G, n_iterations=n_iterations, **kw).fit(
        d.sim_reco, d.sim_truth, d.nature_reco[d.nature_pass_reco],
        pass_reco=d.sim_pass_reco, pass_gen=d.sim_pass_truth,
    )


@pytest.mark.parametrize("prior", ["simulation", "uniform"])
def test_ibu_equals_pyunfold(prior):
    pyunfold = pytest.importorskip("pyunfold")
    d = _toy()
    ibu = _fit_ibu(d, n_iterations=5, prior=prior)
    data = ibu.purity_ * ibu.data_
    eff = ibu.efficiency_
    res = pyunfold.iterative_unfold(
        data=data, data_err=ibu.purity_ * np.sqrt(ibu.data_), response=ibu.response_,
        response_err=np.full_like(ibu.response_, 1e-3), efficiencies=eff,
        efficiencies_err=np.full_like(eff, 1e-3), prior=ibu.prior_ / ibu.prior_.sum(),
        ts_stopping=-1.0, max_iter=5, return_iterations=True,
    )
    ref = np.stack(res["unfolded"].to_numpy())
    np.testing.assert_allclose(ibu.unfolded_history_, ref, rtol=1e-9)
    # Adye's data term agrees at the first iteration; from the second on pyunfold 0.5's
    # propagation departs from the exact derivative (see test_adye_is_the_exact_derivative)
    np.testing.assert_allclose(np.sqrt(np.diag(_fit_ibu(d, 1, prior=prior).covariance_data_)),
                               res["stat_err"].iloc[0], rtol=1e-9)


def test_adye_is_the_exact_derivative():
    """Adye's linear propagation (data and Monte Carlo terms) against finite differences."""
    from sklhep.unfolding import _adye_covariances, _ibu_iterations

    rng = np.random.default_rng(0)
    ne, nc, K, h = 5, 4, 3, 1e-6
    M, miss = rng.uniform(1, 10, (ne, nc)), rng.uniform(1, 5, nc)
    d, prior = rng.uniform(10, 50, ne), np.ones(nc)

    def unfold(M, miss, d):
        R = M / (M.sum(0) + miss)
        return _ibu_iterations(d, R, R.sum(0), prior, K)

    base, states = unfold(M, miss, d)
    R = M / (M.sum(0) + miss)
    jd = np.array([(unfold(M, miss, d + h * (np.arange(ne) == a))[0][-1] - base[-1]) / h
                   for a in range(ne)]).T
    jm = []
    for col in range(nc):
        for a in range(ne + 1):
            M2, miss2 = M.copy(), miss.copy()
            if a < ne:
                M2[a, col] += h
            else:
                miss2[col] += h
            jm.append((unfold(M2, miss2, d)[0][-1] - base[-1]) / h)
    jm = np.array(jm).T
    var_d, var_M = rng.uniform(1, 2, ne), rng.uniform(1, 2, (ne, nc))
    var_miss = rng.uniform(1, 2, nc)
    v_cells = np.concatenate([np.r_[var_M[:, c], var_miss[c]] for c in range(nc)])
    cov_d, cov_mc = _adye_covariances(states, R, R.sum(0), d, var_d, (M, miss), (var_M, var_miss))
    np.testing.assert_allclose(cov_d, (jd * var_d) @ jd.T, rtol=1e-4)
    np.testing.assert_allclose(cov_mc, (jm * v_cells) @ jm.T, rtol=1e-4)


def test_ibu_closure_and_corrections():
    d = _toy(40000)
    ibu = _fit_ibu(d, n_iterations=8)
    truth = np.histogram(d.nature_truth[d.nature_pass_truth, 0], EDGES_G)[0]
    pull = (ibu.unfolded_ - truth) / np.sqrt(np.diag(ibu.covariance_) + truth)
    assert np.all(np.abs(pull) < 4)
    assert abs(ibu.unfolded_.sum() / truth.sum() - 1) < 0.02
    np.testing.assert_allclose(ibu.efficiency_[2:-2], 0.8, atol=0.03)
    assert np.all(ibu.purity_ < 1)
    # Without the corrections the normalisation is off by the inefficiency and fakes
    bad = IterativeBayesUnfolder(EDGES_R, EDGES_G, 8, fakes="ignore").fit(
        d.sim_reco, d.sim_truth, d.nature_reco[d.nature_pass_reco], pass_reco=d.sim_pass_reco,
        pass_gen=d.sim_pass_truth)
    assert bad.unfolded_.sum() / truth.sum() > 1.05


def _poisson_data_toys(ibu_fn, lam_sampler, n_toys, rng):
    out, adye = [], []
    for _ in range(n_toys):
        ibu = ibu_fn(lam_sampler(rng))
        out.append(ibu.unfolded_)
        adye.append(np.sqrt(np.diag(ibu.covariance_data_)))
    return np.array(out), np.array(adye)


@pytest.mark.slow
def test_ibu_adye_data_errors_match_poisson_toys():
    d = _toy(20000, efficiency=0.8, fake_rate=0.0)
    rng = np.random.default_rng(1)
    nature = make_gaussian_unfolding((10, 200000), efficiency=0.8, random_state=2)
    pool = nature.nature_reco[nature.nature_pass_reco]
    n_mean = 4000
    edges_r, edges_g = np.linspace(-3, 3, 9), np.linspace(-2.5, 2.5, 6)

    def one(X_data):
        return IterativeBayesUnfolder(edges_r, edges_g, 4).fit(
            d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco)

    def sample(rng):
        return pool[rng.choice(len(pool), size=rng.poisson(n_mean), replace=False)]

    toys, adye = _poisson_data_toys(one, sample, 1000, rng)
    ratio = adye.mean(axis=0) / toys.std(axis=0, ddof=1)
    assert np.all(np.abs(ratio - 1) < 0.10), ratio


@pytest.mark.slow
@pytest.mark.parametrize("prior, tol", [("uniform", 0.10), ("simulation", 0.15)])
def test_ibu_adye_mc_errors_match_simulation_toys(prior, tol):
    """The response's Monte Carlo term against Poisson resamplings of the simulation.

    The prior is held fixed in the propagation (as Adye and pyunfold do), so with the simulation
    as prior (which fluctuates with it) the agreement is looser.
    """
    d = _toy(4000, efficiency=0.8, fake_rate=0.0)
    X_data = make_gaussian_unfolding((10, 50000), efficiency=0.8, random_state=3).nature_reco
    X_data = X_data[np.all(np.isfinite(X_data), axis=1)]
    edges_r, edges_g = np.linspace(-3, 3, 9), np.linspace(-2.5, 2.5, 6)

    def one(w=None):
        return IterativeBayesUnfolder(edges_r, edges_g, 4, prior=prior).fit(
            d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco, sample_weight=w)

    nominal = np.sqrt(np.diag(one().covariance_mc_))
    rng = np.random.default_rng(4)
    toys = [one(rng.poisson(1.0, size=len(d.sim_truth)).astype(float)).unfolded_
            for _ in range(400)]
    ratio = nominal / np.std(toys, axis=0, ddof=1)
    assert np.all(np.abs(ratio - 1) < tol), ratio


def test_ibu_multidimensional_flattened():
    d = make_gaussian_unfolding(20000, n_features=2, correlation=0.5, random_state=0)
    e = np.linspace(-3, 3, 7)
    ibu = IterativeBayesUnfolder([e, e], [e, e], 6).fit(d.sim_reco, d.sim_truth, d.nature_reco)
    assert ibu.unfolded_.shape == (36,)
    grid = ibu.unfolded_.reshape(ibu.shape_gen_)
    truth = np.histogram2d(*d.nature_truth.T, bins=[e, e])[0]
    assert np.abs(grid - truth).sum() / truth.sum() < 0.08


def test_ibu_histogram_as_hist():
    pytest.importorskip("hist")
    ibu = _fit_ibu(_toy(5000))
    counts, variances, edges = ibu.histogram()
    h = ibu.histogram(as_hist=True)
    np.testing.assert_allclose(h.values(), counts)
    np.testing.assert_allclose(h.variances(), variances)
    np.testing.assert_array_equal(edges, EDGES_G)


def test_ibu_bad_input():
    d = _toy(2000)
    X_data = d.nature_reco[d.nature_pass_reco]
    ibu = IterativeBayesUnfolder(EDGES_R, EDGES_G)
    with pytest.raises(ValueError, match="one row per simulated event"):
        ibu.fit(d.sim_reco, d.sim_truth[:-1], X_data)
    with pytest.raises(ValueError, match="pass_reco must be a boolean mask"):
        ibu.fit(d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco[:-1])
    with pytest.raises(ValueError, match="No simulated event passes"):
        ibu.fit(d.sim_reco, d.sim_truth, X_data, pass_reco=np.zeros(len(d.sim_reco), bool))
    with pytest.raises(ValueError, match="NaN or inf in .* row"):
        ibu.fit(d.sim_reco, d.sim_truth, X_data)  # lost events hold NaN but pass_reco says True
    with pytest.raises(ValueError, match="must be positive"):
        ibu.fit(d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco,
                pass_gen=d.sim_pass_truth, data_weight=-np.ones(len(X_data)))
    with pytest.raises(ValueError, match="prior must be one of"):
        IterativeBayesUnfolder(EDGES_R, EDGES_G, prior="flat").fit(
            d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco,
            pass_gen=d.sim_pass_truth)
    with pytest.raises(ValueError, match="strictly increasing"):
        IterativeBayesUnfolder(EDGES_R[::-1], EDGES_G).fit(
            d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco,
            pass_gen=d.sim_pass_truth)
    with pytest.raises(ValueError, match="2-D"):
        ibu.fit(d.sim_reco[:, 0], d.sim_truth, X_data)


# --------------------------------------------------------------------------------------------------
# OmniFoldUnfolder
# --------------------------------------------------------------------------------------------------
def _exact_histogram_backend(n_bins):
    """The histogram backend reduced to plain bin counts (no smoothing, no interpolation)."""
    return sklhep.get_backend("histogram").set_params(
        bins=n_bins, binning="uniform", smoothing=0.0, interpolation="none"
    )


def _binned_toy(n=10000, seed=0):
    """A toy with truth-dependent misses and with fakes; out-of-range events are misses/fakes."""
    d = make_gaussian_unfolding(n, efficiency=0.9, fake_rate=0.1, random_state=seed)
    rng = np.random.default_rng(seed)
    edges_r, edges_g = np.linspace(-3, 3, 13), np.linspace(-2.5, 2.5, 9)
    t, x = d.sim_truth[:, 0], d.sim_reco[:, 0]
    with np.errstate(invalid="ignore"):
        lost = d.sim_pass_truth & (rng.uniform(size=len(t)) > 0.75 + 0.2 * np.tanh(t))
        reco = d.sim_pass_reco & ~lost & (x >= edges_r[0]) & (x <= edges_r[-1])
        gen = d.sim_pass_truth & (t >= edges_g[0]) & (t <= edges_g[-1])
    keep = reco | gen
    xd = d.nature_reco[d.nature_pass_reco, 0]
    xd = xd[(xd >= edges_r[0]) & (xd <= edges_r[-1])]
    index = lambda v, e: np.clip(np.searchsorted(e, v, side="right") - 1, 0, len(e) - 2)  # noqa
    return {
        "X_reco": d.sim_reco[keep], "X_gen": d.sim_truth[keep], "X_data": xd[:, None],
        "pass_reco": reco[keep], "pass_gen": gen[keep], "edges": (edges_r, edges_g),
        "idx_reco": np.where(reco[keep], index(np.nan_to_num(x[keep]), edges_r), 0.0)[:, None],
        "idx_gen": np.where(gen[keep], index(np.nan_to_num(t[keep]), edges_g), 0.0)[:, None],
        "idx_data": index(xd, edges_r)[:, None].astype(float),
    }


def test_binned_identity_omnifold_histogram_equals_ibu():
    b = _binned_toy()
    edges_r, edges_g = b["edges"]
    eff_check = IterativeBayesUnfolder(edges_r, edges_g, 5).fit(
        b["X_reco"], b["X_gen"], b["X_data"], pass_reco=b["pass_reco"], pass_gen=b["pass_gen"])
    assert eff_check.efficiency_.max() < 0.95 and np.ptp(eff_check.efficiency_) > 0.1
    assert eff_check.purity_.min() < 0.95
    of = OmniFoldUnfolder(
        step1_backend=_exact_histogram_backend(len(edges_r) - 1),
        step2_backend=_exact_histogram_backend(len(edges_g) - 1),
        n_iterations=5, random_state=0,
    ).fit(b["idx_reco"], b["idx_gen"], b["idx_data"], pass_reco=b["pass_reco"],
          pass_gen=b["pass_gen"])
    gen = b["pass_gen"]
    for k in range(5):
        counts = np.bincount(b["idx_gen"][gen, 0].astype(int),
                             weights=of.weights_history_["push"][k][gen],
                             minlength=len(edges_g) - 1)
        np.testing.assert_allclose(counts, eff_check.unfolded_history_[k], rtol=1e-9)


def _closure(of, d, k):
    w = of.weights_history_["push"][k - 1]
    t = d.sim_truth[d.sim_pass_truth, 0]
    w = w[d.sim_pass_truth]
    mean = np.average(t, weights=w)
    return mean, np.sqrt(np.average((t - mean) ** 2, weights=w))


def test_omnifold_gaussian_em_recursion_quick():
    """The paper's toy at 20k events with the (interpolating) histogram backend, 40 bins."""
    d = make_gaussian_unfolding(20000, random_state=0)
    backend = sklhep.get_backend("histogram").set_params(bins=40, binning="uniform")
    of = OmniFoldUnfolder(backend, n_iterations=3, random_state=0).fit(
        d.sim_reco, d.sim_truth, d.nature_reco)
    for k in (1, 2, 3):
        mu, sd = _closure(of, d, k)
        emu, esd = em_recursion(k)
        assert abs(mu - emu) < 0.02 and abs(sd - esd) < 0.02, (k, mu, sd, emu, esd)
    # the normalisation follows the data
    assert abs(of.weights_.sum() / len(d.nature_reco) - 1) < 0.005


def _misses_toy(n, seed, fake_density="sample"):
    return make_gaussian_unfolding(n, efficiency=0.9, fake_rate=0.1, fake_density=fake_density,
                                   random_state=seed)


def _fit_toy(d, **kw):
    return OmniFoldUnfolder(**kw).fit(
        d.sim_reco, d.sim_truth, d.nature_reco[d.nature_pass_reco],
        pass_reco=d.sim_pass_reco, pass_gen=d.sim_pass_truth)


@pytest.mark.slow
def test_misses_and_fakes_regressed_vs_unit_shortcut():
    d = _misses_toy(20000, 1)
    backend = sklhep.get_backend("histogram").set_params(bins=40, binning="uniform")
    good = _fit_toy(d, backend=backend, n_iterations=8, random_state=0)
    bad = _fit_toy(d, backend=backend, n_iterations=8, misses="unit", random_state=0)
    bad_fakes = _fit_toy(d, backend=backend, n_iterations=8, fakes="unit", random_state=0)
    emu, esd = em_recursion(8)
    mu, sd = _closure(good, d, 8)
    assert abs(mu - emu) < 0.02 and abs(sd - esd) < 0.02
    n_true = d.nature_pass_truth.sum()
    assert abs(good.weights_[d.sim_pass_truth].sum() / n_true - 1) < 0.02
    # pull weight 1 for misses keeps 10% of the simulation's truth: the answer is wrong
    mu_b, sd_b = _closure(bad, d, 8)
    assert abs(mu_b - emu) > 0.015 or abs(sd_b - esd) > 0.02
    # push weight 1 for fakes keeps the simulation's fakes under nature's: wrong too
    mu_f, sd_f = _closure(bad_fakes, d, 8)
    assert abs(mu_f - emu) > 0.015 or abs(sd_f - esd) > 0.02
    steps = {(g["iteration"], g["step"]) for g in good.diagnostics_}
    assert {(1, "1"), (1, "1b"), (1, "2"), (1, "2b"), (8, "2b")} <= steps


def _small(n=3000, seed=0, **kw):
    d = make_gaussian_unfolding(n, efficiency=0.9, fake_rate=0.1, random_state=seed)
    args = (d.sim_reco, d.sim_truth, d.nature_reco[d.nature_pass_reco])
    masks = {"pass_reco": d.sim_pass_reco, "pass_gen": d.sim_pass_truth}
    return d, args, masks


def test_omnifold_results_and_diagnostics():
    d, args, masks = _small()
    of = OmniFoldUnfolder("histogram", n_iterations=2, random_state=0).fit(*args, **masks)
    n = len(d.sim_truth)
    assert of.weights_.shape == (n,)
    assert of.weights_history_["pull"].shape == of.weights_history_["push"].shape == (2, n)
    np.testing.assert_array_equal(of.weights_, of.weights_history_["push"][-1])
    # predict_weights reproduces the push weights of the events with a particle level
    gen = d.sim_pass_truth
    np.testing.assert_allclose(of.predict_weights(d.sim_truth[gen]), of.weights_[gen], rtol=1e-10)
    assert [g["step"] for g in of.diagnostics_] == ["1", "1b", "2", "2b"] * 2
    for g in of.diagnostics_:
        assert 0 < g["ess_fraction"] <= 1 and g["max_weight"] > 0 and g["n_clipped"] == 0
        assert 0 < g["loss"] <= np.log(2) + 0.05 and 0 <= g["auc"] <= 1
    counts, variances, edges = of.histogram(d.sim_truth[:, 0], np.linspace(-3, 3, 7))
    assert counts.shape == variances.shape == (6,) and np.all(variances > 0)
    k1, _, _ = of.histogram(d.sim_truth[:, 0], edges, iteration=1)
    assert not np.allclose(k1, counts)


def test_omnifold_weight_clip_counts_and_non_finite_raise():
    d, args, masks = _small()
    of = OmniFoldUnfolder("histogram", n_iterations=1, weight_clip=1.05, random_state=0).fit(
        *args, **masks)
    assert sum(g["n_clipped"] for g in of.diagnostics_) > 0
    push = of.weights_[d.sim_pass_truth & d.sim_pass_reco]
    assert push.max() <= 1.05**2 + 1e-12  # step 1 and step 2 each within [1/1.05, 1.05]
    # a histogram without smoothing on disjoint samples: zero ratios raise, never become 1
    exact = sklhep.get_backend("histogram").set_params(smoothing=0.0, interpolation="none")
    X_reco, X_gen, X_data = args
    with pytest.raises(ValueError, match="infinite or zero weight"):
        OmniFoldUnfolder(exact, n_iterations=1).fit(X_reco, X_gen, X_data + 50, **masks)


@pytest.mark.parametrize(
    "joblib_backend", ["threading", pytest.param("loky", marks=pytest.mark.slow)]
)
def test_omnifold_bootstrap_independent_of_n_jobs(joblib_backend):
    from joblib import parallel_backend

    d, args, masks = _small(2000)
    kw = dict(n_iterations=1, n_bootstrap=3, random_state=3)
    a = OmniFoldUnfolder("histogram", n_jobs=1, **kw).fit(*args, **masks)
    with parallel_backend(joblib_backend):
        b = OmniFoldUnfolder("histogram", n_jobs=2, **kw).fit(*args, **masks)
    np.testing.assert_array_equal(a.bootstrap_weights_, b.bootstrap_weights_)
    assert a.bootstrap_weights_.shape == (3, len(d.sim_truth))
    assert not np.allclose(a.bootstrap_weights_[0], a.bootstrap_weights_[1])
    cov = a.covariance(d.sim_truth[:, 0], np.linspace(-3, 3, 5))
    _, variances, _ = a.histogram(d.sim_truth[:, 0], np.linspace(-3, 3, 5))
    np.testing.assert_allclose(np.diag(cov), variances)


def test_omnifold_progress_bar(capsys):
    _, args, masks = _small(1500)
    OmniFoldUnfolder("histogram", n_iterations=1, verbose=1).fit(*args, **masks)
    assert "OmniFold" in capsys.readouterr().err


def test_omnifold_clone_pickle_and_params():
    d, args, masks = _small(1500)
    of = OmniFoldUnfolder("histogram", n_iterations=1, random_state=0)
    assert clone(of).get_params() == of.get_params()
    of.fit(*args, **masks)
    again = pickle.loads(pickle.dumps(of))
    np.testing.assert_array_equal(again.predict_weights(d.sim_truth[:5]),
                                  of.predict_weights(d.sim_truth[:5]))


@pytest.mark.parametrize(
    "check",
    ["check_no_attributes_set_in_init", "check_parameters_default_constructible",
     "check_get_params_invariance", "check_set_params", "check_estimator_cloneable",
     "check_estimator_repr", "check_do_not_raise_errors_in_init_or_set_params"],
)
@pytest.mark.parametrize("Estimator", [OmniFoldUnfolder, IterativeBayesUnfolder])
def test_applicable_sklearn_checks(check, Estimator):
    """The checks that do not call fit(X, y): the unfolders' fit takes three samples."""
    from sklearn.utils import estimator_checks

    fn = getattr(estimator_checks, check, None)
    if fn is None:
        pytest.skip(f"{check} is not in this scikit-learn")
    est = Estimator() if Estimator is OmniFoldUnfolder else Estimator(5, 5)
    fn(Estimator.__name__, est)


def test_omnifold_bad_input():
    d, args, masks = _small(1500)
    of = OmniFoldUnfolder("histogram", n_iterations=1)
    X_reco, X_gen, X_data = args
    with pytest.raises(ValueError, match="one row per simulated event"):
        of.fit(X_reco[:-1], X_gen, X_data, **masks)
    with pytest.raises(ValueError, match="pass_gen must be a boolean mask"):
        of.fit(*args, pass_reco=masks["pass_reco"], pass_gen=masks["pass_gen"][:10])
    with pytest.raises(ValueError, match="No simulated event passes"):
        of.fit(*args, pass_reco=np.zeros(len(X_reco), bool), pass_gen=masks["pass_gen"])
    with pytest.raises(ValueError, match="NaN or inf in 1 row"):
        bad = X_gen.copy()
        bad[np.flatnonzero(masks["pass_gen"])[3]] = np.nan
        of.fit(X_reco, bad, X_data, **masks)
    with pytest.raises(ValueError, match="must be positive"):
        of.fit(*args, **masks, sample_weight=np.r_[-np.ones(len(X_reco) - 1), 1.0])
    with pytest.raises(ValueError, match="data_weight must have one entry"):
        of.fit(*args, **masks, data_weight=np.ones(3))
    with pytest.raises(ValueError, match="features of X_reco"):
        of.fit(X_reco, X_gen, np.c_[X_data, X_data], **masks)
    reco, gen = masks["pass_reco"].copy(), masks["pass_gen"].copy()
    reco[0] = gen[0] = False
    with pytest.raises(ValueError, match="neither"):
        of.fit(*args, pass_reco=reco, pass_gen=gen)
    with pytest.raises(ValueError, match="weight_clip"):
        OmniFoldUnfolder(weight_clip=(2, 1)).fit(*args, **masks)
    with pytest.raises(ValueError, match="misses"):
        OmniFoldUnfolder(misses="one").fit(*args, **masks)
    with pytest.raises(ValueError, match="n_iterations"):
        OmniFoldUnfolder(n_iterations=0).fit(*args, **masks)
    with pytest.raises(ValueError, match="Unknown backend|nope"):
        OmniFoldUnfolder("nope", n_iterations=1).fit(*args, **masks)


def _em_check(of, d, ks, tol, target=em_recursion):
    out = {}
    for k in ks:
        mu, sd = _closure(of, d, k)
        emu, esd = target(k)
        out[k] = (round(mu, 4), round(sd, 4))
        assert abs(mu - emu) < tol and abs(sd - esd) < tol, (k, mu, sd, emu, esd)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["bdt", "mlp"])
def test_omnifold_gaussian_em_recursion_100k(backend):
    """The paper's toy: every iteration follows the exact EM recursion within 0.015."""
    from _helpers import backend_available

    if not backend_available(backend):
        pytest.skip(f"backend {backend!r} is not installed")
    d = make_gaussian_unfolding(100000, random_state=0)
    of = OmniFoldUnfolder(backend, n_iterations=8, random_state=0).fit(
        d.sim_reco, d.sim_truth, d.nature_reco)
    print(_em_check(of, d, range(1, 9), 0.015))


def test_omnifold_prior_weights_carried_in_both_steps():
    """Simulation N(0, 1.5) reweighted to N(0, 1) by sample_weight unfolds like N(0, 1).

    Ignoring the prior weights in either step starts the recursion from N(0, 1.5) instead, which
    is 0.09 away in the std at iteration 1.
    """
    from scipy.stats import norm

    backend = sklhep.get_backend("histogram").set_params(bins=40, binning="uniform")
    data = make_gaussian_unfolding(20000, random_state=5)
    wide = make_gaussian_unfolding(20000, sim_scale=1.5, random_state=6)
    t = wide.sim_truth[:, 0]
    w = norm.pdf(t) / norm.pdf(t, scale=1.5)
    results = []
    for sim, weight in ((data, None), (wide, w)):
        of = OmniFoldUnfolder(backend, n_iterations=2, random_state=0).fit(
            sim.sim_reco, sim.sim_truth, data.nature_reco, sample_weight=weight)
        ww = of.weights_ * (1.0 if weight is None else weight)
        mean = np.average(sim.sim_truth[:, 0], weights=ww)
        sd = np.sqrt(np.average((sim.sim_truth[:, 0] - mean) ** 2, weights=ww))
        ess = ww.sum() ** 2 / np.sum(ww**2)
        results.append((mean, sd, ess))
    (m0, s0, n0), (m1, s1, n1) = results
    sigma_mean = s0 * np.sqrt(1 / n0 + 1 / n1)
    sigma_sd = s0 * np.sqrt(1 / (2 * n0) + 1 / (2 * n1)) * 1.5  # kurtosis of weighted events
    assert abs(m1 - m0) < 2 * sigma_mean and abs(s1 - s0) < 2 * sigma_sd, results
    emu, esd = em_recursion(2)
    assert abs(m1 - emu) < 0.02 and abs(s1 - esd) < 0.02


def em_recursion_nd(k, mu, cov, mu_t, cov_t, smear):
    """The multivariate EM recursion: (mean vector, covariance) of iteration k."""
    E = smear**2 * np.eye(len(mu))
    for _ in range(k):
        A = cov @ np.linalg.inv(cov + E)
        mu, cov = mu + A @ (mu_t - mu), cov - A @ cov + A @ (cov_t + E) @ A.T
    return mu, cov


class QuadraticLogistic(ClassifierMixin, BaseEstimator):
    """Logistic regression on the degree-2 monomials of the features: a backend whose log ratio
    is a quadratic form, which is exact between Gaussians (every density of the 4-D toy stays
    Gaussian through the EM recursion)."""

    def __init__(self, C=1e4):
        self.C = C

    def fit(self, X, y, sample_weight=None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import PolynomialFeatures, StandardScaler

        self.model_ = make_pipeline(
            PolynomialFeatures(2, include_bias=False), StandardScaler(),
            LogisticRegression(C=self.C, max_iter=1000),
        ).fit(X, y, logisticregression__sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)


def _four_dimensions(backend, n, seed, K=4):
    """(mean, std, correlation) deviations of the 4-D toy from the exact recursion at k = K."""
    d = make_gaussian_unfolding(n, n_features=4, correlation=0.5, random_state=seed)
    of = OmniFoldUnfolder(backend, n_iterations=K, random_state=0).fit(
        d.sim_reco, d.sim_truth, d.nature_reco)
    cov_t = 0.64 * (np.full((4, 4), 0.5) + 0.5 * np.eye(4))
    mu_k, cov_k = em_recursion_nd(K, np.zeros(4), np.eye(4), np.full(4, 0.2), cov_t, 0.5)
    w = of.weights_
    mean = np.average(d.sim_truth, axis=0, weights=w)
    cov = np.cov(d.sim_truth, rowvar=False, aweights=w)
    sd, sd_k = np.sqrt(np.diag(cov)), np.sqrt(np.diag(cov_k))
    corr, corr_k = cov / np.outer(sd, sd), cov_k / np.outer(sd_k, sd_k)
    iu = np.triu_indices(4, 1)
    return mean - mu_k, sd - sd_k, (corr - corr_k)[iu]


def _check_four_dimensions(dev):
    dmean, dsd, dcorr = dev
    print("mean", np.round(dmean, 4), "std", np.round(dsd, 4), "corr", np.round(dcorr, 4))
    assert np.all(np.abs(dmean) < 0.01), dmean
    assert np.all(np.abs(dsd) < 0.01), dsd
    assert np.all(np.abs(dcorr) < 0.02), dcorr


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_omnifold_four_dimensions(seed):
    """4-D correlated Gaussians (correlation 0.5 in nature, 0 in simulation), where binned IBU
    cannot run: every marginal mean and std within 0.01 and every correlation within 0.02 of the
    exact recursion at k = 4, with a backend that can represent the exact log ratio (a quadratic
    form). Measured at 200k events (seeds 0 / 1 / 2): largest deviations of the means
    0.0077 / 0.0066 / 0.0049, of the stds 0.0043 / 0.0047 / 0.0047, of the correlations
    0.0036 / 0.0059 / 0.0065 (at 100k the stds reached 0.0091, too close to the bound)."""
    dev = _four_dimensions(QuadraticLogistic(), 200000, seed)
    _check_four_dimensions(dev)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, pytest.param(2, marks=pytest.mark.xfail(
    strict=True,
    reason="measured at 100k: std 0.0109 and correlation 0.0221 off the exact recursion (means "
    "0.0100), just past the 0.01 / 0.02 bounds; at 100k the spread over seeds is comparable to "
    "the bounds (the quadratic backend's stds reached 0.0091 there too, hence its 200k)"))])
def test_omnifold_four_dimensions_mlp(seed):
    """The 4-D toy with a general-purpose network: ``mlp`` trained for 20 epochs on a cosine
    schedule (``patience=None``, batch 512, lr 2e-3), 100k events, about 22 minutes per seed on
    the loaded 2-core machine. Measured (seeds 0 / 1 / 2): largest deviations of the means
    0.0089 / 0.0035 / 0.0100, of the stds 0.0076 / 0.0082 / 0.0109, of the correlations
    0.0070 / 0.0136 / 0.0221 -- seed 2 just outside the bounds. With the default early stopping
    (seed 0) the means were up to 0.017 low: the nets stop underfitted and each iteration moves
    the weights too little."""
    pytest.importorskip("torch")
    from sklhep.backends.torch_nets import MLPClassifier

    backend = MLPClassifier(batch_size=512, max_epochs=20, patience=None, lr=2e-3)
    _check_four_dimensions(_four_dimensions(backend, 100000, seed))


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured at 100k events, k=4 (seeds 0 / 1): the default bdt's correlations are "
    "0.110-0.127 below the exact 0.456 (0.33-0.35) and its means up to 0.014 / 0.013 low; "
    "max_depth=5 with 300 trees gave correlations of 0.39 and means 0.03 low. Axis-aligned "
    "trees learn the x_i x_j terms of the log ratio poorly; test_omnifold_four_dimensions "
    "meets the criterion with a quadratic-logistic backend",
)
def test_omnifold_four_dimensions_bdt():
    """The 4-D toy with the default bdt: axis-aligned trees learn the x_i x_j terms of the log
    ratio poorly, so the learned correlation lags the exact recursion."""
    pytest.importorskip("xgboost")
    _check_four_dimensions(_four_dimensions("bdt", 100000, 0))


def _background_toy(n, seed):
    """Nature with 10% misses and 10% fakes, plus a 10% background in the data that a simulated
    background sample (twice as large, weight -1/2) subtracts. The fakes follow each sample's own
    detector-level density, so nature's purity is the simulation's and the EM recursion of the
    fake-free toy is the exact answer (:func:`purity_recursion`)."""
    d = _misses_toy(n, seed)
    rng = np.random.default_rng(seed)
    signal = d.nature_reco[d.nature_pass_reco]
    n_bkg = int(round(len(signal) / 9))
    bkg_data = rng.normal(1.5, 0.5, size=(n_bkg, 1))
    bkg_sim = rng.normal(1.5, 0.5, size=(2 * n_bkg, 1))
    X_data = np.concatenate([signal, bkg_data, bkg_sim])
    data_weight = np.r_[np.ones(len(signal) + n_bkg), np.full(2 * n_bkg, -0.5)]
    return d, X_data, data_weight


def _signed_ok(backend):
    caps = sklhep.backend_capabilities(sklhep.get_backend(backend))
    return getattr(caps, "signed_weights", False)


def _check_background(of, d, ks, tol):
    out = _em_check(of, d, ks, tol)
    n_true = d.nature_pass_truth.sum()
    total = of.weights_[d.sim_pass_truth].sum()
    assert abs(total / n_true - 1) < 0.01, total / n_true
    return out, round(total / n_true, 4)


def test_omnifold_background_subtraction_negative_weights_quick():
    if not _signed_ok("histogram"):
        pytest.skip("the histogram backend does not take signed weights")
    d, X_data, wd = _background_toy(20000, 3)
    backend = sklhep.get_backend("histogram").set_params(bins=40, binning="uniform")
    fits = {
        name: OmniFoldUnfolder(backend, n_iterations=3, random_state=0).fit(
            d.sim_reco, d.sim_truth, X, pass_reco=d.sim_pass_reco, pass_gen=d.sim_pass_truth,
            data_weight=w)
        for name, X, w in (("subtracted", X_data, wd),
                           ("signal only", d.nature_reco[d.nature_pass_reco], None))
    }
    # Measured on seeds 3-7 (iterations 1-3): the subtracted result is off the EM recursion by at
    # most 0.020 in the mean and 0.012 in the std (the spread of 20k-event samples with the
    # 40-bin histogram), and off the same data without background by at most 0.0014 and 0.0026.
    # Losing the signs would add the 10% background at x = 1.5 twice (a mean shift of about 0.3).
    _check_background(fits["subtracted"], d, (1, 2, 3), 0.035)
    for k in (1, 2, 3):
        np.testing.assert_allclose(_closure(fits["subtracted"], d, k),
                                   _closure(fits["signal only"], d, k), atol=0.005)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["bdt", "mlp"])
def test_omnifold_misses_fakes_background_100k(backend):
    """10% misses, 10% fakes and a 10% background subtracted by negative data weights: every
    iteration within 0.015 of the EM recursion and the normalisation within 1%."""
    from _helpers import backend_available

    if not backend_available(backend) or not _signed_ok(backend):
        pytest.skip(f"backend {backend!r} missing or without signed weights")
    d, X_data, wd = _background_toy(100000, 4)
    of = OmniFoldUnfolder(backend, n_iterations=8, random_state=0).fit(
        d.sim_reco, d.sim_truth, X_data, pass_reco=d.sim_pass_reco, pass_gen=d.sim_pass_truth,
        data_weight=wd)
    print(_check_background(of, d, range(1, 9), 0.015))


@pytest.mark.slow
def test_omnifold_follows_the_purity_recursion_when_nature_purity_differs():
    """Step 2b assumes nature's purity at each detector-level x is the simulation's (IBU's purity
    correction assumes the same). When nature's fakes keep the simulation's shape instead, the
    exact answer of that treatment moves to :func:`purity_recursion` (mean 0.180, std 0.825 at
    k = 8 rather than 0.200, 0.800), and OmniFold follows it, not the fake-free recursion."""
    pytest.importorskip("xgboost")
    d = _misses_toy(100000, 4, fake_density="simulation")
    of = _fit_toy(d, backend="bdt", n_iterations=8, random_state=0)
    print(_em_check(of, d, range(1, 9), 0.015, target=purity_recursion))
    mu, sd = _closure(of, d, 8)
    emu, esd = em_recursion(8)
    assert abs(mu - emu) > 0.01 and abs(sd - esd) > 0.01


def test_step_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    from sklhep.unfolding import _auc

    rng = np.random.default_rng(0)
    g = np.round(rng.normal(size=500), 1)  # ties
    y = rng.integers(0, 2, 500)
    w = rng.uniform(0.1, 2, 500)
    assert abs(_auc(g, y, w) - roc_auc_score(y, g, sample_weight=w)) < 1e-12
    g[:3] = [np.inf, -np.inf, np.inf]
    assert 0 <= _auc(g, y, w) <= 1


def test_step2_folds_hold_out_both_weightings_of_an_event():
    """Step 2's two classes are the same events: with cv every event is one row of one fold."""
    d, args, masks = _small(2000)
    of = OmniFoldUnfolder("histogram", n_iterations=1, cv=3, random_state=0).fit(*args, **masks)
    assert np.all(np.isfinite(of.weights_))
    n = int(masks["pass_gen"].sum())  # step 2 sees the events with a particle level
    folds = of.step2_models_[0].model_.folds_
    held = np.sort(np.concatenate([te for _, te in folds]))
    np.testing.assert_array_equal(held, np.arange(n))


def test_cv_weights_come_from_models_that_did_not_see_the_event():
    """Data and simulation from one density, a fine histogram: weights read on the training events
    reproduce the data's fluctuations bin by bin (the trap), out-of-fold weights do not."""
    d = make_gaussian_unfolding((4000, 4000), nature_mean=0.0, nature_scale=1.0, random_state=0)
    n_bins = 30
    edges = np.linspace(-2.5, 2.5, n_bins + 1)

    def index(x):  # the bin number as the feature, so the backend's cells are these bins
        return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, n_bins - 1)[:, None] * 1.0

    backend = _exact_histogram_backend(n_bins).set_params(smoothing=1e-6)
    target = np.bincount(index(d.nature_reco[:, 0])[:, 0].astype(int), minlength=n_bins)
    chi2 = {}
    for cv in (None, 2):
        of = OmniFoldUnfolder(backend, n_iterations=1, cv=cv, random_state=0).fit(
            index(d.sim_reco[:, 0]), d.sim_truth, index(d.nature_reco[:, 0]))
        pulled = np.bincount(index(d.sim_reco[:, 0])[:, 0].astype(int),
                             weights=of.weights_history_["pull"][0], minlength=n_bins)
        chi2[cv] = float(np.mean((pulled - target) ** 2 / (target + 1)))
    assert chi2[None] < 1e-6 and chi2[2] > 0.05, chi2


JET_OBSERVABLES = ["mass", "multiplicity", "width", "tau21"]


def _jet_sample(n, quark_fraction, alphas_mz, seed):
    """Particle- and detector-level observables of ``n`` built-in-shower jets (500 GeV)."""
    from sklhep.datasets import DetectorSmearing, make_jets
    from sklhep.preprocessing import JetObservables

    n_quark = int(round(quark_fraction * n))
    Xq, _ = make_jets(n_quark, "quark", alphas_mz=alphas_mz, random_state=seed)
    Xg, _ = make_jets(n - n_quark, "gluon", alphas_mz=alphas_mz, random_state=seed + 1000)
    width = max(Xq.shape[1], Xg.shape[1])
    X = np.concatenate([np.pad(A, ((0, 0), (0, width - A.shape[1]), (0, 0))) for A in (Xq, Xg)])
    X = X[np.random.default_rng(seed).permutation(n)]
    X_det, passed = DetectorSmearing(random_state=seed + 7).fit(X).smear(X)
    obs = JetObservables(JET_OBSERVABLES)
    gen = obs.fit(X).transform(X)
    reco = np.zeros_like(gen)  # rows failing the selection are ignored by the unfolders
    reco[passed] = obs.fit(X_det).transform(X_det[passed])
    return gen, reco, passed


def _jets_unfolding(n, seed, n_iterations=4, n_bins=12):
    """Triangular discriminators (x 1000) against nature's particle level, per observable: the
    simulation, the detector level, IBU run per observable, and OmniFold(bdt) on all four."""
    from sklhep.metrics import triangular_discriminator

    sim_gen, sim_reco, sim_pass = _jet_sample(n, 0.3, 0.118, seed)
    nat_gen, nat_reco, nat_pass = _jet_sample(n, 0.8, 0.130, seed + 1)
    X_data = nat_reco[nat_pass]
    of = OmniFoldUnfolder("bdt", n_iterations=n_iterations, random_state=0).fit(
        sim_reco, sim_gen, X_data, pass_reco=sim_pass)
    table = {}
    for j, name in enumerate(JET_OBSERVABLES):
        both = np.r_[sim_gen[:, j], nat_gen[:, j]]
        edges = np.percentile(both, np.linspace(0.5, 99.5, n_bins + 1))
        if name == "multiplicity":  # integer edges halfway between counts
            edges = np.unique(np.round(edges)) - 0.5
        truth = np.histogram(nat_gen[:, j], edges)[0]
        ibu = IterativeBayesUnfolder(edges, edges, n_iterations=n_iterations).fit(
            sim_reco[:, [j]], sim_gen[:, [j]], X_data[:, [j]], pass_reco=sim_pass)
        spectra = {
            "simulation": np.histogram(sim_gen[:, j], edges)[0],
            "detector": np.histogram(X_data[:, j], edges)[0],
            "ibu": ibu.unfolded_,
            "omnifold": of.histogram(sim_gen[:, j], edges)[0],
        }
        table[name] = {k: 1e3 * triangular_discriminator(v, truth) for k, v in spectra.items()}
    return table


@pytest.mark.slow
def test_omnifold_jets_beats_detector_level_and_ibu_per_observable():
    """Jets of the built-in shower: the simulation (quark fraction 0.3, alpha_s(m_Z) = 0.118)
    unfolds DetectorSmearing jets of "nature" (quark fraction 0.8, alpha_s = 0.130), 50k jets
    each, four observables at once (mass, multiplicity, width, tau21). Every observable's unfolded
    spectrum is closer to nature's particle level (triangular discriminator, x 1000, 12 bins)
    than the detector level and than IBU run on that observable alone (same bins, iterations).

    Measured, omnifold / ibu / detector level, seeds 0 ; 1 ; 2:
    mass 0.040 / 0.145 / 5.16 ; 0.049 / 0.096 / 4.98 ; 0.059 / 0.147 / 4.98,
    multiplicity 0.086 / 0.189 / 55.6 ; 0.038 / 0.228 / 55.8 ; 0.063 / 0.214 / 54.6,
    width 0.109 / 0.144 / 3.22 ; 0.094 / 0.120 / 2.82 ; 0.091 / 0.142 / 3.06,
    tau21 0.076 / 0.321 / 0.578 ; 0.105 / 0.244 / 0.521 ; 0.068 / 0.314 / 0.578.
    Two samples of 50k events differ by about 0.1 in 12 bins from counting alone, so the width's
    margin over IBU is within that noise; with the same quark fraction (0.3 -> 0.8 only) IBU's
    width came out ahead on one seed of two (0.064 vs 0.096).
    """
    pytest.importorskip("xgboost")
    table = _jets_unfolding(50000, 0)
    print(f"\n{'observable':14s}" + "".join(f"{k:>12s}" for k in next(iter(table.values()))))
    for name, row in table.items():
        print(f"{name:14s}" + "".join(f"{v:12.3f}" for v in row.values()))
    for name, row in table.items():
        assert row["omnifold"] < row["detector"], (name, row)
        assert row["omnifold"] < row["ibu"], (name, row)


@pytest.mark.slow
def test_omnifold_bootstrap_band_covers_the_expected_result():
    """Coverage of the n_bootstrap band over 100 toys: the 68% band (the replicas' standard
    deviation, what ``histogram`` returns) holds the truth in 63-73% of the bins.

    The toys vary the data only (Poisson(5000) events of nature's detector level, 1-D Gaussian
    toy), the simulation (5000 events) is fixed, and the bootstrap resamples the data (25 Poisson
    replicas), so the band is the data's statistical uncertainty. The "truth" it must cover is
    the method's own expected result at this simulation and number of iterations: the same
    unfolding of 500k nature events weighted down to the toys' size. Comparing with nature's
    truth instead would mix in the iteration (regularisation) bias of three iterations and the
    simulation's fluctuations, which no data bootstrap can cover. To give the toys and the
    500k-event unfolding the same cells, the histogram backend runs on the bin indices of the
    IBU binning (12 reco bins on [-3, 3], 10 gen bins on [-2.5, 2.5], outliers in the edge bins).

    Measured (pool and simulation seeds 0 / 1): coverage 0.664 / 0.650, mean pulls within
    0.17 of 0 (0.1 is the toys' own error), pull standard deviations 0.97-1.16: the band is a few
    per cent narrow (25 replicas alone would give about 0.67).
    """
    er, eg = np.linspace(-3, 3, 13), np.linspace(-2.5, 2.5, 11)

    def index(v, e):
        return np.clip(np.searchsorted(e, v, side="right") - 1, 0, len(e) - 2)[:, None] * 1.0

    def backend(n_bins):
        return sklhep.get_backend("histogram").set_params(
            bins=n_bins, binning="uniform", interpolation="none")

    sim = make_gaussian_unfolding((5000, 10), random_state=100)
    pool = make_gaussian_unfolding((10, 500000), random_state=200).nature_reco
    R, G, P = index(sim.sim_reco[:, 0], er), index(sim.sim_truth[:, 0], eg), index(pool[:, 0], er)
    edges = np.arange(11) - 0.5

    def unfold(X, data_weight=None, n_bootstrap=0, seed=0):
        return OmniFoldUnfolder(
            step1_backend=backend(12), step2_backend=backend(10), n_iterations=3,
            n_bootstrap=n_bootstrap, random_state=seed,
        ).fit(R, G, X, data_weight=data_weight)

    expected = unfold(P, np.full(len(P), 5000 / len(P))).histogram(G[:, 0], edges)[0]
    rng = np.random.default_rng(0)
    pulls = []
    for toy in range(100):
        X = P[rng.choice(len(P), rng.poisson(5000), replace=False)]
        counts, variances, _ = unfold(X, n_bootstrap=25, seed=toy).histogram(G[:, 0], edges)
        pulls.append((counts - expected) / np.sqrt(variances))
    pulls = np.array(pulls)
    coverage = float(np.mean(np.abs(pulls) < 1))
    print(f"coverage {coverage:.3f}, mean pulls {np.round(pulls.mean(0), 2)}")
    assert 0.63 <= coverage <= 0.73, coverage
