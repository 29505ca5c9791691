"""sklhep: scikit-learn estimators for the machine-learning methods of collider physics.

``import sklhep`` is light: estimators, datasets and plotting are imported on first use, and torch,
skorch, xgboost, energyflow and pythia8mc only when a backend or generator needs them.
"""

from __future__ import annotations

import importlib

from ._registry import builtin_backend_classes as _builtin_backend_classes
from ._registry import get_backend, list_backends, refresh_backends, register_backend
from .backends._base import BackendCapabilities, backend_capabilities

__version__ = "0.1.0.dev0"

# Public names -> the module that defines them, imported lazily (PEP 562). The backend classes
# come from the registry's one list of built-in backends.
_LAZY = {
    **_builtin_backend_classes(),
    "LikelihoodRatioEstimator": "sklhep.ratio",
    "CWoLaClassifier": "sklhep.cwola",
    "TopicDemixer": "sklhep.topics",
    "EMDTransformer": "sklhep.emd",
    "OmniFoldUnfolder": "sklhep.unfolding",
    "IterativeBayesUnfolder": "sklhep.unfolding",
    "JetPreprocessor": "sklhep.preprocessing",
    "JetObservables": "sklhep.preprocessing",
    "EFPTransformer": "sklhep.preprocessing",
    "DetectorSmearing": "sklhep.datasets",
}
_SUBMODULES = (
    "backends", "datasets", "emd", "metrics", "plotting", "preprocessing", "topics", "unfolding",
)

__all__ = [
    "BackendCapabilities",
    "__version__",
    "backend_capabilities",
    "get_backend",
    "list_backends",
    "refresh_backends",
    "register_backend",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"sklhep.{name}")
    raise AttributeError(f"module 'sklhep' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
