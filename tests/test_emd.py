"""Tests of sklhep.emd: analytic EMD values, POT agreement, the transformer, Dask, downstream tools.

Slow physics tests on built-in-shower jets: ``python -m pytest -m slow tests/test_emd.py``.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklhep.emd as emd_module
from sklhep.emd import (
    EMDTransformer,
    correlation_dimension,
    emd,
    emd_kernel,
    exact_solvers,
    make_emd_knn_classifier,
    pairwise_emd,
    sinkhorn_emd,
    uniform_event,
)

SOLVERS = exact_solvers()
if not SOLVERS:
    pytest.skip("neither wasserstein nor POT is usable", allow_module_level=True)
# tests of the exact EMD run on every usable solver (wasserstein and/or POT)
each_solver = pytest.mark.parametrize("solver", SOLVERS)


def random_event(rng, m, spread=0.15, radius=None):
    """m particles with exponential pt around the origin (inside ``radius`` when given)."""
    pt = rng.exponential(1.0, m) + 0.01
    if radius is None:
        pos = rng.normal(0.0, spread, (m, 2))
    else:
        r = radius * np.sqrt(rng.uniform(0, 1, m))
        a = rng.uniform(0, 2 * np.pi, m)
        pos = np.column_stack([r * np.cos(a), r * np.sin(a)])
    return np.column_stack([pt, pos])


def random_events(seed, n, lo=5, hi=15, **kw):
    rng = np.random.default_rng(seed)
    return [random_event(rng, int(rng.integers(lo, hi + 1)), **kw) for _ in range(n)]


def pot_emd(a, b, R, beta, norm, periodic_phi=True):
    """Reference EMD from POT's exact solver, with the energy difference as an extra particle."""
    ot = pytest.importorskip("ot")
    wa, wb = a[:, 0].astype(float), b[:, 0].astype(float)
    if norm:
        wa, wb = wa / wa.sum(), wb / wb.sum()
    dy = a[:, None, 1] - b[None, :, 1]
    dphi = a[:, None, 2] - b[None, :, 2]
    if periodic_phi:
        dphi = (dphi + np.pi) % (2 * np.pi) - np.pi
    cost = (np.sqrt(dy**2 + dphi**2) / R) ** beta
    diff = wa.sum() - wb.sum()
    if diff < 0:
        wa = np.append(wa, -diff)
        cost = np.vstack([cost, np.ones(cost.shape[1])])
    elif diff > 0:
        wb = np.append(wb, diff)
        cost = np.hstack([cost, np.ones((cost.shape[0], 1))])
    return float(ot.emd2(wa, wb, cost, numItermax=10**7)) + 0.0


# ---------------------------------------------------------------------------------------------
# analytic cases
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
@each_solver
def test_identical_events_are_at_zero(norm, beta, solver):
    ev = random_events(0, 1, 20, 20)[0]
    assert emd(ev, ev, solver=solver, R=0.4, beta=beta, norm=norm) == pytest.approx(0.0, abs=1e-12)
    D = EMDTransformer(solver=solver, beta=beta, norm=norm).fit_transform([ev, ev.copy()])
    np.testing.assert_allclose(D, 0.0, atol=1e-12)


@pytest.mark.parametrize("R", [0.4, 1.0])
@each_solver
def test_one_particle_moved_beta1(R, solver):
    # For beta=1 the EMD depends only on the difference of the two energy distributions, so
    # moving one particle of pt p by dtheta costs exactly p * dtheta / R, whatever else is there.
    rng = np.random.default_rng(1)
    ev = random_event(rng, 25)
    moved = ev.copy()
    dtheta = 0.137
    direction = np.array([0.6, 0.8])
    moved[3, 1:] += dtheta * direction
    expected = ev[3, 0] * dtheta / R
    assert emd(ev, moved, solver=solver, R=R, beta=1.0) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("beta", [0.5, 2.0])
@each_solver
def test_one_particle_moved_any_beta(beta, solver):
    # well-separated particles: moving one by a small dtheta is the optimal transport
    ev = np.array([[3.0, 0.0, 0.0], [5.0, 1.0, 0.0], [2.0, 0.0, 1.0]])
    moved = ev.copy()
    moved[1, 1:] += [0.03, -0.04]  # dtheta = 0.05
    expected = 5.0 * (0.05 / 0.4) ** beta
    assert emd(ev, moved, solver=solver, R=0.4, beta=beta) == pytest.approx(expected, rel=1e-10)


