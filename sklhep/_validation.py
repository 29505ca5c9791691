"""Input checks shared across sklhep: jets, binary labels, weights, fractions, optional imports.

Every check raises an error a person can act on: what was wrong, the value received, how to fix it.

Parameters of estimators and functions are declared, scikit-learn's way, as
``_parameter_constraints`` (estimators, checked by ``self._validate_params()`` in ``fit``) or with
:func:`validate_params` (functions), from the constraint types re-exported here. :class:`Interval`
is scikit-learn's, except that it refuses booleans: ``True`` is not the integer 1 here.
"""

from __future__ import annotations

import importlib
import numbers

import numpy as np
from sklearn.utils._param_validation import Interval as _SklearnInterval
from sklearn.utils._param_validation import (
    InvalidParameterError,
    Options,
    StrOptions,
    validate_params,
)

__all__ = [
    "Interval",
    "InvalidParameterError",
    "Options",
    "StrOptions",
    "check_binary_labels",
    "check_fractions",
    "check_two_classes",
    "check_int",
    "check_jets",
    "check_n_particle_features",
    "check_sample_weight",
    "import_optional",
    "jets_to_list",
    "validate_params",
]


class Interval(_SklearnInterval):
    """scikit-learn's ``Interval`` parameter constraint, refusing booleans.

    scikit-learn counts ``True`` as the integer 1 and the real 1.0; a boolean where a number is
    expected is a mistake (``batch_size=True``), so sklhep refuses it.

    Examples
    --------
    >>> from numbers import Integral
    >>> from sklhep._validation import Interval
    >>> Interval(Integral, 1, None, closed="left").is_satisfied_by(True)
    False
    """

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


def check_fractions(fractions, *, distinct=True, what="fractions", meaning="signal fractions"):
    """Validate a pair of fractions ``(f1, f2)`` of two mixtures and return them as floats.

    The one check of the signal (or quark) fractions of two mixtures, used by the CWoLa estimator,
    the mixed-AUC metrics and the mixture generators.

    Parameters
    ----------
    fractions : pair of float
        ``(f1, f2)``, each in [0, 1].
    distinct : bool, default=True
        Refuse ``f1 == f2``: two mixtures of the same composition cannot be told apart (a
        generator may allow it, for a null test).
    what : str, default="fractions"
        The parameter name used in error messages.
    meaning : str, default="signal fractions"
        What the two numbers are, used in error messages.

    Returns
    -------
    f1, f2 : float

    Raises
    ------
    ValueError
        If ``fractions`` is not a pair of numbers, a fraction lies outside [0, 1] or is not finite,
        or (with ``distinct``) ``f1 == f2``.

    Examples
    --------
    >>> from sklhep._validation import check_fractions
    >>> check_fractions([0.8, 0.2])
    (0.8, 0.2)
    """
    try:
        if isinstance(fractions, (str, bytes)):
            raise TypeError
        f1, f2 = fractions
        if any(isinstance(f, (bool, np.bool_, str, bytes)) for f in (f1, f2)):
            raise TypeError
        f1, f2 = float(f1), float(f2)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be a pair (f1, f2) of the {meaning} of the two mixtures; got "
            f"{fractions!r}."
        ) from None
    for name, f in (("f1", f1), ("f2", f2)):
        if not (0.0 <= f <= 1.0):
            raise ValueError(
                f"The {meaning[:-1] if meaning.endswith('s') else meaning} {name} must lie in "
                f"[0, 1]; got {f!r}."
            )
    if distinct and f1 == f2:
        raise ValueError(
            f"The {meaning} must differ (f1 = f2 = {f1!r}): two mixtures with the same "
            "composition cannot be told apart, so the signal cannot be learned from them."
        )
    return f1, f2

_EXTRA_OF = {
    "xgboost": "xgboost",
    "torch": "torch",
    "skorch": "torch",
    "energyflow": "emd",
    "wasserstein": "emd",
    "ot": "emd",
    "pythia8mc": "gen",
    "fastjet": "gen",
    "dask": "dask",
    "distributed": "dask",
    "hist": "io",
    "uproot": "io",
    "awkward": "io",
    "h5py": "io",
    "pyarrow": "io",
    "pyhepmc": "io",
}


