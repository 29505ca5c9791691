"""matplotlib figures for sklhep results: ROC curves, unfolded spectra, topics, filters, distances.

Each family of plots lives in its own private module and is re-exported here. matplotlib is
imported by these modules, so ``import sklhep`` never imports this subpackage.
"""

from ._emd import plot_correlation_dimension, plot_emd_flow
from ._jets import plot_quark_gluon
from ._roc import plot_ratio_calibration, plot_roc, plot_sic
from ._setnets import plot_efn_filters
from ._topics import plot_topic_ratio, plot_topic_roc, plot_topics
from ._unfolding import plot_unfolded, plot_unfolding_diagnostics

__all__ = [
    "plot_efn_filters",
    "plot_correlation_dimension",
    "plot_emd_flow",
    "plot_quark_gluon",
    "plot_ratio_calibration",
    "plot_roc",
    "plot_sic",
    "plot_topic_ratio",
    "plot_topic_roc",
    "plot_topics",
    "plot_unfolded",
    "plot_unfolding_diagnostics",
]
