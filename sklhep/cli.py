"""The ``sklhep`` command (also ``python -m sklhep``).

``sklhep demo`` runs the main job: weak supervision for the strong force, end to end. It generates
two mixtures of quark and gluon jets with hidden quark fractions, passes them through a detector
model, unfolds them, trains a CWoLa classifier on the mixture labels, extracts jet topics and the
quark fractions, measures the correlation dimensions of quark and gluon jets with the Energy
Mover's Distance, and writes ``report.html`` (and ``report.md``, ``summary.json`` and PNG figures)
with every number next to its truth. ``sklhep backends`` lists the backends.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


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
        help="quark/gluon jets end to end (unfolding, CWoLa, topics, EMD); writes a report",
        description="Weak supervision for the strong force: two quark/gluon mixtures with hidden "
        "fractions, through a detector, unfolded, classified without labels, demixed into jet "
        "topics, and their correlation dimensions measured; writes report.html into --output.",
    )
    demo.add_argument("--quick", action="store_true",
                      help="fewer jets and no EFN: about a minute on two cores")
    demo.add_argument("--n-jets", type=int, default=None,
                      help="jets per mixture (default: 20000, 4000 with --quick; Pythia: 6000, "
                      "1000 with --quick)")
    demo.add_argument("--generator", default="shower", choices=("shower", "pythia"),
                      help="built-in parton shower (default) or Pythia 8 dijets (needs "
                      "pythia8mc and fastjet)")
    demo.add_argument("--fractions", type=float, nargs=2, default=None, metavar=("F1", "F2"),
                      help="hidden quark fractions of the two shower mixtures (default: 0.8 0.3)")
    demo.add_argument("--backend", default="bdt",
                      help="backend of the classifiers, see 'sklhep backends' (default: bdt)")
    demo.add_argument("--output", default="sklhep-demo",
                      help="folder for report.html and its figures (default: ./sklhep-demo)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--n-emd", type=int, default=None,
                      help="jets per mixture in the pairwise EMDs (default: 400, 150 with --quick)")
    demo.add_argument("--n-jobs", type=int, default=2,
                      help="parallel jobs for the EMDs and Pythia (default: 2)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")

    sub.add_parser("backends", help="list the available backends")
    return parser


def _demo(args):
    from ._demo import DemoConfig, DemoError, run_demo

    cfg = DemoConfig(quick=args.quick, n_jets=args.n_jets, generator=args.generator,
                     backend=args.backend, output=args.output, seed=args.seed,
                     fractions=None if args.fractions is None else tuple(args.fractions),
                     n_emd=args.n_emd, n_jobs=args.n_jobs, verbose=not args.no_progress)
    try:
        path, _ = run_demo(cfg)
    except DemoError as exc:
        print(f"sklhep demo: error: {exc}", file=sys.stderr)
        print(f"sklhep demo: no report was written; {args.output} is unchanged.",
              file=sys.stderr)
        return 1
    print(f"sklhep demo: report written to {path}")
    return 0


def main(argv=None):
    """Run the ``sklhep`` command line; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    status : int
        0 on success, 1 when a demo step failed, 2 for bad arguments.

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
