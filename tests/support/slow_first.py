"""Run the slowest test modules first, so the parallel run does not end on one of them alone.

`make test` runs the suite on pytest-xdist workers with `--dist loadscope`: each module whole on
one worker, handed out in collection order (`--no-loadscope-reorder`; xdist's own reorder puts the
modules with the most tests first, which left the few slow ones, a minute or more each, to the end
where one worker ran them while the others sat idle). Longest first is the classic remedy: the
modules below are in descending order of their measured time (`--durations=0`, summed per module,
bench/optimisations.md "Round 2 (issue 18.4)"); every other module keeps its place after them.
Only the order changes: the same tests run, each module's tests in their own order.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SLOWEST_FIRST = (
    "tests/create/test_create.py",
    "tests/parity/test_parity.py",
    "tests/browser/test_workbench.py",
    "tests/bench/test_bench_smoke.py",
    "tests/browser/test_cloud_pages.py",
    "tests/redis/test_workers.py",
    "tests/browser/test_demo_page.py",
    "tests/template/test_committed.py",
    "tests/cloud/test_cloud_clients.py",
    "tests/parity/test_parity_jobs.py",
    "tests/cloud/test_motia_cloud.py",
    "tests/types/test_typed_module.py",
    "tests/template/test_build_command.py",
    "tests/test_readme.py",
    "tests/local/test_reload.py",
    "tests/redis/test_history.py",
    "tests/create/test_package.py",
    "tests/aws/test_cold_start.py",
    "tests/fuzz/test_openapi_fuzz.py",
    "tests/cloud/test_cloud_triggers.py",
    "tests/pets/test_pets_crash.py",
    "tests/template/test_deploy.py",
)

REPO = Path(__file__).resolve().parents[2]


def slowest_first(items: list[pytest.Item]) -> None:
    """Reorder ``items`` in place: listed modules first, in the list's order; a stable sort."""
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    stale = [path for path in SLOWEST_FIRST if not (REPO / path).is_file()]
    if stale:  # a renamed module would silently lose its place: say so
        raise pytest.UsageError(f"tests/support/slow_first.py lists modules that do not exist: {stale}")
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
