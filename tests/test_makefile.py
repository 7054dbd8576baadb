"""The Makefile's housekeeping: ``make clean`` returns a checkout to what git holds, so the next
``make dev`` or ``make test`` starts as on a fresh clone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_clean_removes_everything_git_ignores(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--local", str(REPO), str(clone)], check=True)
    shutil.copyfile(REPO / "Makefile", clone / "Makefile")  # this checkout's, committed or not
    baseline = _status(clone)
    # What make install, make test, make build, make bench and the suite leave behind.
    made = [".venv/bin/python", ".venv-sam/.installed", ".venv-checkov/.installed", ".motia/motia.db",
            ".aws-sam/build/template.yaml", "build/lib/x.py", "dist/motia_runtime-0.wheel", "tests/artifacts/log.txt",
            ".hypothesis/examples/x",
            ".pytest_cache/v", ".ruff_cache/x", ".mypy_cache/x", ".schemathesis/x", "clients/web/dist/index.html",
            "clients/web/node_modules/.ci-stamp", "layers/motia_runtime/motia_runtime/__pycache__/x.pyc",
            "functions/__pycache__/x.pyc", "motia_runtime.egg-info/PKG-INFO"]
    for rel in made:
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        (clone / rel).write_text("x")
    assert len(_status(clone)) > len(baseline)
    subprocess.run(["make", "clean"], cwd=clone, check=True, capture_output=True)
    assert _status(clone) == baseline  # nothing ignored left, and nothing git tracks removed or changed


def _status(checkout: Path) -> list[str]:
    return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=checkout, capture_output=True, text=True,
                          check=True).stdout.splitlines()
