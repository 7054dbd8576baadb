"""The Lambda execution environments of ``motia cloud`` (``emulation/lambda_pool.py``), on real
worker processes: memory limit, an import error, reclaiming idle environments, recycling."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from motia_runtime.emulation.lambda_pool import FunctionPool, Invocation

pytestmark = pytest.mark.slow

HANDLERS = '''
import os, time

def ok(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "memory": context.memory_limit_in_mb, "left": context.get_remaining_time_in_millis(),
            "setting": os.environ.get("SETTING")}

def hog(event, context):
    block = bytearray(event["mb"] * 2**20)
    time.sleep(2)
    return len(block)

def unjsonable(event, context):
    return {1, 2}
'''


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "fns.py").write_text(HANDLERS)
    (tmp_path / "broken.py").write_text("import no_such_module\n")
    return tmp_path


@pytest.fixture
def pools() -> Iterator[list[FunctionPool]]:
    made: list[FunctionPool] = []
    yield made
    for pool in made:
        pool.close()


def pool(made: list[FunctionPool], code: Path, handler: str, **kwargs: object) -> FunctionPool:
    options: dict = {"timeout_s": 10, "memory_mb": 256, "cap": 2, **kwargs}
    created = FunctionPool("f", handler, {"SETTING": "x", "PATH": os.environ["PATH"]}, str(code), **options)
    made.append(created)
    return created


def test_the_environment_context_and_warm_reuse(code: Path, pools: list[FunctionPool]) -> None:
    fn = pool(pools, code, "fns.ok", memory_mb=300)
    first, second = fn.invoke({}), fn.invoke({})
    assert first.ok and first.cold and not second.cold
    assert first.payload["pid"] == second.payload["pid"]
    assert first.payload["memory"] == 300 and first.payload["setting"] == "x"
    assert 0 < first.payload["left"] <= 10_000


def test_memory_over_the_limit_kills_the_environment(code: Path, pools: list[FunctionPool]) -> None:
    fn = pool(pools, code, "fns.hog", memory_mb=200)
    result = fn.invoke({"mb": 400})
    assert (result.ok, result.outcome, result.payload["errorType"]) == (False, "oom", "Runtime.OutOfMemory")
    assert fn.environments == 0  # ended, not reused
    assert fn.invoke({"mb": 10}).ok


def test_an_import_error_fails_every_invocation_and_a_bad_result_is_a_marshal_error(
        code: Path, pools: list[FunctionPool]) -> None:
    broken = pool(pools, code, "broken.handler")
    for _ in range(2):
        result = broken.invoke({})
        assert result.payload["errorType"] == "Runtime.ImportModuleError" and result.cold
    assert "no_such_module" in result.payload["errorMessage"]
    bad = pool(pools, code, "fns.unjsonable").invoke({})
    assert (bad.ok, bad.payload["errorType"]) == (False, "Runtime.MarshalError")


def test_idle_environments_are_reclaimed_and_recycled(code: Path, pools: list[FunctionPool]) -> None:
    fn = pool(pools, code, "fns.ok")
    with ThreadPoolExecutor(2) as executor:
        results: list[Invocation] = list(executor.map(fn.invoke, [{"sleep": 0.5}] * 2))
    assert len({r.payload["pid"] for r in results}) == 2 and fn.environments == 2
    assert fn.reap(3600) == 0  # not idle long enough
    assert fn.reap(0) == 2 and fn.environments == 0
    assert fn.invoke({}).cold
    fn.recycle()  # new code: the idle one ends, the next invocation is cold
    assert fn.environments == 0 and fn.invoke({}).cold
