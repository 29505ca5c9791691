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
