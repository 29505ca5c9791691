"""Sphinx configuration for the sklhep documentation.

Build with ``sphinx-build -b html docs docs/_build/html`` from the repository root.
"""

import importlib.util
import os
import sys

# Document the checkout itself, whether or not sklhep is installed.
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "_ext")))

import sklhep  # noqa: E402

project = "sklhep"
author = "sklhep developers"
copyright = "sklhep developers"
release = sklhep.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "matplotlib.sphinxext.plot_directive",
    "numpydoc",
    "sklhep_api",
]
# `.. plot::` runs its code at build time (Agg) and embeds the figure.
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
autosummary_generate = True
autodoc_default_options = {"members": False}
# Optional heavy dependencies are imported lazily by sklhep; mock them if a docs build machine
# lacks them, so autodoc still imports every module.
autodoc_mock_imports = [
    m
    for m in ("torch", "skorch", "xgboost", "energyflow", "wasserstein", "ot", "pythia8mc",
              "fastjet", "dask", "distributed")
    if importlib.util.find_spec(m) is None
]
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

html_theme = "alabaster"
html_title = f"sklhep {release}"
exclude_patterns = ["_build", "_ext"]
