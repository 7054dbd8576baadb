"""How many handlers the local bus runs at once: as many as Lambda would (the account's 1,000 by
default, ``infrastructure.queue.concurrency`` when the step sets it), held back to the guaranteed few
while the load guard reports the loop lagging or the process over its memory limit (bus_guard.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.errors import ConfigError
from motia_runtime.hosts.local import bus_guard
from motia_runtime.hosts.local.bus_guard import GUARANTEED, LoadGuard
from motia_runtime.limits import Limits
from motia_runtime.ports.events import Event

from . import test_triggers
from .test_triggers import App

project = test_triggers.project  # the fixture: a throwaway project of step files

SLOW = """
import asyncio

config = {{"type": "event", "name": "Slow", "subscribes": ["slow"], "emits": [], "flows": ["f"]{extra}}}
RUNNING = [0, 0]  # now, most at once

async def handler(data, ctx):
    RUNNING[0] += 1
    RUNNING[1] = max(RUNNING[1], RUNNING[0])
    await asyncio.sleep(0.2)
    RUNNING[0] -= 1
    await ctx.state.set("done", str(data["i"]), True)
"""


def most_at_once() -> int:
    import importlib

    return int(importlib.import_module("functions.slow_step").RUNNING[1])


async def run(app: App, n: int) -> None:
    await app.bus.publish([Event("slow", {"i": i}, f"T-{i}") for i in range(n)])
    await app.settle(timeout=30)
    assert len(await app.runtime.state_store.get_group("done")) == n


async def test_an_io_bound_step_scales_out_like_lambda_by_default(project: Any) -> None:
    async with App(project({"slow": SLOW.format(extra="")})) as app:
        await run(app, 300)
    assert most_at_once() == 300  # the old fixed default ran 10


async def test_the_step_concurrency_caps_it(project: Any) -> None:
    extra = ', "infrastructure": {"queue": {"concurrency": 7}}'
    async with App(project({"slow": SLOW.format(extra=extra)})) as app:
        await run(app, 40)
    assert most_at_once() == 7


async def test_the_default_comes_from_the_hosts_limits(project: Any) -> None:
    limits = Limits.from_env({"MOTIA_BUS_CONCURRENCY": "25"})  # as motia dev reads it, once
    async with App(project({"slow": SLOW.format(extra="")}), limits) as app:
        await run(app, 60)
    assert most_at_once() == 25
    with pytest.raises(ConfigError, match="MOTIA_BUS_CONCURRENCY"):
        Limits.from_env({"MOTIA_BUS_CONCURRENCY": "lots"})


async def test_over_the_memory_limit_only_the_guaranteed_few_run(project: Any) -> None:
    async with App(project({"slow": SLOW.format(extra="")})) as app:
        guard = LoadGuard(max_lag_ms=60_000, max_rss_mb=1)  # any process is over 1 MB
        guard.on_clear = app.bus.guard.on_clear
        await app.bus.guard.stop()
        app.bus.guard = guard
        guard.sample(0.0)
        assert guard.overloaded and guard.trips == 1
        await run(app, 40)
    assert most_at_once() == GUARANTEED


async def test_a_lagging_loop_holds_claims_back_until_it_recovers(project: Any) -> None:
    async with App(project({"slow": SLOW.format(extra="")})) as app:
        guard = app.bus.guard
        await guard.stop()  # sampled by hand here
        guard.sample(guard.max_lag_s * 2)
        assert guard.overloaded
        await app.bus.publish([Event("slow", {"i": i}, f"T-{i}") for i in range(50)])
        await asyncio.sleep(0.05)
        assert sum(len(w.running) for w in app.bus.workers.values()) == GUARANTEED
        guard.sample(0.0)  # the lag is gone: the waiting messages are claimed at once
        await asyncio.sleep(0.05)
        assert sum(len(w.running) for w in app.bus.workers.values()) == 50
        await app.settle(timeout=10)
    assert most_at_once() == 50


async def test_an_idle_bus_does_not_sample_and_a_busy_one_does(project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    real = bus_guard._rss_bytes

    def counted() -> int | None:
        reads.append(1)
        return real()

    monkeypatch.setattr(bus_guard, "_rss_bytes", counted)
    async with App(project({"slow": SLOW.format(extra="")})) as app:
        await asyncio.sleep(0.2)  # the first tick, then nothing runs: the guard goes idle
        assert app.bus.guard.idle
        before = len(reads)
        await asyncio.sleep(0.6)  # every 50 ms, this was 12 reads of /proc/self/statm
        assert len(reads) == before
        await run(app, 5)  # handlers of 0.2 s: sampled while they run
        assert len(reads) - before >= 3
        await asyncio.sleep(0.2)
        assert app.bus.guard.idle
        before = len(reads)
        await asyncio.sleep(0.4)
        assert len(reads) == before


async def test_memory_grown_while_idle_holds_the_first_claims_back(project: Any) -> None:
    async with App(project({"slow": SLOW.format(extra="")})) as app:
        guard = app.bus.guard
        await asyncio.sleep(0.2)
        assert guard.idle and not guard.overloaded
        guard.max_rss = 1_000_000  # as if the process had grown past its limit while idle
        await run(app, 40)  # claimed at once after the publish: the resume sample saw it first
        assert guard.overloaded
    assert most_at_once() == GUARANTEED


def test_the_guard_limits_come_from_the_hosts_limits(tmp_path: Path) -> None:
    from motia_runtime.adapters.memory.queue import MemoryQueueStore
    from motia_runtime.hosts.local.bus import LocalEventBus

    limits = Limits.from_env({"MOTIA_BUS_MAX_LOOP_LAG_MS": "30", "MOTIA_BUS_MAX_RSS_MB": "512"})
    guard = LocalEventBus(MemoryQueueStore(), limits).guard
    assert guard.max_lag_s == 0.03 and guard.max_rss == 512_000_000
    assert LocalEventBus(MemoryQueueStore()).guard.max_rss == 2048 * 1_000_000  # the default
    with pytest.raises(ConfigError, match=r"MOTIA_BUS_MAX_RSS_MB .*between 1 and 10000000 MB, not 0"):
        Limits.from_env({"MOTIA_BUS_MAX_RSS_MB": "0"})


def test_a_project_path_is_not_needed_for_the_guard(tmp_path: Path) -> None:
    guard = LoadGuard(max_lag_ms=50, max_rss_mb=100_000)
    guard.sample(0.01)
    assert not guard.overloaded and guard.rss is not None and guard.rss > 0


async def test_a_handler_over_its_timeout_fails_and_one_within_it_succeeds() -> None:
    from motia_runtime.dispatch import call_handler
    from motia_runtime.errors import MotiaError

    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    assert await call_handler(slow, 0.01, timeout_s=5) == "done"
    with pytest.raises(MotiaError, match=r"timed out after 0\.05 s"):
        await call_handler(slow, 5, timeout_s=0.05)
    assert await call_handler(lambda s: s * 2, 21, timeout_s=5) == 42  # a plain function, in a thread


async def test_a_fifo_group_waiting_on_its_head_is_not_polled(project: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A stream trigger is FIFO per item by default: a slow (or retrying) handler with the item's
    # next change queued behind it must not have its worker poll the store every millisecond.
    from motia_runtime.adapters.memory.queue import MemoryQueueStore

    claims: list[str] = []
    real = MemoryQueueStore.claim

    def counted(self: MemoryQueueStore, step: str, now: int, limit: int, fifo: bool) -> Any:
        claims.append(step)
        return real(self, step, now, limit, fifo)

    monkeypatch.setattr(MemoryQueueStore, "claim", counted)
    extra = ', "infrastructure": {"queue": {"type": "fifo"}}'
    async with App(project({"slow": SLOW.format(extra=extra)})) as app:
        await app.bus.publish([Event("slow", {"i": i}, f"T-{i}", "one-item") for i in range(2)])
        await asyncio.sleep(0.1)  # the first runs (0.2 s), the second waits behind it
        before = len(claims)
        await asyncio.sleep(0.08)
        assert len(claims) - before <= 2  # was ~80: one claim per millisecond
        await app.settle()
    assert most_at_once() == 1
