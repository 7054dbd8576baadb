"""One exception root: every public exception class of the package is a MotiaError."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import motia_runtime
from motia_runtime.errors import MotiaError

PACKAGE = Path(motia_runtime.__file__).parent


# A file can define a class named ...Error only if its text says "class ...Error": the other files
# (167 of 179) are not parsed. This runs at collection, in every xdist worker: 0.43 → 0.07 s of CPU.
_MAY_DEFINE_AN_ERROR = re.compile(r"\bclass\s+\w*Error\b")


def _exception_classes() -> list[tuple[str, str]]:
    """(module, class) of each public class whose name says it is an error, found in the source."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "templates" in path.relative_to(PACKAGE).parts:  # project templates, not the package
            continue
        text = path.read_text()
        if not _MAY_DEFINE_AN_ERROR.search(text):
            continue
        module = ".".join(("motia_runtime", *path.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for node in ast.walk(ast.parse(text)):
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
