"""A step writing stream items in a loop lets the event loop turn: other tasks (another client's
frames, requests) run between its writes instead of after the whole loop (fair_share.py)."""

from __future__ import annotations

import asyncio
import time

from motia_runtime.adapters.memory import MemoryStreamStore
from motia_runtime.config import StreamConfig
from motia_runtime.fair_share import BUDGET_S
from motia_runtime.streams import Stream


def slow_listener(_change: object) -> None:
    time.sleep(0.001)  # a write whose fan-out takes 1 ms, as one to ~100 subscribers does


async def test_a_loop_of_sets_lets_other_tasks_run_every_few_milliseconds() -> None:
    store = MemoryStreamStore()
    store.add_listener(slow_listener)
    stream = Stream(StreamConfig(name="items", schema={"type": "object"}), store)
    ran: list[float] = []
    stop = asyncio.Event()

    async def other_client() -> None:
        while not stop.is_set():
            ran.append(time.perf_counter())
            await asyncio.sleep(0)

    other = asyncio.create_task(other_client())
    await asyncio.sleep(0)
    start = time.perf_counter()
    for i in range(300):
        await stream.set("g", "item", {"n": i})
    end = time.perf_counter()
    stop.set()
    await other
    during = [t for t in ran if start <= t <= end]
    # ~300 ms of writes: the other task ran between them, never waiting long for a turn.
    assert len(during) >= (end - start) / (BUDGET_S + 0.002) / 2
    gaps = [b - a for a, b in zip([start, *during], [*during, end], strict=True)]
    assert max(gaps) < (end - start) / 5  # without the turns: one gap, the whole loop