@each_solver
def test_periodic_phi_wraps_around(solver):
    a = np.array([[2.0, 0.0, np.pi - 0.05]])
    b = np.array([[2.0, 0.0, -np.pi + 0.05]])
    assert emd(a, b, solver=solver, R=0.4) == pytest.approx(2.0 * 0.1 / 0.4, rel=1e-10)
    # without periodicity the distance is almost 2 pi
    assert emd(a, b, solver=solver, R=0.4, periodic_phi=False) == pytest.approx(
        2.0 * (2 * np.pi - 0.1) / 0.4, rel=1e-10
    )
    D = EMDTransformer(solver=solver, R=0.4).fit_transform([a, b])
    assert D[0, 1] == pytest.approx(0.5, rel=1e-10)


@each_solver
def test_energy_difference_is_added_when_not_normalised(solver):
    rng = np.random.default_rng(2)
    ev = random_event(rng, 15)
    extra = np.array([[1.7, 0.3, -0.2]])
    plus = np.vstack([ev, extra])
    # the cheapest plan leaves the new energy unmatched at cost 1 per unit
    assert emd(ev, plus, solver=solver, R=0.4) == pytest.approx(1.7, rel=1e-10)
    scaled = ev * [2.5, 1, 1]
    assert emd(ev, scaled, solver=solver, R=0.4) == pytest.approx(1.5 * ev[:, 0].sum(), rel=1e-10)
    # normalised: the same shape is at zero, whatever the scale
    assert emd(ev, scaled, solver=solver, R=0.4, norm=True) == pytest.approx(0.0, abs=1e-12)


def test_symmetry_and_triangle_inequality():
    # all particles within 0.4 of the origin: the largest distance is 0.8, so R = 0.4 >= half
    evs = random_events(3, 14, 4, 12, radius=0.4)
    for norm in (False, True):
        D = EMDTransformer(R=0.4, norm=norm).fit_transform(evs)
        np.testing.assert_allclose(D, D.T, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.diag(D), 0.0, atol=1e-12)
        assert np.all(D[~np.eye(len(D), dtype=bool)] > 0)
        # D[i, k] <= D[i, j] + D[j, k] for every triple
        violation = D[:, None, :] - (D[:, :, None] + D[None, :, :])
        assert violation.max() <= 1e-10


def test_triangle_inequality_can_fail_for_small_R():
    # the guard above is meaningful: for R much below half the largest distance, the triangle
    # inequality is violated (destroying energy is cheaper than moving it)
    a = np.array([[1.0, 0.0, 0.0]])
    b = np.array([[1.0, 0.5, 0.0]])
    c = np.array([[1.0, 1.0, 0.0]])
    D = EMDTransformer(R=0.2, beta=2.0).fit_transform([a, b, c])
    assert D[0, 2] > D[0, 1] + D[1, 2]


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
@each_solver
def test_agrees_with_pot(norm, beta, solver):
    evs = random_events(4, 8, 5, 40, spread=0.3)
    evs[0][0, 2] = np.pi - 0.01  # a particle near the phi boundary
    D = EMDTransformer(solver=solver, R=0.6, beta=beta, norm=norm).fit_transform(evs)
    for i in range(len(evs)):
        for j in range(i + 1, len(evs)):
            ref = pot_emd(evs[i], evs[j], 0.6, beta, norm)
            assert D[i, j] == pytest.approx(ref, rel=1e-8, abs=1e-12)


def straddling_events(seed, n):
    """Jets centred on phi = +-pi: their particles sit on both sides of the boundary."""
    evs = random_events(seed, n, 10, 40, spread=0.2)
    rng = np.random.default_rng(seed + 100)
    for e in evs:
        e[:, 2] = (e[:, 2] + np.pi * rng.choice([-1, 1]) + np.pi) % (2 * np.pi) - np.pi
    return evs


@pytest.mark.parametrize("norm", [False, True])
@each_solver
def test_straddling_phi_boundary_agrees_with_pot_to_1e10(norm, solver):
    evs = straddling_events(20, 10)
    assert all(e[:, 2].min() < -3.0 and e[:, 2].max() > 3.0 for e in evs[:3])
    D = EMDTransformer(solver=solver, R=0.4, norm=norm, chunk_size=4).fit_transform(evs)
    ref = np.array([[pot_emd(a, b, 0.4, 1.0, norm) for b in evs] for a in evs])
    np.testing.assert_allclose(D, ref, rtol=1e-10, atol=1e-10)
    # the plain (non-periodic) distance is larger for these events: periodicity was used
    flat = EMDTransformer(solver=solver, R=0.4, norm=norm, periodic_phi=False)
    gain = flat.fit_transform(evs) - D
    assert gain.min() > -1e-10 and gain.max() > 1.0


