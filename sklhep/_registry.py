"""Backend discovery: built-in backends and the ``sklhep.backends`` entry-point group.

A *backend* is a scikit-learn classifier that an sklhep estimator drives (see
:mod:`sklhep.backends` for the contract). Backends are named; the names map to import strings
(``"module:Class"``) that are imported only when the name is asked for, so ``import sklhep`` stays
light.

Third-party packages add backends in their own ``pyproject.toml``::

    [project.entry-points."sklhep.backends"]
    mybdt = "mypkg.backends:MyBDT"
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.metadata
import warnings

from sklearn.base import BaseEstimator, clone

from ._validation import _EXTRA_OF

__all__ = [
    "BUILTIN_BACKENDS",
    "ENTRY_POINT_GROUP",
    "builtin_backend_classes",
    "get_backend",
    "list_backends",
    "refresh_backends",
    "register_backend",
    "resolve_backend",
]

ENTRY_POINT_GROUP = "sklhep.backends"

#: Built-in backends: name -> import string. Imported only when asked for. The one list of them:
#: the lazy-import tables of sklhep and sklhep.backends derive from it.
BUILTIN_BACKENDS = {
    "bdt": "sklhep.backends.trees:BDTClassifier",
    "histogram": "sklhep.backends.histogram:HistogramClassifier",
    "mlp": "sklhep.backends.torch_nets:MLPClassifier",
    "efn": "sklhep.backends.set_nets:EFNClassifier",
    "pfn": "sklhep.backends.set_nets:PFNClassifier",
}


def builtin_backend_classes():
    """Class name -> defining module of every built-in backend, derived from BUILTIN_BACKENDS.

    The lazy-import tables of :mod:`sklhep` and :mod:`sklhep.backends` are built from it, so a
    new built-in backend is listed in one place only.

    Examples
    --------
    >>> from sklhep._registry import builtin_backend_classes
    >>> builtin_backend_classes()["BDTClassifier"]
    'sklhep.backends.trees'
    """
    table = {}
    for target in BUILTIN_BACKENDS.values():
        module, _, attr = target.partition(":")
        table[attr] = module
    return table

# Backends registered at run time with register_backend: name -> factory (callable or import
# string).
_RUNTIME_BACKENDS: dict = {}


@functools.lru_cache(maxsize=None)
def _entry_point_backends():
    """Scan the ``sklhep.backends`` entry-point group once (cached).

    Returns a dict name -> entry point. Two distributions claiming one name give a warning listing
    both; the one whose distribution name sorts first wins, so the choice is deterministic.
    """
    claims: dict = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None) or "<unknown distribution>"
        claims.setdefault(ep.name, []).append((dist, ep))
    found = {}
    for name, eps in claims.items():
        eps = sorted(eps, key=lambda de: (de[0], de[1].value))
        distinct = {ep.value for _, ep in eps}
        if len(distinct) > 1:
            listing = ", ".join(f"{dist} ({ep.value})" for dist, ep in eps)
            warnings.warn(
                f"sklhep backend {name!r} is claimed by several packages: {listing}; "
                f"using the one from {eps[0][0]!r}.",
                RuntimeWarning,
                stacklevel=3,
            )
        found[name] = eps[0][1]
    return found


def refresh_backends():
    """Forget cached plugin discovery, so newly installed plugins are found.

    Examples
    --------
    >>> import sklhep
    >>> sklhep.refresh_backends()
    """
    _entry_point_backends.cache_clear()
    _load_factory.cache_clear()


def list_backends():
    """Sorted names of every backend: built-in, registered at run time, and from plugins.

    Returns
    -------
    names : list of str

    Examples
    --------
    >>> import sklhep
    >>> "bdt" in sklhep.list_backends()
    True
    """
    names = set(BUILTIN_BACKENDS) | set(_RUNTIME_BACKENDS) | set(_entry_point_backends())
    return sorted(names)


def register_backend(name, factory, *, overwrite=False):
    """Register a backend under ``name`` for this Python session.

    Parameters
    ----------
    name : str
        The name estimators will accept as ``backend=name``.
    factory : callable or str
        A class (or any callable returning an unfitted estimator when called with keyword
        parameters), or an import string ``"module:attribute"`` loaded on first use.
    overwrite : bool, default=False
        Replace an existing backend of the same name. Without it, reusing a name is an error.

    Examples
    --------
    >>> import sklhep
    >>> from sklearn.linear_model import LogisticRegression
    >>> sklhep.register_backend("logistic", LogisticRegression, overwrite=True)
    >>> sklhep.get_backend("logistic", C=0.5)
    LogisticRegression(C=0.5)
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A backend name must be a non-empty string; got {name!r}.")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise TypeError(
            "factory must be a callable returning an estimator or an import string "
            f"'module:attribute'; got {factory!r}."
        )
    if name in list_backends() and not overwrite:
        raise ValueError(
            f"A backend named {name!r} already exists; pass overwrite=True to replace it."
        )
    _RUNTIME_BACKENDS[name] = factory
    _load_factory.cache_clear()


