"""Events to learn from: a built-in parton shower, Pythia jets, a detector model, toys with
analytic truth, and loaders for files a user already has."""

from .shower import make_jets, make_mixtures

__all__ = [
    "make_jets",
    "make_mixtures",
]
