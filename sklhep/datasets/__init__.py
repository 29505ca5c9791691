"""Events to learn from: a built-in parton shower, Pythia jets, a detector model, toys with
analytic truth, and loaders for files a user already has."""

from .detector import DetectorSmearing
from .pythia import generate_pythia_jets, load_energyflow_qg
from .shower import make_jets, make_mixtures

__all__ = [
    "DetectorSmearing",
    "generate_pythia_jets",
    "load_energyflow_qg",
    "make_jets",
    "make_mixtures",
]
