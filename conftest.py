# Repository-root conftest: makes the checkout importable and seeds random generators per test.
import importlib.util

# Doctests of modules whose optional package is missing are not collected (their tests skip
# through pytest.importorskip); the Python 3.13 CI environment (.ci/numpy2) runs without torch.
_NEEDS = {
    "torch": [
        "sklhep/backends/_torch.py",
        "sklhep/backends/set_nets.py",
        "sklhep/backends/torch_nets.py",
    ],
}
collect_ignore = [
    path
    for module, paths in _NEEDS.items()
    if importlib.util.find_spec(module) is None
    for path in paths
]

# Doctests inside modules that import fine without the package but whose example needs it.
_DOCTEST_NEEDS = {"sklhep.emd.sinkhorn_emd": "torch"}


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        module = _DOCTEST_NEEDS.get(item.name)
        if module is not None and importlib.util.find_spec(module) is None:
            item.add_marker(pytest.mark.skip(reason=f"the example needs {module}"))
