"""``tasks.stop_task`` ends a background loop even when a cancellation is swallowed on the way:
Python 3.11's ``asyncio.wait_for`` (redis-py writes each command through it) returns its inner
result when the cancel lands as the inner call completes. A Redis store's sweeper stopped in that
moment used to carry on, and the store's close waited for ever."""

from __future__ import annotations

import asyncio

from motia_runtime.tasks import stop_task


async def _quick() -> int:
    return 1


async def test_a_loop_whose_cancellation_wait_for_swallowed_is_still_stopped() -> None:
    rounds = 0

    async def sweeper() -> None:
        nonlocal rounds
        while True:
            await asyncio.wait_for(_quick(), 5)  # as redis-py's command write
            rounds += 1
            await asyncio.sleep(0.05)

    task = asyncio.create_task(sweeper())
    await asyncio.sleep(0)  # the sweeper is inside wait_for, whose inner task is ready to complete
    stopping = asyncio.create_task(stop_task(task))
    done, _ = await asyncio.wait((stopping,), timeout=3)
    assert stopping in done, "stop_task still waiting: the loop went on past its cancellation"
    assert task.cancelled()
    await stopping


async def test_a_task_that_failed_still_reports_its_error() -> None:
    async def broken() -> None:
        raise ValueError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    try:
        await stop_task(task)
    except ValueError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the task's error was lost")
