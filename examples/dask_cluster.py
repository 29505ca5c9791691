"""Run sklhep's parallel work on a Dask cluster: cross-fitting folds and EMD blocks.

Every parallel loop in sklhep (the folds of a cross-fitted classifier, the blocks of a pairwise
EMD matrix, bootstrap replicas) goes through :class:`sklearn.utils.parallel.Parallel`, so
``with joblib.parallel_backend("dask"):`` sends it to a Dask cluster with no change to the code.
This script starts a ``LocalCluster`` of two worker processes (on a real cluster, connect a
``Client`` to its scheduler instead), runs a 4-fold cross-fitted CWoLa classifier and a pairwise
EMD matrix there, checks that the results are identical to a local run, and draws the wall times.

Run::

    python examples/dask_cluster.py [--quick] [--out dask_cluster.png]
"""

import argparse
import time

import matplotlib

matplotlib.use("Agg")
import joblib  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sklhep import CWoLaClassifier  # noqa: E402
from sklhep.datasets import make_jets, make_mixtures  # noqa: E402
from sklhep.emd import EMDTransformer  # noqa: E402
from sklhep.preprocessing import JetObservables  # noqa: E402


def workloads(n_jets, n_emd, seed=0):
    """The two jobs, each a function of ``n_jobs`` returning an array."""
    jets, y_mix, _ = make_mixtures(n_jets, fractions=(0.8, 0.2), random_state=seed)
    X = JetObservables(observables=["multiplicity", "mass", "width", "ptd"]).fit_transform(jets)
    emd_jets, _ = make_jets(n_emd, flavor="both", random_state=seed + 1)

    def folds(n_jobs):
        model = CWoLaClassifier(backend="bdt", cv=4, n_jobs=n_jobs, random_state=seed)
        return model.fit(X, y_mix).oof_decision_function_

    def emd(n_jobs):
        return EMDTransformer(R=0.4, n_jobs=n_jobs).fit_transform(emd_jets)

    return {"CWoLa, 4 folds": folds, f"EMD, {n_emd} jets": emd}


def make_figure(n_jets=20_000, n_emd=300, seed=0):
    from distributed import Client, LocalCluster

    jobs = workloads(n_jets, n_emd, seed)
    local, remote, times = {}, {}, {"local, 1 job": [], "Dask LocalCluster, 2 workers": []}
    for name, job in jobs.items():
        t0 = time.perf_counter()
        local[name] = job(1)
        times["local, 1 job"].append(time.perf_counter() - t0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        print(f"cluster: {client}")
        with joblib.parallel_backend("dask"):
            for name, job in jobs.items():
                t0 = time.perf_counter()
                remote[name] = job(-1)
                times["Dask LocalCluster, 2 workers"].append(time.perf_counter() - t0)
    same = {name: bool(np.allclose(local[name], remote[name], rtol=0, atol=1e-12))
            for name in jobs}

    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    y = np.arange(len(jobs))
    for k, (label, t) in enumerate(times.items()):
        ax.barh(y + 0.4 * k, t, height=0.4, label=label)
    ax.set_yticks(y + 0.2, [f"{n}\n(identical: {same[n]})" for n in jobs])
    ax.set_xlabel("wall time [s]")
    ax.legend(frameon=False, fontsize="small")
    fig.tight_layout()
    return fig, same


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 000 jets, 40 EMD jets")
    parser.add_argument("--out", default="dask_cluster.png")
    args = parser.parse_args(argv)
    fig, same = make_figure(n_jets=2_000 if args.quick else 20_000,
                            n_emd=40 if args.quick else 300)
    fig.savefig(args.out, dpi=110)
    if not all(same.values()):
        raise SystemExit(f"local and Dask results differ: {same}")
    print(f"identical results locally and on Dask: {same}; wrote {args.out}")


if __name__ == "__main__":
    main()
