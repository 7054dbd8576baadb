"""One exception root: every public exception class of the package is a MotiaError."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import motia_runtime
from motia_runtime.errors import MotiaError

PACKAGE = Path(motia_runtime.__file__).parent


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of each public class whose name says it is an error, found in the source."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "templates" in path.relative_to(PACKAGE).parts:  # project templates, not the package
            continue
        module = ".".join(("motia_runtime", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error") and not node.name.startswith("_"):
                found.append((module, node.name))
    return found


def test_the_package_has_exception_classes_outside_errors_py() -> None:
    modules = {module for module, _ in _exception_classes()}
    assert "motia_runtime.protocol" in modules and "motia_runtime.tools.template.cron" in modules


@pytest.mark.parametrize(("module", "name"), _exception_classes())
def test_each_public_exception_is_a_motia_error(module: str, name: str) -> None:
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, MotiaError), f"{module}.{name} is not under MotiaError"


def test_cron_conversion_error_is_still_a_value_error() -> None:
    from motia_runtime.tools.template import CronConversionError

    assert issubclass(CronConversionError, ValueError)  # callers catch it as one
