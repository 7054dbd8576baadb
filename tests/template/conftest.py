"""Temporary projects for template tests.

load_project imports steps as ``functions.<...>`` with the project root on sys.path, so two
projects in one process would share the ``functions`` namespace package. Each test gets a clean
slate and leaves sys.path / sys.modules as it found them.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.project import load_project
from motia_runtime.tools.template import build_template
from tests.support.unavailable import unavailable

REPO = Path(__file__).resolve().parents[2]
_APP_PACKAGES = ("functions", "streams")
# SAM CLI pins boto3, pydantic and click, so it has a venv of its own; make test and make build
# create it (Makefile).
SAM_VENV = REPO / ".venv-sam"


@pytest.fixture(scope="session")
def sam_bin() -> Path:
    """``.venv-sam/bin``. Without it the SAM CLI tests skip, except in CI, where make test has
    created it and its absence is a failure: those checks must not go quietly missing."""
    if not (SAM_VENV / ".installed").exists():
        unavailable("no .venv-sam (make test or make build creates it)", what="the SAM CLI tests")
    return SAM_VENV / "bin"


def _is_app_module(name: str) -> bool:
    return name.split(".", 1)[0] in _APP_PACKAGES


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    saved_path = list(sys.path)
    saved = {name: module for name, module in sys.modules.items() if _is_app_module(name)}
    for name in saved:
        del sys.modules[name]
    yield
    for name in [n for n in sys.modules if _is_app_module(n)]:
        del sys.modules[name]
    sys.modules.update(saved)
    sys.path[:] = saved_path


ProjectWriter = Callable[[dict[str, str]], Path]


@pytest.fixture
def write_project(tmp_path: Path, isolated_imports: None) -> ProjectWriter:
    """Write ``{relative path: source}`` under a fresh root and return the root."""
    counter = iter(range(1000))

    def write(files: dict[str, str]) -> Path:
        root = tmp_path / f"project{next(counter)}"
        for rel, source in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        return root

    return write


def step(config: str, kind: str = "event") -> str:
    """A step file with a dict ``config`` and the handler shape its kind needs."""
    signature = {"api": "req, ctx", "event": "input, ctx", "cron": "ctx"}[kind]
    return f"config = {config}\n\n\nasync def handler({signature}):\n    return None\n"


def template_of(root: Path) -> dict[str, Any]:
    # Fresh imports per build: the same root may be rebuilt after its files change.
    for name in [n for n in sys.modules if _is_app_module(n)]:
        del sys.modules[name]
    return build_template(load_project(root))


def resources_of(template: dict[str, Any], *, step: str | None = None, role: str | None = None) -> dict[str, Any]:
    """Resources whose Metadata.Motia matches (the way the moto harness finds them)."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        tag = resource.get("Metadata", {}).get("Motia", {})
        if (step is None or tag.get("step") == step) and (role is None or tag.get("role") == role):
            found[logical_id] = resource
    return found


def only(resources: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, f"expected one resource, got {sorted(resources)}"
    return next(iter(resources.items()))