def import_optional(module, *, purpose):
    """Import an optional dependency or raise an ImportError naming the extra that installs it.

    Parameters
    ----------
    module : str
        The module to import, e.g. ``"xgboost"``.
    purpose : str
        What needs it, e.g. ``"the 'bdt' backend"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRA_OF.get(top)
        hint = f'pip install "sklhep[{extra}]"' if extra else f"pip install {top}"
        raise ImportError(
            f"{purpose} needs {top}, which is not installed: {hint}.", name=top
        ) from exc


def _label_array(y, what, meaning):
    """``y`` as a 1-D, non-empty array without NaN or inf, or a clear error."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{what} must be one-dimensional; got shape {y.shape}.")
    if y.size == 0:
        raise ValueError(f"{what} is empty; at least one sample of each of {meaning} is needed.")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError(f"{what} contains NaN or inf.")
    return y


def check_binary_labels(y, *, what="y", meaning="the two classes"):
    """Check that ``y`` holds exactly the two values 0 and 1 and return it as an int array.

    Parameters
    ----------
    y : array-like of shape (n,)
    what : str
        The name used in error messages.
    meaning : str
        What the two labels stand for, used in error messages.
    """
    y = _label_array(y, what, meaning)
    values = np.unique(y)
    if not np.all(np.isin(values, [0, 1])):
        raise ValueError(
            f"{what} must label {meaning} with 0 and 1; got the values {values.tolist()}."
        )
    if values.size < 2:
        raise ValueError(
            f"{what} must contain both labels 0 and 1 for {meaning}; got only "
            f"{values.tolist()}."
        )
    return y.astype(int)


def check_two_classes(y, *, what="y", meaning="the two classes"):
    """Encode a binary target the scikit-learn way: any two labels, sorted.

    ``classes[1]`` (the larger label: 1 of {0, 1}, ``True``, 2 of {1, 2}, ``"signal"`` of
    ``{"background", "signal"}``) is the class sklhep treats as the numerator ``p`` of a ratio.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
    what : str
        The name used in error messages.
    meaning : str
        What the two labels stand for, used in error messages.

    Returns
    -------
    classes : ndarray of shape (2,)
        The two labels, sorted.
    y_index : ndarray of shape (n_samples,)
        0 for ``classes[0]``, 1 for ``classes[1]``.

    Raises
    ------
    ValueError
        For None, an empty or multi-dimensional ``y``, NaN or inf, a continuous target, one label
        only or more than two labels.
    """
    from sklearn.utils.validation import column_or_1d

    if y is None:
        raise ValueError(
            f"requires y to be passed, but the target {what} is None: {what} must label {meaning}."
        )
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    y = _label_array(y, what, meaning)
    if y.dtype.kind == "O":
        y = y.astype(str) if all(isinstance(v, str) for v in y) else y
    if y.dtype.kind == "f" and np.any(y != np.floor(y)):
        raise ValueError(
            f"{what} must label {meaning} with two class labels; got a continuous target "
            f"(e.g. {y[0]!r})."
        )
    classes, y_index = np.unique(y, return_inverse=True)
    if classes.size == 1:
        raise ValueError(
            f"{what} holds one class only ({classes.tolist()}); two labels are needed, for "
            f"{meaning}."
        )
    if classes.size > 2:
        raise ValueError(
            f"Only binary classification is supported: {what} must label {meaning} with two "
            f"labels; got {classes.size} values {classes.tolist()[:10]}."
        )
    return classes, y_index.reshape(-1)


def check_int(value, name, low, *, allow_none=False):
    """Check that a parameter is an integer (numpy integers included, bools not) >= ``low``.

    Returns
    -------
    value : int or None
        ``int(value)``, or None when ``allow_none`` and it is None.
    """
    if allow_none and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(
            f"{name} must be {'None or ' if allow_none else ''}an integer >= {low}; got {value!r}."
        )
    return int(value)


def check_sample_weight(sample_weight, n_samples, *, allow_negative=False, what="sample_weight"):
    """Validate per-sample weights and return them as a float array (ones when None).

    Negative weights are refused unless ``allow_negative`` (e.g. NLO simulation in unfolding).
    """
    if sample_weight is None:
        return np.ones(n_samples, dtype=float)
    w = np.asarray(sample_weight, dtype=float)
    if w.ndim == 0:
        w = np.full(n_samples, float(w))
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"{what} must have one entry per sample ({n_samples}); got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{what} contains NaN or inf.")
    if not allow_negative and np.any(w < 0):
        raise ValueError(
            f"{what} must be non-negative here; got {int(np.sum(w < 0))} negative weight(s) "
            f"(smallest {w.min():g})."
        )
    if not np.any(w != 0):
        raise ValueError(f"{what} is all zero; nothing would be learned.")
    return w


