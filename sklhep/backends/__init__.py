"""Backends: the learning machines that sklhep's estimators drive.

Each module holds one family and is imported only when one of its backends is asked for through
:func:`sklhep.get_backend`. See :mod:`sklhep.backends._base` for the contract every backend follows.
"""

from ._base import LOSSES, BackendCapabilities, backend_capabilities, check_loss, loss_per_event

__all__ = ["LOSSES", "BackendCapabilities", "backend_capabilities", "check_loss", "loss_per_event"]
