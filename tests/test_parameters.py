"""One parameter vocabulary, validated one way: every constructor parameter of the backends and
transformers has a ``_parameter_constraints`` entry, and a value of the wrong type or range gets
scikit-learn's informative error (scikit-learn's own ``check_param_validation``)."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_param_validation

from sklhep._validation import InvalidParameterError


def _estimators():
    from sklhep.backends.histogram import HistogramClassifier
    from sklhep.preprocessing import EFPTransformer, JetObservables, JetPreprocessor

    yield "histogram", lambda: HistogramClassifier(), ()
    yield "bdt", lambda: __import__("sklhep").get_backend("bdt"), ("xgboost",)
    yield "mlp", lambda: __import__("sklhep").get_backend("mlp"), ("torch", "skorch")
    yield "efn", lambda: __import__("sklhep").get_backend("efn"), ("torch", "skorch")
    yield "pfn", lambda: __import__("sklhep").get_backend("pfn"), ("torch", "skorch")
    yield "JetPreprocessor", JetPreprocessor, ()
    yield "JetObservables", JetObservables, ()
    yield "EFPTransformer", EFPTransformer, ("energyflow",)
    yield "DetectorSmearing", __import__("sklhep.datasets").datasets.DetectorSmearing, ()


CASES = list(_estimators())


@pytest.mark.parametrize("make, needs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_every_parameter_is_declared_and_checked(make, needs):
    for module in needs:
        pytest.importorskip(module)
    estimator = make()
    check_param_validation(type(estimator).__name__, estimator)


@pytest.mark.parametrize(
    "make, params",
    [
        ("bdt", {"max_depth": True}),
        ("bdt", {"patience": False}),
        ("histogram", {"smoothing": True}),
        ("pfn", {"pid_embedding_dim": True}),
        ("mlp", {"max_epochs": True}),
    ],
)
def test_booleans_are_not_numbers(make, params):
    import sklhep

    pytest.importorskip({"bdt": "xgboost", "histogram": "numpy"}.get(make, "skorch"))
    X = np.random.default_rng(0).normal(size=(20, 1))
    if make == "pfn":
        X = np.abs(np.random.default_rng(0).normal(size=(20, 4, 4)))
    y = np.arange(20) % 2
    with pytest.raises(InvalidParameterError, match=f"'{next(iter(params))}' .* Got (True|False)"):
        sklhep.get_backend(make, **params).fit(X, y)
