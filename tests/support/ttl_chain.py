"""``set(..., ttl=)`` on an item a stream trigger watches, from many writers at once, on a given
stream store: each write's trigger must get, as "before", the item that write replaced; and an
item's expiry, removed by the store's own sweeper, runs the trigger once with its ``delete``. Run by
tests/contract/test_ttl_trigger_chain.py (memory, SQLite, DynamoDB on moto) and
tests/redis/test_ttl_trigger_chain.py (a real Redis).

The project is real (a stream and a stream trigger step, loaded by ``load_project``) and the
triggers run on the local event bus over an in-memory queue, as tests/unit/test_triggers.py does.
"""

from __future__ import annotations

import asyncio
import textwrap
import uuid
from pathlib import Path
from typing import Any

from motia_runtime.adapters.memory import MemoryStateStore
from motia_runtime.adapters.memory.queue import MemoryQueueStore
from motia_runtime.hosts.local.bus import LocalEventBus
from motia_runtime.ports.streams import StreamStore
from motia_runtime.project import load_project
from motia_runtime.runtime import Runtime

STREAM = """
from pydantic import BaseModel
from motia_runtime import StreamConfig

class Item(BaseModel):
    n: int = 0

config = StreamConfig(name="items", schema=Item, public=True)
"""
WATCH = """
config = {"type": "stream", "name": "Watch", "streamName": "items"}
SEEN = []
EXPIRED = []

async def handler(change, ctx):
    old, new = change["old_value"], change["new_value"]
    SEEN.append((None if old is None else old["n"], None if new is None else new["n"]))
    if change["event"]["type"] == "delete":
        EXPIRED.append((change["groupId"], change["id"], change["depth"], ctx.trace_id))
"""


def write_project(root: Path) -> Path:
    """A project whose step module has a name no other test uses (step modules are named after
    their path, and the repository's ``functions`` package is shared by every test project)."""
    (root / "streams").mkdir(parents=True)
    (root / "streams" / f"items_{uuid.uuid4().hex[:8]}_stream.py").write_text(textwrap.dedent(STREAM))
    (root / "functions").mkdir()
    (root / "functions" / f"watch_{uuid.uuid4().hex[:8]}_step.py").write_text(textwrap.dedent(WATCH))
    return root


async def _settle(queue: MemoryQueueStore, bus: LocalEventBus, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        busy = [m for m in queue.list(limit=100000) if m.status != "dead"]
        if not busy and not any(w.running for w in bus.workers.values()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"triggers still running: {queue.list(limit=20)}")


async def check_ttl_writes_chain(root: Path, streams: StreamStore, writers: int = 8) -> None:
    """``writers`` concurrent ``set(..., ttl=)`` of one watched item: the trigger's (before, after)
    pairs form one chain from nothing through every write; then a ``set`` without ``ttl`` on the
    watched item makes it permanent (its expiry goes in the same write)."""
    queue = MemoryQueueStore()
    bus = LocalEventBus(queue)
    runtime = Runtime(load_project(root), state=MemoryStateStore(), streams=streams, bus=bus)
    seen: list[tuple[Any, Any]] = runtime.project.steps["Watch"].handler.__globals__["SEEN"]  # type: ignore[union-attr]
    bus.start(runtime)
    try:
        items = runtime.streams["items"]
        group = uuid.uuid4().hex
        await asyncio.gather(*(items.set(group, "a", {"n": n}, ttl=3600) for n in range(writers)))
        await _settle(queue, bus)
        assert sorted(after for _, after in seen) == list(range(writers)), seen
        # Each write replaced a different item: no two triggers got the same "before".
        befores = [before for before, _ in seen]
        assert len(set(befores)) == writers, f"two writes' triggers saw the same before: {sorted(seen, key=str)}"
        after_of = dict(seen)
        chain, at = [], None
        while at in after_of:
            at = after_of.pop(at)
            chain.append(at)
        assert len(chain) == writers, f"the before/after pairs do not chain: {sorted(seen, key=str)}"
        assert (await items.get(group, "a"))["n"] == chain[-1]  # type: ignore[index]
        # A set without ttl makes a watched item permanent again, as it does an unwatched one.
        await items.set(group, "b", {"n": 1}, ttl=1)
        await items.set(group, "b", {"n": 2})
        await asyncio.sleep(1.3)
        await streams.expire_due()
        assert (await items.get(group, "b"))["n"] == 2  # type: ignore[index]
    finally:
        await runtime.aclose()


async def check_expiry_runs_triggers(root: Path, streams: StreamStore) -> None:
    """An item set with a short ``ttl`` outside any step's run: the store's sweeper (``astart``)
    removes it and the watching trigger runs once with the ``delete`` (the item before, nothing
    after, hop 1 of a new trace); a subscriber (the store's change listener) gets one ``delete``."""
    queue = MemoryQueueStore()
    bus = LocalEventBus(queue)
    runtime = Runtime(load_project(root), state=MemoryStateStore(), streams=streams, bus=bus)
    step_globals = runtime.project.steps["Watch"].handler.__globals__  # type: ignore[union-attr]
    seen: list[tuple[Any, Any]] = step_globals["SEEN"]
    expired: list[tuple[str, str, int, str]] = step_globals["EXPIRED"]
    deletes: list[tuple[str, str]] = []
    streams.add_listener(lambda c: deletes.append((c.group_id, str(c.id))) if c.type == "delete" else None)
    await streams.astart()
    bus.start(runtime)
    try:
        items = runtime.streams["items"]
        group = uuid.uuid4().hex
        await items.set(group, "brief", {"n": 7}, ttl=0.3)
        deadline = asyncio.get_running_loop().time() + 10
        while not expired:
            assert asyncio.get_running_loop().time() < deadline, f"no delete trigger for the expiry: {seen}"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.1)  # two more sweeps: the expiry is not routed twice
        await _settle(queue, bus)
        assert seen == [(None, 7), (7, None)], seen
        assert [(g, i, depth) for g, i, depth, _ in expired] == [(group, "brief", 1)]
        assert deletes == [(group, "brief")]
        assert await items.get(group, "brief") is None
    finally:
        await runtime.aclose()
