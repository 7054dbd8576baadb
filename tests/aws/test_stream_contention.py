"""DynamoDB's stream and state stores' mutate under contention, on moto: a lost race waits (backoff
with jitter) and tries again for a bounded time, not a fixed number of attempts (10 for stream
items, 32 for state keys), so many writers on one item all land; past the budget the error names
the item and nothing of the update is written."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from motia_runtime import StateContentionError, StateError, StreamContentionError, StreamError
from motia_runtime.adapters.aws import DynamoDBStateStore, DynamoDBStreamStore
from motia_runtime.testing.resources import Resources
from tests.aws.conftest import aws, ddb, resources  # noqa: F401 - the moto fixtures
from tests.contract.test_dynamodb_stores import AtomicCalls


def _increment(current: dict[str, Any] | None) -> dict[str, Any]:
    return {"count": (current or {"count": 0})["count"] + 1}


async def test_many_writers_on_one_item_all_land(resources: Resources, ddb: Any) -> None:  # noqa: F811
    # One store per writer, as each Lambda has its own; AtomicCalls gives moto DynamoDB's atomic
    # conditional writes, and more writers than the thread pool keeps every round contended.
    table, client = resources.tables["streams-table"], AtomicCalls(ddb)
    writers = [DynamoDBStreamStore(table, client=client) for _ in range(20)]
    await writers[0].set("s", "g", "hot", {"count": 0})
    changes = await asyncio.gather(*(w.mutate("s", "g", "hot", _increment) for w in writers))
    assert sorted(c.data["count"] for c in changes) == list(range(1, 21))  # each saw the one before
    assert (await writers[0].get("s", "g", "hot"))["count"] == 20  # type: ignore[index]


def _competing(store: DynamoDBStreamStore, times: int) -> tuple[list[int], Any]:
    """A mutation that, the first ``times`` times it runs, lets another writer change the item
    between mutate's read and its conditional write (moto has no locks to race on for real)."""
    seen: list[int] = []

    def bump(current: dict[str, Any] | None) -> dict[str, Any]:
        assert current is not None
        seen.append(current["count"])
        if len(seen) <= times:
            other = threading.Thread(target=lambda: asyncio.run(store.set("s", "g", "i", {"count": 1000 + len(seen)})))
            other.start()
            other.join()
        return {"count": current["count"] + 1}

    return seen, bump


async def test_an_update_that_loses_more_than_ten_races_still_lands(resources: Resources, ddb: Any) -> None:  # noqa: F811
    table = resources.tables["streams-table"]
    store, other = DynamoDBStreamStore(table, client=ddb), DynamoDBStreamStore(table, client=ddb)
    await store.set("s", "g", "i", {"count": 0})
    seen, bump = _competing(other, 15)
    change = await store.mutate("s", "g", "i", bump)
    assert len(seen) == 16 and seen[-1] == 1015  # 15 races lost, each re-read the other's write
    assert change.data["count"] == 1016 and (await store.get("s", "g", "i"))["count"] == 1016  # type: ignore[index]


async def test_contention_past_the_budget_is_an_error_naming_the_item(resources: Resources, ddb: Any) -> None:  # noqa: F811
    table = resources.tables["streams-table"]
    store = DynamoDBStreamStore(table, client=ddb, contention_budget_s=0.5)
    other = DynamoDBStreamStore(table, client=ddb)
    await store.set("s", "g", "i", {"count": 0})
    seen, bump = _competing(other, 10**6)  # the other writer always gets in between
    started = time.monotonic()
    with pytest.raises(StreamContentionError) as raised:
        await store.mutate("s", "g", "i", bump)
    took = time.monotonic() - started
    error = raised.value
    assert isinstance(error, StreamError)  # what a step already catches for stream failures
    assert (error.stream, error.group_id, error.id) == ("s", "g", "i")
    assert error.attempts == len(seen) > 1 and "'s'" in str(error) and "'i'" in str(error)
    assert 0.3 < took < 5, took  # waited out the budget between attempts; then stopped
    assert (await store.get("s", "g", "i"))["count"] == 1000 + len(seen)  # type: ignore[index]  # the update wrote nothing


async def test_many_writers_on_one_state_key_all_land(resources: Resources, ddb: Any) -> None:  # noqa: F811
    table, client = resources.tables["state-table"], AtomicCalls(ddb)
    # What is checked is that no increment is lost, not how fast 40 writers get through: on a loaded
    # CI machine each of moto's calls (one at a time, AtomicCalls) takes ~10-25 ms, a round of 40
    # writers ~1 s, and a writer that kept losing used up the default 10 s budget (contention.py),
    # which real DynamoDB's ~5 ms round trips never come near. Here the budget is a minute.
    writers = [DynamoDBStateStore(table, client=client, contention_budget_s=60) for _ in range(40)]
    results = await asyncio.gather(*(w.mutate("g", "hot", lambda n: (n or 0) + 1) for w in writers))
    assert sorted(new for _, new in results) == list(range(1, 41))
    assert await writers[0].get("g", "hot") == 40


async def test_state_contention_past_the_budget_is_an_error_naming_the_key(resources: Resources, ddb: Any) -> None:  # noqa: F811
    table = resources.tables["state-table"]
    store = DynamoDBStateStore(table, client=ddb, contention_budget_s=0.5)
    other = DynamoDBStateStore(table, client=ddb)
    await store.set("g", "k", 0)
    seen: list[int] = []

    def bump(current: Any) -> int:
        seen.append(current)
        writer = threading.Thread(target=lambda: asyncio.run(other.set("g", "k", 1000 + len(seen))))
        writer.start()
        writer.join()  # the other writer always gets in between
        return int(current) + 1

    with pytest.raises(StateContentionError) as raised:
        await store.mutate("g", "k", bump)
    assert isinstance(raised.value, StateError)
    assert (raised.value.group, raised.value.key, raised.value.attempts) == ("g", "k", len(seen))
    assert await store.get("g", "k") == 1000 + len(seen)  # the update wrote nothing
