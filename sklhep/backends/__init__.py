"""Backends: the learning machines that sklhep's estimators drive.

Each module holds one family and is imported only when one of its backends is asked for through
:func:`sklhep.get_backend` (or by name from this package). See :mod:`sklhep.backends._base` for the
contract every backend follows.
"""

import importlib

from .._registry import builtin_backend_classes as _builtin_backend_classes
from ._base import LOSSES, BackendCapabilities, backend_capabilities, check_loss, loss_per_event

# Backend classes -> the module that defines them, imported on first access (PEP 562); derived
# from the registry's one list of built-in backends (sklhep._registry.BUILTIN_BACKENDS).
_LAZY = _builtin_backend_classes()

__all__ = [
    "LOSSES",
    "BackendCapabilities",
    "backend_capabilities",
    "check_loss",
    "loss_per_event",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sklhep.backends' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
