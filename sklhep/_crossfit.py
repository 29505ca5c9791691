"""Cross-fitting: one model per fold, each scoring the events it never saw.

Every sklhep estimator that needs out-of-fold outputs (likelihood ratios with calibration, CWoLa,
jet topics, OmniFold) calls :func:`cross_fit`; nothing else writes a fold loop. It follows
scikit-learn's :func:`~sklearn.model_selection.cross_val_predict`: the folds come from
:func:`~sklearn.model_selection.check_cv`, a module-level worker is handed to
:class:`sklearn.utils.parallel.Parallel` (so loky, threading and Dask workers all run it), and each
fold's seed is drawn from ``random_state`` before any work starts, so the fold models and their
outputs do not depend on ``n_jobs`` or on the joblib backend.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedKFold, check_cv
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.parallel import Parallel, delayed

__all__ = ["CrossFit", "check_folds", "cross_fit", "fold_seeds"]

_SEED_MAX = np.iinfo(np.int32).max


@dataclass
class CrossFit:
    """What :func:`cross_fit` returns.

    Attributes
    ----------
    models : list
        The fitted model of each fold, in fold order.
    oof : ndarray of shape (n_samples, ...)
        Each event's output from the model of the fold that held it out. Events that no fold
        holds out (a splitter that does not cover every event) are NaN.
    folds : list of (ndarray, ndarray)
        The (train, test) indices of each fold.
    seeds : list of int or None
        The seed each fold's model was given.
    """

    models: list
    oof: np.ndarray
    folds: list
    seeds: list


def check_folds(cv, y, *, groups=None, random_state=None, n_samples=None):
    """The list of (train, test) index pairs that ``cv`` describes.

    Parameters
    ----------
    cv : int, cross-validation splitter or iterable of (train, test) pairs
        An int ``k`` gives a shuffled :class:`~sklearn.model_selection.StratifiedKFold` whose
        shuffle is seeded from ``random_state``; a splitter (e.g.
        :class:`~sklearn.model_selection.GroupKFold`, to keep the two jets of one event together)
        is used as it is, with ``groups``; an iterable of index pairs is taken literally.
    y : array-like of shape (n_samples,)
        Class labels, for stratification.
    groups : array-like of shape (n_samples,), default=None
        Group labels handed to the splitter's ``split``.
    random_state : int, RandomState instance or None, default=None
    n_samples : int, default=None
        The number of events (``len(y)`` when None).

    Returns
    -------
    folds : list of (ndarray, ndarray)

    Raises
    ------
    ValueError
        For fewer than two folds, a class with fewer events than folds, an index out of range, a
        fold with an empty training or test set, or an event held out by two folds.
    """
    y = np.asarray(y)
    n = len(y) if n_samples is None else int(n_samples)
    if isinstance(cv, bool) or cv is None:
        raise ValueError(
            f"cv must be an int >= 2, a splitter or a list of (train, test); got {cv!r}."
        )
    if isinstance(cv, numbers.Integral):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds; got cv={cv}.")
        _, counts = np.unique(y, return_counts=True)
        if counts.min() < cv:
            raise ValueError(
                f"cv={int(cv)} folds need at least {int(cv)} events of each class; the smallest "
                f"class has {int(counts.min())}."
            )
        seed = check_random_state(random_state).randint(_SEED_MAX)
        splitter = StratifiedKFold(int(cv), shuffle=True, random_state=seed)
    else:
        splitter = check_cv(cv, y, classifier=True)
    try:
        folds = [
            (np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp))
            for train, test in splitter.split(np.zeros((n, 1)), y, groups)
        ]
    except ValueError as exc:
        raise ValueError(f"The cross-validation split failed: {exc}") from exc
    if len(folds) < 1:
        raise ValueError("cv gave no folds.")
    seen = np.zeros(n, dtype=int)
    for i, (train, test) in enumerate(folds):
        if train.size == 0 or test.size == 0:
            raise ValueError(f"Fold {i} of cv has an empty training or test set.")
        for idx in (train, test):
            if idx.min() < 0 or idx.max() >= n:
                raise ValueError(f"Fold {i} of cv has indices outside [0, {n}).")
        seen[test] += 1
    if np.any(seen > 1):
        raise ValueError(
            f"cv holds out {int(np.sum(seen > 1))} event(s) in more than one fold; out-of-fold "
            "outputs need each event held out at most once (use a K-fold-type splitter)."
        )
    return folds


def fold_seeds(random_state, n_folds):
    """One seed per fold from ``random_state`` (None stays None: the models keep their own)."""
    if random_state is None:
        return [None] * n_folds
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(_SEED_MAX, size=n_folds)]


def _fit_fold(index, fit, predict, X, y, sample_weight, train, test, seed):
    """Fit one fold and score its held-out events (module level, so any joblib worker runs it)."""
    w = None if sample_weight is None else sample_weight[train]
    model = fit(_safe_indexing(X, train), y[train], w, seed)
    return index, model, np.asarray(predict(model, _safe_indexing(X, test)))


def _decision_function(model, X):
    return model.decision_function(X)


def cross_fit(
    fit,
    X,
    y,
    sample_weight=None,
    *,
    folds,
    predict=None,
    seeds=None,
    n_jobs=None,
    verbose=0,
    desc="folds",
):
    """Fit one model per fold and collect each event's output from the model that held it out.

    Parameters
    ----------
    fit : callable
        ``fit(X_train, y_train, w_train, seed) -> model``. It must be picklable (a module-level
        function, a :func:`functools.partial` of one, or a picklable object) for process and Dask
        workers.
    X : array-like, DataFrame or list
        The events (indexed with :func:`sklearn.utils._safe_indexing`).
    y : ndarray of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,) or None
    folds : list of (train, test)
        From :func:`check_folds`.
    predict : callable, default=None
        ``predict(model, X_test) -> array``; ``model.decision_function`` when None. Picklable.
    seeds : list of int or None, default=None
        A seed per fold (:func:`fold_seeds`); None gives every fold ``None``.
    n_jobs : int or None, default=None
        Parallel workers over the folds (:class:`sklearn.utils.parallel.Parallel`, so
        ``joblib.parallel_backend("dask")`` spreads them over a cluster).
    verbose : int, default=0
        Show a progress bar that advances as folds complete.
    desc : str, default="folds"
        The progress bar's label.

    Returns
    -------
    result : CrossFit

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklhep._crossfit import check_folds, cross_fit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 2)); y = (X[:, 0] > 0).astype(int)
    >>> def fit(X, y, w, seed):
    ...     return LogisticRegression().fit(X, y, sample_weight=w)
    >>> res = cross_fit(fit, X, y, folds=check_folds(5, y, random_state=0))
    >>> len(res.models), res.oof.shape
    (5, (100,))
    """
    y = np.asarray(y)
    predict = _decision_function if predict is None else predict
    seeds = [None] * len(folds) if seeds is None else list(seeds)
    if len(seeds) != len(folds):
        raise ValueError(f"{len(seeds)} seeds for {len(folds)} folds.")
    tasks = (
        delayed(_fit_fold)(i, fit, predict, X, y, sample_weight, train, test, seed)
        for i, ((train, test), seed) in enumerate(zip(folds, seeds))
    )
    # results arrive as folds finish, so the bar counts completed work; they are put back in fold
    # order below, so nothing depends on which worker finished first
    results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(folds), desc=desc, unit="fold")
    results = sorted(results, key=lambda r: r[0])
    models = [model for _, model, _ in results]
    first = results[0][2]
    oof = np.full((len(y), *first.shape[1:]), np.nan, dtype=float)
    for (_, test), (_, _, out) in zip(folds, results):
        oof[test] = out
    return CrossFit(models=models, oof=oof, folds=folds, seeds=seeds)