@pytest.mark.skipif(len(SOLVERS) < 2, reason="needs both wasserstein and POT")
def test_solvers_agree_and_flows_agree():
    evs = random_events(21, 12, 5, 30, spread=0.3)
    a, b = evs[0], evs[1]
    D = {s: EMDTransformer(solver=s, beta=0.5).fit_transform(evs) for s in SOLVERS}
    np.testing.assert_allclose(D["pot"], D["wasserstein"], rtol=1e-10, atol=1e-12)
    v1, f1 = emd(a, b, solver="wasserstein", return_flow=True)
    v2, f2 = emd(a, b, solver="pot", return_flow=True)
    assert v1 == pytest.approx(v2, rel=1e-10)
    assert f1.sum() == pytest.approx(f2.sum(), rel=1e-10)


def test_solver_is_reported_and_auto_falls_back_to_pot(monkeypatch):
    evs = random_events(22, 5)
    est = EMDTransformer().fit(evs)
    assert est.solver_ == SOLVERS[0]
    assert EMDTransformer(method="sinkhorn").fit(evs).solver_ is None
    pytest.importorskip("ot")
    # wasserstein unusable (not installed, or broken under this numpy): auto takes POT
    monkeypatch.setattr(emd_module, "_usable", lambda name: name == "pot")
    assert exact_solvers() == ["pot"]
    est = EMDTransformer().fit(evs)
    assert est.solver_ == "pot"
    np.testing.assert_allclose(
        est.transform(evs), EMDTransformer(solver=SOLVERS[0]).fit(evs).transform(evs),
        rtol=1e-10, atol=1e-12,
    )
    monkeypatch.setattr(emd_module, "_usable", lambda name: False)
    with pytest.raises(ImportError, match="neither is usable"):
        EMDTransformer().fit(evs)
    with pytest.raises(ImportError, match="neither is usable"):
        emd(evs[0], evs[1])


def test_bad_solver_lists_the_valid_ones():
    evs = random_events(23, 3)
    msg = r"solver must be one of \['auto', 'wasserstein', 'pot'\].*got 'simplex'"
    with pytest.raises(ValueError, match=msg):
        EMDTransformer(solver="simplex").fit(evs)
    with pytest.raises(ValueError, match=msg):
        emd(evs[0], evs[1], solver="simplex")
    with pytest.raises(ValueError, match=msg):
        pairwise_emd(evs, solver="simplex")
    with pytest.raises(ValueError, match="solver_threads must be an integer >= 1"):
        EMDTransformer(solver_threads=0).fit(evs)


def test_missing_solver_package_names_the_extra(monkeypatch):
    # a None entry in sys.modules makes the import fail, as if the package were not installed
    monkeypatch.setitem(__import__("sys").modules, "wasserstein", None)
    evs = random_events(24, 3)
    with pytest.raises(ImportError, match=r"solver='wasserstein'.*sklhep\[emd\]"):
        EMDTransformer(solver="wasserstein").fit(evs)


def test_agrees_with_energyflow():
    ef = pytest.importorskip("energyflow")
    evs = random_events(5, 12, 5, 30)
    D = EMDTransformer(R=0.4, beta=1.0, chunk_size=5).fit_transform(evs)
    # Fortran order: under numpy 2, energyflow's wasserstein call refuses C-ordered events
    ref = ef.emd.emds([np.asfortranarray(e) for e in evs], R=0.4, beta=1.0, periodic_phi=True,
                      n_jobs=1)
    np.testing.assert_allclose(D, ref, rtol=1e-12, atol=1e-12)


@each_solver
def test_return_flow(solver):
    rng = np.random.default_rng(6)
    a, b = random_event(rng, 7), random_event(rng, 9)
    value, flow = emd(a, b, solver=solver, R=0.4, return_flow=True)
    assert flow.shape == (7, 9)
    assert np.all(flow >= -1e-14)
    assert np.all(flow.sum(1) <= a[:, 0] + 1e-12)
    assert np.all(flow.sum(0) <= b[:, 0] + 1e-12)
    assert flow.sum() == pytest.approx(min(a[:, 0].sum(), b[:, 0].sum()), rel=1e-12)
    theta = np.hypot(a[:, None, 1] - b[None, :, 1], a[:, None, 2] - b[None, :, 2])
    transport = np.sum(flow * theta / 0.4)
    assert transport + abs(a[:, 0].sum() - b[:, 0].sum()) == pytest.approx(value, rel=1e-10)


