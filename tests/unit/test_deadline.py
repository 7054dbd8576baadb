"""deadline.py: handler deadlines on one timer per loop and length, behaving as asyncio.timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
import uvloop

from motia_runtime import deadline as deadline_module
from motia_runtime.deadline import deadline

RUNNERS: list[Callable[[Any], Any]] = [asyncio.run, uvloop.run]


@pytest.mark.parametrize("run", RUNNERS, ids=["asyncio", "uvloop"])
def test_each_run_is_cut_at_its_own_deadline_and_the_others_finish(run: Callable[[Any], Any]) -> None:
    async def one(delay: float, work: float) -> tuple[str, float]:
        await asyncio.sleep(delay)
        started = time.monotonic()
        try:
            async with deadline(0.2):
                await asyncio.sleep(work)
            return "done", time.monotonic() - started
        except TimeoutError:
            return "timeout", time.monotonic() - started

    async def main() -> list[tuple[str, float]]:
        # Staggered starts, one length: slow runs time out 0.2 s after their own start.
        return await asyncio.gather(one(0, 1), one(0.05, 0.01), one(0.1, 1), one(0.12, 0.05), one(0.15, 1))

    results = run(main())
    assert [kind for kind, _ in results] == ["timeout", "done", "timeout", "done", "timeout"]
    for kind, elapsed in results:
        if kind == "timeout":
            assert 0.19 <= elapsed < 2.0  # late only by how busy the machine is


@pytest.mark.parametrize("run", RUNNERS, ids=["asyncio", "uvloop"])
def test_a_cancel_from_outside_stays_a_cancel(run: Callable[[Any], Any]) -> None:
    async def main() -> None:
        async def guarded() -> None:
            async with deadline(5):
                await asyncio.sleep(10)

        task = asyncio.ensure_future(guarded())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


@pytest.mark.parametrize("run", RUNNERS, ids=["asyncio", "uvloop"])
def test_many_runs_share_one_timer_and_leave_nothing_behind(run: Callable[[Any], Any]) -> None:
    async def quick(i: int) -> int:
        async with deadline(30):
            await asyncio.sleep(0)
        return i

    async def main() -> tuple[int, int, int]:
        done = await asyncio.gather(*(quick(i) for i in range(500)))
        keeper = deadline_module._local.keeper
        return len(done), len(keeper.timers), sum(len(q) for q in keeper.runs.values())

    assert run(main()) == (500, 1, 0)  # one timer for the 30 s length, no run kept


def test_outside_a_task_it_refuses() -> None:
    async def enter() -> None:
        await deadline(1).__aenter__()

    coro = enter()
    with pytest.raises(RuntimeError):
        coro.send(None)
