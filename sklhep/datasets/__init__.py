"""Events to learn from: a built-in parton shower, Pythia jets, a detector model, toys with
analytic truth, and loaders for files a user already has."""

from .detector import DetectorSmearing
from .pythia import generate_pythia_jets, load_energyflow_qg
from .shower import make_jets, make_mixtures
from .toys import (
    gaussian_kl_divergence,
    make_exponential_mixtures,
    make_gaussian_mixtures,
    make_gaussian_pair,
    make_gaussian_unfolding,
    make_topic_mixtures,
)

__all__ = [
    "DetectorSmearing",
    "generate_pythia_jets",
    "load_energyflow_qg",
    "gaussian_kl_divergence",
    "make_exponential_mixtures",
    "make_gaussian_mixtures",
    "make_gaussian_pair",
    "make_gaussian_unfolding",
    "make_jets",
    "make_mixtures",
    "make_topic_mixtures",
]