# ---------------------------------------------------------------------------------------------
# the transformer and the chunked computation
# ---------------------------------------------------------------------------------------------
def test_padded_array_and_list_agree_and_extra_features_ignored():
    evs = random_events(7, 9, 3, 12)
    padded = np.zeros((9, 12, 4))
    for i, e in enumerate(evs):
        padded[i, : len(e), :3] = e
        padded[i, : len(e), 3] = 211.0  # a pid column, ignored
    np.testing.assert_allclose(
        EMDTransformer().fit_transform(padded), EMDTransformer().fit_transform(evs), atol=0
    )


def test_fit_transform_equals_fit_then_transform_and_chunks():
    evs = random_events(8, 23)
    full = EMDTransformer(chunk_size=100).fit_transform(evs)
    chunked = EMDTransformer(chunk_size=4).fit_transform(evs)
    np.testing.assert_allclose(chunked, full, atol=1e-13)
    est = EMDTransformer(chunk_size=5).fit(evs[:7])
    out = est.transform(evs)
    assert out.shape == (23, 7)
    assert est.n_references_ == 7
    np.testing.assert_allclose(out, full[:, :7], atol=1e-13)
    assert list(est.get_feature_names_out()[:2]) == ["emd0", "emd1"]


def test_n_jobs_equals_serial():
    evs = random_events(9, 20)
    serial = EMDTransformer(chunk_size=6).fit_transform(evs)
    # n_jobs: blocks in two joblib worker processes
    parallel = EMDTransformer(chunk_size=6, n_jobs=2).fit_transform(evs)
    np.testing.assert_allclose(parallel, serial, atol=1e-13)
    # a thread backend chosen by the user works too
    import joblib

    with joblib.parallel_backend("threading", n_jobs=2):
        in_threads = EMDTransformer(chunk_size=6, n_jobs=2).fit_transform(evs)
    np.testing.assert_allclose(in_threads, serial, atol=1e-13)
    if "wasserstein" in SOLVERS:
        # the solver's own OpenMP threads inside each block
        threaded = EMDTransformer(chunk_size=6, solver="wasserstein", solver_threads=2)
        np.testing.assert_allclose(threaded.fit_transform(evs), serial, atol=1e-13)


def test_dask_localcluster_equals_serial():
    distributed = pytest.importorskip("distributed")
    import joblib

    evs = random_events(10, 30)
    serial = EMDTransformer(chunk_size=7).fit_transform(evs)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:
        with distributed.get_task_stream(client) as stream, joblib.parallel_backend("dask"):
            est = EMDTransformer(chunk_size=7, n_jobs=-1)
            on_dask = est.fit_transform(evs)
            cross = est.transform(evs[:11])
        # the blocks really ran as tasks on the cluster's workers
        assert len(stream.data) >= 2
        assert {t["worker"] for t in stream.data} <= set(client.scheduler_info()["workers"])
    np.testing.assert_allclose(on_dask, serial, atol=1e-13)
    np.testing.assert_allclose(cross, serial[:11], atol=1e-13)


def test_verbose_shows_progress_bar(capsys):
    evs = random_events(11, 10)
    EMDTransformer(chunk_size=3, verbose=1).fit_transform(evs)
    err = capsys.readouterr().err
    assert "EMD chunks" in err and "10/10" in err  # 4 blocks per side -> 10 upper blocks


def test_import_is_light():
    import subprocess
    import sys

    code = (
        "import sys, sklhep.emd; heavy = {'wasserstein', 'energyflow', 'ot', 'torch', "
        "'matplotlib', 'dask', 'distributed'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    assert out.stdout.strip() == "[]"


def test_clone_and_pickle():
    evs = random_events(12, 8)
    est = EMDTransformer(R=0.5, beta=1.5, chunk_size=3)
    c = clone(est)
    assert c.get_params() == est.get_params()
    est.fit(evs)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.transform(evs[:3]), est.transform(evs[:3]))


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_nan_negative_and_feature_count_errors():
    evs = random_events(13, 3)
    bad = [e.copy() for e in evs]
    bad[1][2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        EMDTransformer().fit(bad)
    bad = [e.copy() for e in evs]
    bad[0][0, 0] = -1.0
    with pytest.raises(ValueError, match="negative pt"):
        EMDTransformer().fit_transform(bad)
    with pytest.raises(ValueError, match="at least 3 features"):
        EMDTransformer().fit([e[:, :2] for e in evs])
    est = EMDTransformer().fit(evs)
    with pytest.raises(ValueError, match="NaN or inf"):
        est.transform([np.array([[1.0, np.inf, 0.0]])])
    with pytest.raises(ValueError, match="3-D array"):
        EMDTransformer().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="negative pt"):
        emd(np.array([[-1.0, 0, 0]]), evs[0])
    with pytest.raises(ValueError, match="NaN"):
        emd(np.array([[1.0, np.nan, 0]]), evs[0])
    with pytest.raises(ValueError, match="at least 3 features"):
        emd(np.ones((2, 2)), evs[0])


