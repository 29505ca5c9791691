"""Every capability's benchmark side by side with its reference tool, as one table.

Run from the repository root::

    python benchmarks/run_all.py            # a few minutes on two cores
    python benchmarks/run_all.py --quick    # well under a minute of work per row
    python benchmarks/run_all.py --only emd cwola --json out.json --compare old.json

Each row measures one figure of merit for sklhep and for the reference tool in the same process,
on the same data, and prints their ratio (sklhep / reference):

=================  ==========================================================================
capability         figure (reference)
=================  ==========================================================================
emd                exact EMD pairs per second, one thread (energyflow.emd.emds; POT ot.emd2)
ratio              median |r_hat/r - 1| of the likelihood ratio on N(+1,1) vs N(-1,1)
                   (a numpy histogram ratio; hep_ml's GBReweighter when installed)
cwola              AUC on pure quark/gluon jets, trained on mixtures (the same BDT supervised)
efn                EFN training throughput in jets/s (a bare PyTorch loop on the same module)
generation         jets per second of the built-in shower (Pythia 8 + FastJet)
unfolding          OmniFold closure chi2/ndf and wall time (pyunfold's IBU)
topics             quark-fraction bias per kappa method (the truth)
=================  ==========================================================================

A capability whose estimator or reference tool is missing prints as "not available" with the
reason. The table is also written as JSON (``--json``, default
``benchmarks/results/run_all.json``), so a later run can be compared with ``--compare``.
The row functions reuse the single-topic benchmarks (``bench_emd.py``, ``bench_ratio.py``,
``bench_set_nets.py``), which print more detail.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout
sys.path.insert(0, str(HERE))  # the single-topic benchmarks


def _row(capability, figure, ours, reference, reference_name, *, better="higher", unit="",
         note=""):
    ratio = ours / reference if reference else math.nan
    return {"capability": capability, "figure": figure, "unit": unit, "sklhep": ours,
            "reference": reference, "reference_name": reference_name, "ratio": ratio,
            "better": better, "note": note}


def _missing(capability, figure, why):
    return {"capability": capability, "figure": figure, "unit": "", "sklhep": None,
            "reference": None, "reference_name": "", "ratio": None, "better": "",
            "note": f"not available: {why}"}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------------------- rows
def bench_emd(quick):
    import bench_emd

    from sklhep.emd import EMDTransformer

    n = 60 if quick else 300
    found = bench_emd.shower_jets(n, 20, 80, seed=0)
    jets, _ = found if found is not None else bench_emd.synthetic_jets(n, 20, 80, 0)
    n_pairs = n * (n - 1) // 2
    est = EMDTransformer(R=0.4, beta=1.0, n_jobs=1)
    est.fit_transform(jets[:10])  # warm up
    D, t_ours = _timed(lambda: est.fit_transform(jets))
    ours = n_pairs / t_ours
    rows = []
    if importlib.util.find_spec("energyflow"):
        from energyflow.emd import emds

        ev = [j[:, :3] for j in jets]
        _, t_ef = _timed(lambda: emds(ev, R=0.4, beta=1.0, n_jobs=1, verbose=0))
        rows.append(_row("emd", "exact EMD pairs/s (1 thread)", ours, n_pairs / t_ef,
                         "energyflow.emd.emds", unit="pairs/s"))
    else:
        rows.append(_missing("emd", "exact EMD pairs/s", "energyflow is not installed"))
    if importlib.util.find_spec("ot"):
        rng = np.random.default_rng(0)
        m = 300 if quick else 2000
        pairs = [tuple(rng.choice(n, 2, replace=False)) for _ in range(m)]
        ref, t_pot = _timed(lambda: bench_emd.pot_pairs(jets, pairs, 0.4, 1.0))
        agree = max(abs(ref[k] - D[i, j]) for k, (i, j) in enumerate(pairs))
        rows.append(_row("emd", "exact EMD pairs/s (1 thread)", ours, m / t_pot, "POT ot.emd2",
                         unit="pairs/s", note=f"max |difference| {agree:.1e} GeV"))
    return rows


def bench_ratio(quick):
    import bench_ratio

    from sklhep import LikelihoodRatioEstimator, get_backend
    from sklhep.datasets import make_gaussian_pair

    n = 20_000 if quick else 100_000
    X, y, log_ratio = make_gaussian_pair(n, n_features=1, random_state=0)
    X_test, y_test, _ = make_gaussian_pair(20_000, n_features=1, random_state=1)

    def ours():
        return LikelihoodRatioEstimator(get_backend("bdt"), random_state=0)

    res = bench_ratio.run("sklhep bdt", ours, X, y, X_test, y_test, log_ratio)
    rows = []
    refs = [("numpy histogram ratio", lambda: bench_ratio.NumpyHistogramRatio(bins=40))]
    if importlib.util.find_spec("hep_ml"):
        refs.append(("hep_ml GBReweighter", bench_ratio.HepMLReweighter))
    for name, make in refs:
        ref = bench_ratio.run(name, make, X, y, X_test, y_test, log_ratio)
        rows.append(_row("ratio", "median |r_hat/r - 1|, N(+-1,1)", res["err"], ref["err"], name,
                         better="lower", note=f"fit {res['time']:.1f} s vs {ref['time']:.1f} s"))
    if len(refs) == 1:
        rows.append(_missing("ratio", "median |r_hat/r - 1|", "hep_ml is not installed"))
    return rows


def bench_cwola(quick):
    from sklearn.metrics import roc_auc_score

    from sklhep import CWoLaClassifier, LikelihoodRatioEstimator, get_backend
    from sklhep.datasets import make_mixtures
    from sklhep.preprocessing import JetObservables

    n = 3000 if quick else 20_000
    jets, y_mix, y_true = make_mixtures(n, fractions=(0.8, 0.3), random_state=0)
    test, _, y_test = make_mixtures(n // 2, fractions=(1.0, 0.0), random_state=1)
    obs = JetObservables(observables=["multiplicity", "mass", "width", "ptd"])
    X, X_test = obs.fit_transform(jets), obs.transform(test)
    cwola, t = _timed(lambda: CWoLaClassifier(get_backend("bdt"), random_state=0).fit(X, y_mix))
    sup = LikelihoodRatioEstimator(get_backend("bdt"), random_state=0).fit(X, y_true)
    a_c = roc_auc_score(y_test, cwola.decision_function(X_test))
    a_s = roc_auc_score(y_test, sup.decision_function(X_test))
    return [_row("cwola", "quark/gluon AUC, mixtures (0.8, 0.3)", a_c, a_s,
                 "supervised bdt (true labels)", note=f"{2 * n} jets, fit {t:.1f} s")]


def bench_efn(quick):
    if not (importlib.util.find_spec("torch") and importlib.util.find_spec("skorch")):
        return [_missing("efn", "EFN training jets/s", "torch/skorch are not installed")]
    import bench_set_nets
    import torch

    from sklhep.backends.set_nets import EFNClassifier
    from sklhep.datasets import make_jets
    from sklhep.preprocessing import JetPreprocessor

    torch.set_num_threads(1)
    X, y = make_jets(1000 if quick else 20_000, flavor="both", random_state=0)
    Xp = JetPreprocessor().fit_transform(X)
    ours, bare = bench_set_nets.throughput(EFNClassifier, Xp, y, repeats=1 if quick else 2)
    return [_row("efn", "EFN training throughput", ours, bare, "bare PyTorch loop",
                 unit="jets/s")]


def bench_generation(quick):
    from sklhep.datasets import make_jets

    n = 5000 if quick else 50_000
    make_jets(100, random_state=0)
    _, t = _timed(lambda: make_jets(n, flavor="both", random_state=0))
    ours = n / t
    if not (importlib.util.find_spec("pythia8mc") and importlib.util.find_spec("fastjet")):
        return [_missing("generation", "jets/s", "pythia8mc/fastjet are not installed")]
    from sklhep.datasets import generate_pythia_jets

    m = 20 if quick else 100
    _, tp = _timed(lambda: generate_pythia_jets(m, "zjets", random_state=0, cache=False,
                                                n_jobs=1))
    return [_row("generation", "jets/s (built-in shower vs Pythia Z+jet)", ours, m / tp,
                 "Pythia 8 + FastJet", unit="jets/s", note=f"{m} Pythia jets, one core")]


def bench_unfolding(quick):
    if importlib.util.find_spec("sklhep.unfolding") is None:
        return [_missing("unfolding", "closure chi2/ndf and time vs IBU",
                         "sklhep.unfolding is not part of this version")]
    import bench_unfolding as bu

    from sklhep.datasets import make_gaussian_unfolding
    from sklhep.unfolding import IterativeBayesUnfolder, OmniFoldUnfolder

    n, K = (20_000 if quick else 100_000), 4
    d = make_gaussian_unfolding(n, random_state=0)
    truth = np.histogram(d.nature_truth[:, 0], bu.EDGES)[0].astype(float)
    of, t_of = _timed(lambda: OmniFoldUnfolder("bdt", n_iterations=K, random_state=0).fit(
        d.sim_reco, d.sim_truth, d.nature_reco))
    counts, variances, _ = of.histogram(d.sim_truth[:, 0], bu.EDGES)
    chi2_of = bu.chi2_ndf(counts, variances, truth)
    ibu = IterativeBayesUnfolder(bu.EDGES, bu.EDGES, n_iterations=K).fit(
        d.sim_reco, d.sim_truth, d.nature_reco)
    if importlib.util.find_spec("pyunfold") is None:
        return [_missing("unfolding", "closure chi2/ndf vs IBU", "pyunfold is not installed")]
    import pyunfold

    res, t_py = _timed(lambda: pyunfold.iterative_unfold(
        data=ibu.data_, data_err=np.sqrt(ibu.data_), response=ibu.response_,
        response_err=np.full_like(ibu.response_, 1e-3), efficiencies=ibu.efficiency_,
        efficiencies_err=np.full_like(ibu.efficiency_, 1e-3),
        prior=ibu.prior_ / ibu.prior_.sum(), ts_stopping=-1.0, max_iter=K))
    chi2_py = bu.chi2_ndf(res["unfolded"], res["stat_err"] ** 2, truth)
    note = f"Gaussian toy, {n} events, {K} iterations"
    return [_row("unfolding", "closure chi2/ndf, OmniFold bdt", chi2_of, chi2_py,
                 "pyunfold iterative_unfold", better="lower", note=note),
            _row("unfolding", "wall time, OmniFold bdt", t_of, t_py, "pyunfold iterative_unfold",
                 better="lower", unit="s", note="unbinned vs binned")]


def bench_topics(quick):
    if importlib.util.find_spec("sklhep.topics") is None:
        return [_missing("topics", "fraction bias per kappa method",
                         "sklhep.topics is not part of this version")]
    from sklhep.datasets import make_topic_mixtures
    from sklhep.topics import KAPPA_METHODS, TopicDemixer

    n, reps = (10_000, 3) if quick else (100_000, 10)
    rows = []
    for method in KAPPA_METHODS:
        f1 = []
        t0 = time.perf_counter()
        for seed in range(reps):
            X, y, _, _ = make_topic_mixtures(n, toy="sep", random_state=seed)
            f1.append(TopicDemixer(method=method, random_state=seed).fit(X, y).fractions_[0])
        dt = (time.perf_counter() - t0) / reps
        rows.append(_row("topics", f"f1 on the 'sep' toy, method={method!r}",
                         float(np.mean(f1)), 0.8, "truth", better="closer to 1",
                         note=f"{n} events per mixture, {reps} seeds, spread "
                              f"{np.std(f1):.3f}, {dt:.2f} s per fit"))
    return rows


BENCHMARKS = {
    "emd": bench_emd,
    "ratio": bench_ratio,
    "cwola": bench_cwola,
    "efn": bench_efn,
    "generation": bench_generation,
    "unfolding": bench_unfolding,
    "topics": bench_topics,
}


# ------------------------------------------------------------------------------------ table
def _fmt(x):
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return "nan"
    return f"{x:.4g}"


def format_table(rows, previous=None):
    """The rows as a fixed-width text table (with the previous run's ratio when given)."""
    prev = {}
    for r in (previous or {}).get("rows", []):
        prev[(r["capability"], r["reference_name"])] = r.get("ratio")
    head = ["capability", "figure", "sklhep", "reference", "ratio", "reference tool", "note"]
    if previous:
        head.insert(5, "previous ratio")
    lines = []
    for r in rows:
        cells = [r["capability"], r["figure"] + (f" [{r['unit']}]" if r["unit"] else ""),
                 _fmt(r["sklhep"]), _fmt(r["reference"]), _fmt(r["ratio"]),
                 r["reference_name"], r["note"] + (f" ({r['better']} is better)"
                                                    if r["better"] else "")]
        if previous:
            cells.insert(5, _fmt(prev.get((r["capability"], r["reference_name"]))))
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(head, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(cells, widths)) for cells in lines]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small samples")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=None,
                        help="run only these capabilities")
    parser.add_argument("--json", default=str(HERE / "results" / "run_all.json"),
                        help="where to write the table as JSON")
    parser.add_argument("--compare", default=None, help="a previous JSON table to compare with")
    args = parser.parse_args(argv)

    import sklhep

    rows, seconds = [], {}
    for name in args.only or BENCHMARKS:
        t0 = time.perf_counter()
        try:
            rows += BENCHMARKS[name](args.quick)
        except Exception as exc:  # noqa: BLE001 -- one failing row must not hide the others
            rows.append(_missing(name, "-", f"failed: {type(exc).__name__}: {exc}"))
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"[{name}] {seconds[name]} s", file=sys.stderr, flush=True)
    previous = None
    if args.compare:
        previous = json.loads(Path(args.compare).read_text())
    print(format_table(rows, previous))
    result = {
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sklhep": sklhep.__version__, "numpy": np.__version__, "python": platform.python_version(),
        "machine": platform.machine(), "quick": args.quick, "seconds": seconds,
        "rows": [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                  for k, v in r.items()} for r in rows],
    }
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
