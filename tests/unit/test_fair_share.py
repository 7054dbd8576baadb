"""A step writing stream items in a loop lets the event loop turn: other tasks (another client's
frames, requests) run between its writes instead of after the whole loop (fair_share.py)."""

from __future__ import annotations

import asyncio
import time

from motia_runtime.adapters.memory import MemoryStreamStore
from motia_runtime.config import StreamConfig
from motia_runtime.streams import Stream


def slow_listener(_change: object) -> None:
    time.sleep(0.001)  # a write whose fan-out takes 1 ms, as one to ~100 subscribers does


async def test_a_loop_of_sets_lets_other_tasks_run_every_few_milliseconds() -> None:
    store = MemoryStreamStore()
    store.add_listener(slow_listener)
    written: list[object] = []
    store.add_listener(written.append)
    stream = Stream(StreamConfig(name="items", schema={"type": "object"}), store)
    ran: list[int] = []  # how many writes were done at each of the other task's turns
    stop = asyncio.Event()

    async def other_client() -> None:
        while not stop.is_set():
            ran.append(len(written))
            await asyncio.sleep(0)

    other = asyncio.create_task(other_client())
    await asyncio.sleep(0)
    count = 300
    for i in range(count):
        await stream.set("g", "item", {"n": i})
    stop.set()
    await other
    # Each write takes at least 1 ms (the listener), so the 2 ms budget (fair_share.BUDGET_S) is spent
    # within two writes and the other task gets its turn. Counted in writes rather than clock gaps: a
    # loaded machine that stops the whole process for a while (it did, for 200 ms) adds no writes
    # between two turns.
    between = [b - a for a, b in zip([0, *ran], [*ran, count], strict=True)]
    assert max(between) <= 3, between  # without the turns: one stretch, all 300 writes
    assert len(ran) >= count / 3