@pytest.mark.parametrize("R", [0, -0.4, np.nan, np.inf, "0.4", None])
def test_bad_R(R):
    evs = random_events(14, 3)
    with pytest.raises(ValueError, match="R must be a positive"):
        EMDTransformer(R=R).fit(evs)
    with pytest.raises(ValueError, match="R must be a positive"):
        emd(evs[0], evs[1], R=R)


def test_bad_parameters():
    evs = random_events(15, 3)
    with pytest.raises(ValueError, match="beta must be a positive"):
        EMDTransformer(beta=0).fit(evs)
    with pytest.raises(ValueError, match=r"method must be one of \['exact', 'sinkhorn'\]"):
        EMDTransformer(method="hungarian").fit(evs)
    with pytest.raises(ValueError, match="empty_events must be one of"):
        EMDTransformer(empty_events="skip").fit(evs)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        EMDTransformer(chunk_size=0).fit_transform(evs)
    with pytest.raises(ValueError, match="norm must be True or False"):
        EMDTransformer(norm="yes").fit(evs)


def test_empty_event_policies():
    evs = random_events(16, 4)
    with_empty = [evs[0], np.zeros((0, 3)), evs[1], np.zeros((0, 3)), evs[2]]
    with pytest.raises(ValueError, match=r"2 empty event\(s\).*event 1"):
        EMDTransformer().fit_transform(with_empty)
    with pytest.raises(ValueError, match="empty event"):
        EMDTransformer().fit(evs).transform(with_empty)
    D = EMDTransformer(empty_events="energy").fit_transform(with_empty)
    total = np.array([e[:, 0].sum() if len(e) else 0.0 for e in with_empty])
    assert D[1, 0] == pytest.approx(total[0]) and D[0, 1] == pytest.approx(total[0])
    assert D[1, 3] == 0.0
    # the policy matches the definition the exact solver uses for an empty event
    assert D[1, 4] == pytest.approx(emd(np.zeros((0, 3)), with_empty[4]))
    nonempty = EMDTransformer().fit_transform(evs[:3])
    np.testing.assert_allclose(D[np.ix_([0, 2, 4], [0, 2, 4])], nonempty, atol=1e-13)
    N = EMDTransformer(empty_events="nan", norm=True).fit_transform(with_empty)
    assert np.all(np.isnan(N[1])) and np.all(np.isnan(N[:, 3]))
    assert np.isfinite(N[0, 2])
    with pytest.raises(ValueError, match="needs norm=False"):
        EMDTransformer(empty_events="energy", norm=True).fit(evs)
    with pytest.raises(ValueError, match="positive total pt"):
        emd(np.zeros((0, 3)), evs[0], norm=True)


# ---------------------------------------------------------------------------------------------
# scikit-learn's common checks. They generate 2-D X only (and skip an estimator whose tags say it
# takes no 2-D input), so they run on a subclass that claims 2-D input; the checks that feed it
# 2-D data then fail by design with our "must be a 3-D array" error, as listed.
# ---------------------------------------------------------------------------------------------
class _EMDTransformerUnder2DChecks(EMDTransformer):
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags


_REASON_2D = "feeds a 2-D X; EMDTransformer takes 3-D events and refuses 2-D arrays by design"
_EXPECTED_FAILED = {
    name: _REASON_2D
    for name in [
        "check_estimators_dtypes",
        "check_fit_score_takes_y",
        "check_estimators_fit_returns_self",
        "check_complex_data",
        "check_dtype_object",
        "check_estimators_empty_data_messages",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimators_overwrite_params",
        "check_estimators_pickle",
        "check_f_contiguous_array_estimator",
        "check_transformer_data_not_an_array",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
        "check_methods_sample_order_invariance",
        "check_methods_subset_invariance",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
        "check_fit2d_predict1d",
        "check_readonly_memmap_input",
        "check_positive_only_tag_during_fit",
        "check_n_features_in_after_fitting",
        "check_transformer_n_iter",
    ]
}


