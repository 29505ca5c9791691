"""The ``sklhep`` command.

``sklhep demo`` is the main job of the README: it generates two mixtures of quark and gluon jets
with the built-in parton shower, computes jet observables, trains a CWoLa classifier on the mixture
labels alone and a supervised classifier on the hidden truth, and prints both AUCs on an independent
sample of pure quark and gluon jets. ``sklhep backends`` lists the backends.
"""

from __future__ import annotations

import argparse
import sys
import time

__all__ = ["main"]

DEMO_OBSERVABLES = ["multiplicity", "mass", "width", "ptd"]


def _parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sklhep",
        description="scikit-learn estimators for the machine-learning methods of collider physics.",
    )
    parser.add_argument("--version", action="version", version=f"sklhep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")

    demo = sub.add_parser(
        "demo",
        help="CWoLa on generated quark/gluon mixtures; prints its AUC and the supervised AUC",
        description="Train a CWoLa classifier on two quark/gluon mixtures (mixture labels only) "
        "and a supervised classifier on the same jets (true labels), and compare their AUCs on "
        "independent pure quark and gluon jets.",
    )
    demo.add_argument("--n-jets", type=int, default=20000,
                      help="training jets per mixture (default: 20000)")
    demo.add_argument("--fractions", type=float, nargs=2, default=(0.8, 0.2),
                      metavar=("F1", "F2"), help="quark fractions of the two mixtures "
                      "(default: 0.8 0.2)")
    demo.add_argument("--backend", default="bdt",
                      help="backend name, see 'sklhep backends' (default: bdt)")
    demo.add_argument("--n-folds", type=int, default=None,
                      help="k-fold cross-fitting of the CWoLa classifier (default: none)")
    demo.add_argument("--toy", action="store_true",
                      help="use 2-D Gaussian mixtures instead of jets (a few seconds)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")

    sub.add_parser("backends", help="list the available backends")
    return parser


def _data(args):
    """Training mixtures (X, y_mix, y_true), a pure test sample (X, y_true), a description."""
    f1, f2 = args.fractions
    n_test = max(args.n_jets // 2, 50)
    if args.toy:
        from .datasets import make_gaussian_mixtures

        X, y_mix, y_true, _ = make_gaussian_mixtures(
            args.n_jets, fractions=(f1, f2), n_features=2, random_state=args.seed
        )
        X_test, _, y_test, _ = make_gaussian_mixtures(
            n_test, fractions=(1.0, 0.0), n_features=2, random_state=args.seed + 1
        )
        return X, y_mix, y_true, X_test, y_test, *(
            "2-D Gaussian toy (signal N(+1,1), background N(-1,1))", ("signal", "background")
        )

    from .datasets import make_mixtures
    from .preprocessing import JetObservables

    jets, y_mix, y_true = make_mixtures(args.n_jets, fractions=(f1, f2), random_state=args.seed)
    test_jets, _, y_test = make_mixtures(n_test, fractions=(1.0, 0.0), random_state=args.seed + 1)
    obs = JetObservables(observables=DEMO_OBSERVABLES)
    X = obs.fit_transform(jets)
    X_test = obs.transform(test_jets)
    what = f"quark/gluon jets from the built-in shower, observables {', '.join(DEMO_OBSERVABLES)}"
    return X, y_mix, y_true, X_test, y_test, what, ("quark", "gluon")


def _demo(args):
    from sklearn.metrics import roc_auc_score

    from . import get_backend
    from ._validation import check_fractions
    from .cwola import CWoLaClassifier
    from .metrics import auc_standard_error, mixed_auc
    from .ratio import LikelihoodRatioEstimator

    f1, f2 = check_fractions(args.fractions)
    if args.n_jets < 50:
        raise ValueError(f"--n-jets must be at least 50; got {args.n_jets}.")
    start = time.perf_counter()
    backend = get_backend(args.backend)  # fail early on an unknown name or missing package
    X, y_mix, y_true, X_test, y_test, what, (signal, background) = _data(args)
    print(f"sklhep demo: classification without labels (CWoLa) on {what}")
    print(
        f"  training: {args.n_jets} + {args.n_jets} events in mixtures with {signal} fractions "
        f"{f1:g} and {f2:g}; backend {args.backend}"
    )
    cwola = CWoLaClassifier(
        backend=backend, cv=args.n_folds, random_state=args.seed
    ).fit(X, y_mix)
    supervised = LikelihoodRatioEstimator(backend=backend, random_state=args.seed).fit(X, y_true)
    score = cwola.decision_function(X_test)
    auc_cwola = roc_auc_score(y_test, score)
    auc_sup = roc_auc_score(y_test, supervised.decision_function(X_test))
    n1, n0 = int(y_test.sum()), int(len(y_test) - y_test.sum())
    err = auc_standard_error(auc_cwola, n1, n0)
    print(f"  test: {n1} pure {signal} and {n0} pure {background} events")
    print(f"  CWoLa AUC (mixture labels only): {auc_cwola:.4f} +- {err:.4f}")
    print(f"  supervised AUC (true labels):    {auc_sup:.4f}")
    print(f"  CWoLa / supervised:              {auc_cwola / auc_sup:.4f}")
    if args.n_folds:
        mixed = roc_auc_score(y_mix, cwola.oof_decision_function_)
        print(
            f"  mixed-sample AUC (out of fold):  {mixed:.4f}; from AUC_M1vsM2 - 1/2 = "
            f"(f1 - f2)(AUC_SvsB - 1/2): {mixed_auc(auc_cwola, (f1, f2)):.4f}"
        )
    print(f"  time: {time.perf_counter() - start:.1f} s")
    return 0


def main(argv=None):
    """Run the ``sklhep`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (``sys.argv[1:]`` when None).

    Examples
    --------
    >>> from sklhep.cli import main
    >>> main(["backends"])  # doctest: +ELLIPSIS
    bdt
    ...
    0
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "backends":
        from . import list_backends

        for name in list_backends():
            print(name)
        return 0
    try:
        return _demo(args)
    except (ValueError, ImportError) as exc:
        print(f"sklhep demo: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
