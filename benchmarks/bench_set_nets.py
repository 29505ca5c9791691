"""Benchmark of the set networks (``efn``, ``pfn``): CPU training throughput and AUC.

Run from the repository root::

    python benchmarks/bench_set_nets.py                     # 100k built-in-shower jets
    python benchmarks/bench_set_nets.py --n-jets 20000 --epochs 5     # a quicker look
    python benchmarks/bench_set_nets.py --pythia 20000      # also Pythia Z+jet quark/gluon jets
    python benchmarks/bench_set_nets.py --n-jets 0 --pythia 10000     # Pythia only

What it prints
--------------
1. Throughput: jets per second for one training epoch of the sklhep backend (skorch) at the
   literature architecture (Phi (100, 100, 128), F (100, 100, 100), batch 500), next to a bare
   PyTorch loop training the same module on the same prepared tensors and batches, and their ratio
   (the cost of the skorch/sklearn layer).
2. AUC on a held-out 20 % of the jets: EFN and PFN (literature sizes, early stopping) and, as the
   reference, an xgboost BDT on jet observables (multiplicity, mass, width, ptD, e2, C2, D2) of the
   same jets.
3. With ``--pythia N`` (needs the ``gen`` extra and ``sklhep.datasets.generate_pythia_jets``), the
   same on Pythia 8 Z+jet quark vs gluon jets (pt 500-550 GeV, R = 0.4), compared with the published
   EFN/PFN AUCs of about 0.88-0.90 (Komiske, Metodiev, Thaler, arXiv:1810.05165, trained on 1.6M
   jets: the sample here is far smaller, so a somewhat lower AUC is expected).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _bare_torch_epoch(est, X, y, batch_size, seed=0):
    """One epoch of a plain PyTorch loop on the module an sklhep backend builds."""
    import torch

    from sklhep.backends._torch import WeightedLoss, _BatchIterator

    torch.manual_seed(seed)
    inputs = est._prepare(X, fitting=True)
    module = est._build_module()
    opt = torch.optim.AdamW(module.parameters(), lr=1e-3, weight_decay=0.0)
    crit = WeightedLoss("bce")
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in inputs.items()}
    keys, mask_key = est._particle_keys
    batches = _BatchIterator(
        tensors, torch.from_numpy(y.astype(np.float32)), batch_size, True, keys, mask_key
    )
    module.train()
    t0 = time.perf_counter()
    for Xb, yb in batches:
        opt.zero_grad()
        loss = crit(module(**Xb), yb)
        loss.backward()
        opt.step()
    return len(y) / (time.perf_counter() - t0)


def throughput(cls, X, y, batch_size=500, repeats=2):
    """Jets/s for one epoch: the sklhep backend (including its input preparation) vs a bare torch
    loop on already prepared tensors. Alternated and best of ``repeats``, since the machine may be
    shared."""
    # warm up both (the first optimizer construction imports parts of torch)
    _bare_torch_epoch(cls(random_state=0), X[:1000], y[:1000], batch_size)
    cls(max_epochs=1, validation_fraction=0, random_state=0).fit(X[:1000], y[:1000])
    ours, bare = [], []
    for _ in range(repeats):
        est = cls(max_epochs=1, validation_fraction=0, batch_size=batch_size, random_state=0)
        t0 = time.perf_counter()
        est.fit(X, y)
        ours.append(len(y) / (time.perf_counter() - t0))
        bare.append(_bare_torch_epoch(cls(random_state=0), X, y, batch_size))
    return max(ours), max(bare)


def auc_table(X, y, epochs, label, rng_seed=0):
    import xgboost as xgb
    from sklearn.metrics import roc_auc_score

    from sklhep.backends.set_nets import EFNClassifier, PFNClassifier
    from sklhep.preprocessing import JetObservables, JetPreprocessor

    n_test = len(y) // 5
    train, test = slice(n_test, None), slice(0, n_test)
    Xp = JetPreprocessor().fit_transform(X)
    t0 = time.perf_counter()
    names = ["multiplicity", "mass", "width", "ptd", "e2", "c2", "d2"]
    O = JetObservables(observables=names).fit_transform(X)
    t_obs = time.perf_counter() - t0
    t0 = time.perf_counter()
    bdt = xgb.XGBClassifier(n_estimators=400, max_depth=4, learning_rate=0.05, n_jobs=1)
    bdt.fit(O[train], y[train])
    auc_bdt = roc_auc_score(y[test], bdt.predict_proba(O[test])[:, 1])
    rows = [("BDT on observables", auc_bdt, time.perf_counter() - t0 + t_obs, "-")]
    for cls in (EFNClassifier, PFNClassifier):
        t0 = time.perf_counter()
        net = cls(max_epochs=epochs, patience=5, random_state=rng_seed).fit(Xp[train], y[train])
        auc = roc_auc_score(y[test], net.decision_function(Xp[test]))
        rows.append((cls.__name__[:3], auc, time.perf_counter() - t0, f"{net.n_epochs_}/{epochs}"))
    print(f"\nAUC on {label}: {len(y) - n_test} training jets, {n_test} test jets")
    print(f"  {'model':<20} {'AUC':>7} {'time [s]':>9} {'epochs':>7}  AUC - AUC(BDT)")
    for name, auc, t, ep in rows:
        print(f"  {name:<20} {auc:7.4f} {t:9.1f} {ep:>7}  {auc - auc_bdt:+.4f}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-jets", type=int, default=100_000, help="shower jets (0 skips)")
    parser.add_argument("--epochs", type=int, default=20, help="max epochs for the AUC runs")
    parser.add_argument("--throughput-jets", type=int, default=20_000)
    parser.add_argument("--max-particles", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--pythia", type=int, default=0, help="also run on N Pythia Z+jet jets")
    args = parser.parse_args(argv)

    import torch

    import sklhep.datasets as datasets
    from sklhep.backends.set_nets import EFNClassifier, PFNClassifier
    from sklhep.preprocessing import JetPreprocessor

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s)")
    if args.n_jets > 0:
        run_shower(args, datasets, EFNClassifier, PFNClassifier, JetPreprocessor)
    if args.pythia:
        run_pythia(args, datasets)


def run_shower(args, datasets, EFNClassifier, PFNClassifier, JetPreprocessor):
    t0 = time.perf_counter()
    X, y = datasets.make_jets(
        args.n_jets, flavor="both", random_state=0, max_particles=args.max_particles
    )
    mult = (X[..., 0] > 0).sum(1)
    print(
        f"built-in shower: {len(y)} jets in {time.perf_counter() - t0:.1f} s; "
        f"multiplicity mean {mult.mean():.1f}, max {mult.max()}"
    )

    nt = min(args.throughput_jets, len(y))
    Xt = JetPreprocessor().fit_transform(X[:nt])
    print(f"\nTraining throughput, one epoch on {nt} jets, literature sizes, batch 500 (CPU)")
    print(f"  {'model':<6} {'sklhep [jets/s]':>16} {'bare torch [jets/s]':>20} {'ratio':>6}")
    for cls in (EFNClassifier, PFNClassifier):
        ours, bare = throughput(cls, Xt, y[:nt])
        print(f"  {cls.__name__[:3]:<6} {ours:16.0f} {bare:20.0f} {ours / bare:6.2f}")

    auc_table(X, y, args.epochs, "built-in-shower quark/gluon jets (500 GeV, R=0.4)")


def run_pythia(args, datasets):
    gen = getattr(datasets, "generate_pythia_jets", None)
    if gen is None:
        print("\nsklhep.datasets.generate_pythia_jets is not available; skipping Pythia.")
        return
    t0 = time.perf_counter()
    Xp, yp = gen(args.pythia, "zjets", random_state=0, max_particles=args.max_particles)
    dt = time.perf_counter() - t0
    print(f"\nPythia Z+jet: {len(yp)} jets in {dt:.0f} s (cached after the first run)")
    rows = auc_table(Xp, yp, args.epochs, "Pythia 8 Z+jet quark/gluon jets (500-550 GeV)")
    print(
        "  published (arXiv:1810.05165, 1.6M training jets): EFN ~0.88, PFN ~0.89-0.90; here "
        f"{len(yp) * 4 // 5} training jets, so lower values are expected "
        f"(EFN {rows[1][1]:.3f}, PFN {rows[2][1]:.3f})."
    )


if __name__ == "__main__":
    main()
