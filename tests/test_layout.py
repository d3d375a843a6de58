"""The package's shape: the flat API, the rooms, and the size limits the style guide sets."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

import geo_sppa

PACKAGE = Path(geo_sppa.__file__).parent
SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if "assets" not in p.parts)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_CLI_MODULE_LINES = 200


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("name", geo_sppa.__all__)
def test_every_public_name_imports(name):
    value = getattr(geo_sppa, name)
    assert value is not None
    if name != "__version__":
        assert inspect.getdoc(value), f"geo_sppa.{name} has no docstring"


def test_crime_costs_is_the_function_even_after_the_module_is_imported():
    importlib.import_module("geo_sppa.assessment.crime_costs")
    assert callable(geo_sppa.crime_costs)
    assert not inspect.ismodule(geo_sppa.crime_costs)
    assert geo_sppa.crime_costs.__name__ == "crime_costs"


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        geo_sppa.nonsense  # noqa: B018


def test_the_rooms_exist_with_a_docstring_each():
    for room in ("io", "bundled", "roads", "roads.network", "wards", "assessment", "render", "cli"):
        module = importlib.import_module(f"geo_sppa.{room}")
        assert module.__doc__, room


def test_library_never_imports_click():
    offenders = []
    for path in SOURCES:
        if "cli" in path.relative_to(PACKAGE).parts or path.name == "__main__.py":
            continue  # `python -m geo_sppa` is the command line
        for node in ast.walk(_tree(path)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            # the CLI imports click, so a library module importing geo_sppa.cli imports it too
            if any(
                n in ("click", "geo_sppa.cli") or n.startswith(("click.", "geo_sppa.cli."))
                for n in names
            ):
                offenders.append(str(path.relative_to(PACKAGE)))
    assert offenders == []


def test_no_global_matplotlib_backend_switch():
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in SOURCES
        if "matplotlib.use(" in p.read_text(encoding="utf-8")
        or "import matplotlib.pyplot" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_modules_and_functions_within_the_size_limits():
    too_long = []
    for path in SOURCES:
        rel = path.relative_to(PACKAGE)
        text = path.read_text(encoding="utf-8")
        limit = MAX_CLI_MODULE_LINES if rel.parts[0] == "cli" else MAX_MODULE_LINES
        if len(text.splitlines()) > limit:
            too_long.append(f"{rel}: {len(text.splitlines())} lines > {limit}")
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_every_module_declares_all():
    missing = [
        str(p.relative_to(PACKAGE))
        for p in SOURCES
        if p.name not in ("__init__.py", "__main__.py")
        and "cli" not in p.relative_to(PACKAGE).parts
        and "__all__" not in p.read_text(encoding="utf-8")
    ]
    assert missing == []