@functools.lru_cache(maxsize=None)
def _load_factory(name):
    if name in _RUNTIME_BACKENDS:
        target = _RUNTIME_BACKENDS[name]
        source = "registered at run time"
    elif name in _entry_point_backends():
        ep = _entry_point_backends()[name]
        try:
            return ep.load()
        except Exception as exc:  # a broken plugin must not crash sklhep
            dist = getattr(getattr(ep, "dist", None), "name", "<unknown distribution>")
            warnings.warn(
                f"sklhep backend plugin {name!r} ({ep.value}) from {dist!r} failed to load: "
                f"{type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=4,
            )
            raise _BrokenPlugin(name) from exc
    elif name in BUILTIN_BACKENDS:
        target = BUILTIN_BACKENDS[name]
        source = "built-in"
    else:
        raise KeyError(name)
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise ImportError(
            f"The {source} sklhep backend {name!r} needs the package {missing!r}, which is not "
            f"installed: {_install_hint(missing)}"
        ) from exc
    return getattr(module, attr)


class _BrokenPlugin(LookupError):
    pass


def _install_hint(package):
    top = str(package).split(".")[0]
    extra = _EXTRA_OF.get(top)
    return f'pip install "sklhep[{extra}]"' if extra else f"pip install {top}"


def _unknown(name):
    names = list_backends()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(
        f"Unknown sklhep backend {name!r}.{hint} Available backends: {', '.join(names)}. "
        "Any scikit-learn classifier instance works as a backend too."
    )


def get_backend(name_or_estimator, **params):
    """A fresh, unfitted backend estimator.

    Parameters
    ----------
    name_or_estimator : str or estimator
        A backend name (see :func:`list_backends`) or a scikit-learn classifier instance, which is
        cloned.
    **params
        Parameters set on the new estimator (``set_params``).

    Returns
    -------
    estimator : scikit-learn classifier, unfitted

    Raises
    ------
    ValueError
        For an unknown name; the message lists the available backends and the closest name.

    Examples
    --------
    >>> import sklhep
    >>> sklhep.get_backend("histogram", bins=20)
    HistogramClassifier(bins=20)
    """
    if isinstance(name_or_estimator, str):
        try:
            factory = _load_factory(name_or_estimator)
        except KeyError:
            raise _unknown(name_or_estimator) from None
        except _BrokenPlugin:
            raise ValueError(
                f"The sklhep backend plugin {name_or_estimator!r} is installed but failed to "
                "load (see the warning above for the cause)."
            ) from None
        estimator = factory()
        if params:
            # set_params names the parameter and lists the valid ones when one is unknown
            estimator.set_params(**params)
        return estimator
    if isinstance(name_or_estimator, BaseEstimator) or hasattr(name_or_estimator, "fit"):
        estimator = clone(name_or_estimator)
        if params:
            estimator.set_params(**params)
        return estimator
    raise TypeError(
        "backend must be a backend name (one of "
        f"{', '.join(list_backends())}) or a scikit-learn estimator; got "
        f"{type(name_or_estimator).__name__}: {name_or_estimator!r}."
    )


def resolve_backend(backend, *, require_classifier=True):
    """Turn an estimator's ``backend`` parameter into a fresh, unfitted estimator.

    Used by sklhep's meta-estimators inside ``fit``; ``backend`` may be a name or an instance.
    """
    estimator = get_backend(backend)
    if require_classifier and not hasattr(estimator, "predict_proba"):
        raise TypeError(
            f"The backend {type(estimator).__name__} is not a classifier with predict_proba; "
            "sklhep estimators need a probabilistic binary classifier."
        )
    return estimator
