"""One source of truth: the version and the built-in backend list."""

import importlib.metadata
import sys
from pathlib import Path

import pytest

import sklhep
from sklhep import _registry

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_version_is_written_once():
    project = _pyproject()["project"]
    assert "version" not in project and "version" in project["dynamic"]
    attr = _pyproject()["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "sklhep.__version__"
    try:
        installed = importlib.metadata.version("sklhep")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return
    assert installed == sklhep.__version__


def test_lazy_tables_derive_from_builtin_backends():
    from sklhep import backends

    expected = {}
    for target in _registry.BUILTIN_BACKENDS.values():
        module, _, cls = target.partition(":")
        expected[cls] = module
    assert backends._LAZY == expected
    for cls, module in expected.items():
        assert sklhep._LAZY[cls] == module
        assert cls in sklhep.__all__ and cls in backends.__all__


def test_builtin_backend_classes_resolve_to_the_registry_classes():
    for name, target in _registry.BUILTIN_BACKENDS.items():
        module, _, cls = target.partition(":")
        pytest.importorskip(
            {"trees": "xgboost", "torch_nets": "skorch", "set_nets": "skorch"}.get(
                module.rsplit(".", 1)[1], "sklhep"
            )
        )
        assert getattr(sklhep, cls) is type(sklhep.get_backend(name))