def check_jets(jets, *, min_features=3, allow_empty_jets=True, dtype=float, what="jets"):
    """Validate jets and return them as one zero-padded 3-D array.

    Parameters
    ----------
    jets : array of shape (n_jets, n_particles, n_features) or list of 2-D arrays
        Particles as rows (pt, y, phi[, pid, ...]), zero-padded (rows with pt == 0 are padding).
    min_features : int, default=3
        The fewest features per particle accepted.
    allow_empty_jets : bool, default=True
        Whether a jet with no particles is allowed.
    dtype : dtype, default=float
    what : str
        The name used in error messages.

    Returns
    -------
    jets : ndarray of shape (n_jets, max_particles, n_features)

    Raises
    ------
    ValueError
        For a wrong number of dimensions, too few features, inconsistent feature counts between
        jets, NaN or inf, negative pt, or an empty collection.
    """
    if isinstance(jets, np.ndarray) and jets.dtype != object:
        arr = np.asarray(jets, dtype=dtype)
        if arr.ndim != 3:
            raise ValueError(
                f"{what} must be a 3-D array (n_jets, n_particles, n_features) or a list of 2-D "
                f"per-jet arrays; got an array of shape {arr.shape}."
            )
    else:
        try:
            items = [np.asarray(j, dtype=dtype) for j in jets]
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{what} must be a 3-D array or a list of 2-D (n_particles, n_features) arrays: "
                f"{exc}"
            ) from exc
        for i, j in enumerate(items):
            if j.ndim == 1 and j.size == 0:
                items[i] = j = j.reshape(0, min_features)
            if j.ndim != 2:
                raise ValueError(
                    f"Each jet in {what} must be a 2-D (n_particles, n_features) array; jet {i} "
                    f"has shape {j.shape}."
                )
        counts = {j.shape[1] for j in items if j.shape[0] > 0}
        if len(counts) > 1:
            raise ValueError(
                f"All jets in {what} must have the same number of features; got {sorted(counts)}."
            )
        n_feat = counts.pop() if counts else min_features
        n_max = max((j.shape[0] for j in items), default=0)
        arr = np.zeros((len(items), n_max, n_feat), dtype=dtype)
        for i, j in enumerate(items):
            if j.shape[0]:
                arr[i, : j.shape[0]] = j
    if arr.shape[0] == 0:
        raise ValueError(f"{what} is empty: at least one jet is needed.")
    if arr.shape[2] < min_features:
        raise ValueError(
            f"{what} must have at least {min_features} features per particle (pt, y, phi, ...); "
            f"got {arr.shape[2]}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN or inf.")
    if np.any(arr[..., 0] < 0):
        raise ValueError(f"{what} has particles with negative pt (feature 0); pt must be >= 0.")
    if not allow_empty_jets:
        empty = ~np.any(arr[..., 0] > 0, axis=1)
        if np.any(empty):
            raise ValueError(
                f"{what} contains {int(empty.sum())} empty jet(s) (no particle with pt > 0), e.g. "
                f"jet {int(np.flatnonzero(empty)[0])}."
            )
    return arr


def check_n_particle_features(jets, estimator):
    """Refuse jets whose features per particle differ from ``estimator.n_particle_features_``.

    Parameters
    ----------
    jets : ndarray of shape (n_jets, n_particles, n_features)
        Jets already checked by :func:`check_jets`.
    estimator : fitted estimator with an ``n_particle_features_`` attribute

    Returns
    -------
    jets : ndarray
        The input, unchanged.
    """
    expected = estimator.n_particle_features_
    if jets.shape[2] != expected:
        raise ValueError(
            f"X has {jets.shape[2]} features per particle, but {type(estimator).__name__} was "
            f"fitted with {expected}."
        )
    return jets


def jets_to_list(jets):
    """Strip zero padding: a list of (n_particles_i, n_features) arrays, one per jet."""
    arr = check_jets(jets, min_features=1)
    return [j[j[:, 0] > 0] for j in arr]
