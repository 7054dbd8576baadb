"""mypy as the tests run it: a subprocess, with one cache shared by the session's runs.

Every run analyses the same framework, pydantic and the standard library; a shared cache makes
that once per session instead of once per run (a cold run is most of a minute on a busy machine).
Two caches, in fact: mypy drops its whole cache when a run's cache-affecting options differ from
the last run's, and this repository's config (pydantic's mypy plugin) differs from a created
project's (no plugin; a folder without a config given --strict --explicit-package-bases has the
same options). With one cache, each switch between the two re-analysed everything: ~10 s of CPU
each (measured: the repo's run, then a pets project's, 10.5 s user; the same again, 0.5 s).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

MYPY = Path(sys.executable).parent / "mypy"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    if worker_id == "master":  # one process (-n 0)
        return tmp_path_factory.mktemp("mypy-cache")
    # Under pytest-xdist, one cache for every worker of the run (their base temps share this parent),
    # so only the run's first mypy is cold; run_mypy takes turns on it (mypy's cache is one SQLite
    # file, and a commit that meets another run's lock would fail the run).
    cache = tmp_path_factory.getbasetemp().parent / "mypy-cache"
    cache.mkdir(exist_ok=True)
    return cache


def run_mypy(cwd: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cache = cache / ("repo" if cwd.resolve() == REPO else "projects")  # the config's own cache (above)
    cache.mkdir(exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return subprocess.run([str(MYPY), "--cache-dir", str(cache), "--hide-error-context", "--no-error-summary",
                               *args], cwd=cwd, capture_output=True, text=True, timeout=400)
