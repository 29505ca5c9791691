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
_DOCTEST_NEEDS = {
    "sklhep.emd.sinkhorn_emd": ("torch",),
    "sklhep.io.from_awkward": ("awkward",),
    "sklhep.io.to_awkward": ("awkward",),
    "sklhep.io.read_jets": ("awkward", "uproot"),
    "sklhep.io.iter_jets": ("h5py",),
    "sklhep.io.write_jets": ("awkward", "pyarrow"),
    "sklhep.io.cluster_jets": ("fastjet",),
}


def pytest_collection_modifyitems(config, items):
    import pytest

    for item in items:
        needs = _DOCTEST_NEEDS.get(item.name, ())
        missing = [m for m in needs if importlib.util.find_spec(m) is None]
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"the example needs {', '.join(missing)}"))
