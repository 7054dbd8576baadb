"""mypy as the tests run it: a subprocess, with one cache shared by the session's runs.

Every run analyses the same framework, pydantic and the standard library; a shared cache makes
that once per session instead of once per run (a cold run is most of a minute on a busy machine).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

MYPY = Path(sys.executable).parent / "mypy"


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mypy-cache")


def run_mypy(cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MYPY), "--cache-dir", str(cache), "--hide-error-context", "--no-error-summary", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=400)