@parametrize_with_checks(
    [_EMDTransformerUnder2DChecks(chunk_size=50)],
    expected_failed_checks=lambda est: _EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------------------------
# downstream tools
# ---------------------------------------------------------------------------------------------
def test_emd_kernel():
    D = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.0]])
    np.testing.assert_allclose(emd_kernel(D, sigma=2.0), np.exp(-D / 2.0))
    np.testing.assert_allclose(emd_kernel(D), np.exp(-D / 1.5))  # median of (1, 2, 1, 3)
    with pytest.raises(ValueError, match="NaN or inf"):
        emd_kernel([[np.nan]])
    with pytest.raises(ValueError, match="non-negative"):
        emd_kernel([[-1.0]])
    with pytest.raises(ValueError, match="sigma must be a positive"):
        emd_kernel(D, sigma=0.0)


def _two_class_events(seed, n):
    """Class 0: one hard prong; class 1: two prongs 0.25 apart (both smeared)."""
    rng = np.random.default_rng(seed)
    evs, y = [], []
    for k in range(n):
        label = k % 2
        m = int(rng.integers(6, 14))
        pos = rng.normal(0, 0.04, (m, 2))
        if label:
            pos[m // 2 :, 0] += 0.25
        evs.append(np.column_stack([rng.exponential(1, m) + 0.1, pos]))
        y.append(label)
    return evs, np.array(y)


def test_knn_and_svm_recipes():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.svm import SVC

    evs, y = _two_class_events(17, 80)
    knn = make_emd_knn_classifier(n_neighbors=5, norm=True)
    knn.fit(evs[:60], y[:60])
    assert knn.score(evs[60:], y[60:]) >= 0.9
    grid = GridSearchCV(knn, {"knn__n_neighbors": [3, 7]}, cv=2).fit(evs[:60], y[:60])
    assert grid.best_params_["knn__n_neighbors"] in (3, 7)
    svm = make_pipeline(
        EMDTransformer(norm=True), FunctionTransformer(emd_kernel, kw_args={"sigma": 0.3}),
        SVC(kernel="precomputed"),
    )
    svm.fit(evs[:60], y[:60])
    assert svm.score(evs[60:], y[60:]) >= 0.9


def test_correlation_dimension_of_known_manifolds():
    # single-particle events at uniform points: the EMD is the distance / R, so the set of
    # events is a copy of the square (dimension 2) or of a segment (dimension 1)
    rng = np.random.default_rng(18)
    square = [np.array([[1.0, *rng.uniform(-0.5, 0.5, 2)]]) for _ in range(400)]
    line = [np.array([[1.0, x, 0.0]]) for x in rng.uniform(-0.5, 0.5, 400)]
    for evs, truth in ((square, 2.0), (line, 1.0)):
        D = EMDTransformer(R=1.0).fit_transform(evs)
        Q, dim, err = correlation_dimension(D, bins=np.geomspace(0.02, 0.1, 5))
        assert np.all(np.abs(dim - truth) < 0.25), dim
        assert np.all(err > 0)
    # condensed input gives the same answer
    iu = np.triu_indices(len(line), 1)
    Q2, dim2, _ = correlation_dimension(D[iu], bins=np.geomspace(0.02, 0.1, 5))
    np.testing.assert_allclose(dim2, dim)
    with pytest.raises(ValueError, match="square"):
        correlation_dimension(np.ones((3, 4)))
    with pytest.raises(ValueError, match="finite and non-negative"):
        correlation_dimension([np.nan, 1.0])


def test_event_isotropy_example():
    ref = uniform_event(12, 24, y_max=2.0)
    assert ref.shape == (288, 3) and ref[:, 0].sum() == pytest.approx(1.0)
    rng = np.random.default_rng(19)
    n = 200
    isotropic = np.column_stack(
        [np.ones(n), rng.uniform(-2, 2, n), rng.uniform(-np.pi, np.pi, n)]
    )
    trijet = np.array([[30.0, 0.0, 0.0], [30.0, 0.0, 2.094], [30.0, 0.0, -2.094]])
    dijet = np.array([[50.0, 0.1, 0.2], [48.0, -0.3, 0.2 - np.pi]])
    # R = 4 >= half the largest distance on the cylinder, sqrt(4**2 + pi**2) / 2
    est = EMDTransformer(R=4.0, norm=True).fit([ref])
    iso = est.transform([isotropic, trijet, dijet])[:, 0]
    # isotropic events are close to the uniform event; fewer prongs are farther away
    assert iso[0] < 0.1 < 0.25 < iso[1] < iso[2]


# ---------------------------------------------------------------------------------------------
# Sinkhorn approximation
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def torch_one_thread():
    """Small tensors: one torch thread (several threads on a busy 2-core machine crawl)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(before)


def test_sinkhorn_close_to_exact_and_differentiable(torch_one_thread):
    torch = torch_one_thread
    evs = random_events(20, 10, 5, 20)
    exact = EMDTransformer(R=0.4).fit_transform(evs)
    approx = EMDTransformer(R=0.4, method="sinkhorn", epsilon=0.01, device="cpu").fit_transform(
        evs
    )
    iu = np.triu_indices(10, 1)
    rel = (approx[iu] - exact[iu]) / exact[iu]
    assert np.abs(rel).max() < 0.02, rel  # loose: entropic bias of a few per mille
    np.testing.assert_allclose(approx, approx.T, atol=1e-12)
    # gradients: moving one particle of pt p along y changes the EMD at rate p / R
    a = torch.tensor([[[2.0, 0.0, 0.0], [1.0, 1.0, 1.0]]], dtype=torch.float64)
    b = a.clone()
    shift = torch.tensor(0.05, dtype=torch.float64, requires_grad=True)
    b = torch.cat([b[:, :1], b[:, 1:]], 1)
    b_moved = b.clone()
    b_moved[0, 0, 1] = b[0, 0, 1] + shift
    d = sinkhorn_emd(a, b_moved, R=0.4, epsilon=0.001, device="cpu")
    assert float(d[0].detach()) == pytest.approx(2.0 * 0.05 / 0.4, rel=1e-3)
    d.sum().backward()
    assert float(shift.grad) == pytest.approx(2.0 / 0.4, rel=1e-2)
    with pytest.raises(ValueError, match="epsilon must be a positive"):
        sinkhorn_emd(a, b, epsilon=0.0)
    with pytest.raises(ValueError, match="same number of events"):
        sinkhorn_emd(a, torch.cat([b, b]))


def test_sinkhorn_energy_difference_and_padding(torch_one_thread):
    ev = np.array([[3.0, 0.0, 0.0], [1.0, 0.2, 0.1]])
    plus = np.vstack([ev, [[2.0, 0.5, 0.5]], np.zeros((3, 3))])  # padded rows ignored
    d = sinkhorn_emd(ev[None], plus[None], R=0.4, epsilon=0.005, device="cpu")
    assert float(d[0]) == pytest.approx(2.0, rel=5e-3)


# ---------------------------------------------------------------------------------------------
# plots
# ---------------------------------------------------------------------------------------------
def test_plots():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklhep.plotting import plot_correlation_dimension, plot_emd_flow

    ax = plot_correlation_dimension([0.1, 0.2, 0.4], [2.0, 1.8, 1.5], [0.1, 0.1, 0.1],
                                    label="gluon")
    plot_correlation_dimension([0.1, 0.2, 0.4], [1.0, 0.9, 0.8], label="quark", ax=ax)
    assert len(ax.lines) == 2 and len(ax.collections) == 1
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["gluon", "quark"]
    rng = np.random.default_rng(21)
    a, b = random_event(rng, 4), random_event(rng, 5)
    _, flow = emd(a, b, return_flow=True)
    ax2 = plot_emd_flow(a, b, flow)
    assert len(ax2.collections) == 2 and len(ax2.lines) >= 4
    with pytest.raises(ValueError, match="flow must have shape"):
        plot_emd_flow(a, b, flow.T)
    plt.close("all")


# ---------------------------------------------------------------------------------------------
# physics on jets of the built-in shower
# ---------------------------------------------------------------------------------------------
def _shower(n, flavor, seed):
    datasets = pytest.importorskip("sklhep.datasets")
    X, _ = datasets.make_jets(n, flavor=flavor, pt=500.0, R=0.4, random_state=seed)
    return X


def _qg_dimensions(n, n_bins):
    quarks, gluons = _shower(n, "quark", 1), _shower(n, "gluon", 2)
    d_q = EMDTransformer(R=0.4, n_jobs=2).fit_transform(quarks)
    d_g = EMDTransformer(R=0.4, n_jobs=2).fit_transform(gluons)
    iu = np.triu_indices(n, 1)
    edges = np.geomspace(np.quantile(d_q[iu], 0.002), np.quantile(d_g[iu], 0.95), n_bins)
    Q, dim_q, _ = correlation_dimension(d_q, bins=edges)
    _, dim_g, _ = correlation_dimension(d_g, bins=edges)
    both = np.isfinite(dim_q) & np.isfinite(dim_g)
    return Q[both], dim_q[both], dim_g[both]


def test_gluon_jets_have_higher_correlation_dimension():
    Q, dim_q, dim_g = _qg_dimensions(100, 8)
    assert len(Q) >= 4
    assert np.all(dim_g > dim_q), (Q, dim_q, dim_g)


@pytest.mark.slow
def test_correlation_dimension_ratio_tends_to_casimir_ratio():
    # ~1-2 min: 500 jets of each flavour
    Q, dim_q, dim_g = _qg_dimensions(500, 14)
    assert np.all(dim_g > dim_q)
    ratio = dim_g / dim_q
    # At small Q (soft-collinear emissions) the ratio approaches C_A / C_F = 9/4; the smallest bins
    # hold few pairs and scatter by +-0.5 at 500 jets, so the median over the lower half of the Q
    # range is compared. Equal dimensions (a flavour-blind shower or metric) would give 1.
    small_q = np.median(ratio[: len(ratio) // 2])
    assert 1.8 < small_q < 3.0, ratio
    # towards large Q (hard, wide-angle structure) the ratio falls
    assert ratio[-1] < small_q, ratio


@pytest.mark.slow
def test_knn_on_emd_separates_quark_and_gluon_jets():
    # ~2-3 min: 700 training and 300 test jets
    from sklearn.metrics import roc_auc_score

    datasets = pytest.importorskip("sklhep.datasets")
    X, y = datasets.make_jets(1000, flavor="both", pt=500.0, R=0.4, random_state=3)
    knn = make_emd_knn_classifier(n_neighbors=30, R=0.4, n_jobs=2).fit(X[:700], y[:700])
    auc = roc_auc_score(y[700:], knn.predict_proba(X[700:])[:, 1])
    assert auc > 0.7, auc


def test_weighted_correlation_dimension():
    """Unit weights give the unweighted dimension; integer pair weights are repeated pairs;
    per-event weights weigh a pair by their product."""
    rng = np.random.default_rng(0)
    d = rng.exponential(10.0, 2000)
    edges = np.geomspace(0.5, 40.0, 9)
    Q, dim, err = correlation_dimension(d, bins=edges)
    Qw, dimw, errw = correlation_dimension(d, bins=edges, sample_weight=np.ones_like(d))
    np.testing.assert_allclose(Qw, Q)
    np.testing.assert_allclose(dimw, dim, rtol=1e-12)
    np.testing.assert_allclose(errw, err, rtol=1e-12)
    w = rng.integers(1, 4, size=d.size)
    _, dim_rep, err_rep = correlation_dimension(np.repeat(d, w), bins=edges)
    _, dim_w, err_w = correlation_dimension(d, bins=edges, sample_weight=w)
    np.testing.assert_allclose(dim_w, dim_rep, rtol=1e-12)
    assert np.all(err_w[np.isfinite(err_w)] > err_rep[np.isfinite(err_rep)])  # sqrt(sum w^2)
    # per-event weights on a matrix = the outer product as pair weights
    points = rng.random((300, 3))
    D = np.linalg.norm(points[:, None] - points[None], axis=-1)
    we = rng.uniform(0.2, 1.0, 300)
    a = correlation_dimension(D, bins=np.geomspace(0.05, 0.3, 5), sample_weight=we)
    b = correlation_dimension(D, bins=np.geomspace(0.05, 0.3, 5), sample_weight=np.outer(we, we))
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12)
    assert np.all(np.abs(a[1] - 3) < 0.6), a[1]  # weights do not change a uniform cloud's dimension
    for bad, match in [(np.ones(5), "shape"), (-np.ones(d.size), "non-negative"),
                       (np.zeros(d.size), "zero"), (np.full(d.size, np.nan), "finite")]:
        with pytest.raises(ValueError, match=match):
            correlation_dimension(d, bins=edges, sample_weight=bad)
    with pytest.raises(ValueError, match="shape"):
        correlation_dimension(D, bins=edges, sample_weight=np.ones((4, 4)))
