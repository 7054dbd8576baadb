"""Contract tests every StateStore, StreamStore and QueueStore passes (memory and SQLite here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from motia_runtime.adapters.memory import MemoryQueueStore, MemoryStateStore, MemoryStreamStore
from motia_runtime.adapters.sqlite import Database, SQLiteQueueStore, SQLiteStateStore, SQLiteStreamStore
from motia_runtime.ports.queue import NewMessage, QueueStore
from motia_runtime.ports.state import StateStore
from motia_runtime.ports.streams import StreamChange, StreamStore


@pytest.fixture(params=["memory", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database | None]:
    if request.param == "memory":
        yield None
        return
    database = Database(tmp_path / "motia.db")
    yield database
    database.close()


@pytest.fixture
def state(db: Database | None) -> StateStore:
    return MemoryStateStore() if db is None else SQLiteStateStore(db)


@pytest.fixture
def streams(db: Database | None) -> StreamStore:
    return MemoryStreamStore() if db is None else SQLiteStreamStore(db)


@pytest.fixture
def queue(db: Database | None) -> QueueStore:
    return MemoryQueueStore() if db is None else SQLiteQueueStore(db)


async def test_state_round_trip(state: StateStore) -> None:
    assert await state.get("pets", "1") is None
    await state.set("pets", "1", {"name": "Rex"})
    await state.set("pets", "2", {"name": "Tom"})
    await state.set("other", "1", 5)
    assert await state.get("pets", "1") == {"name": "Rex"}
    assert await state.get_group("pets") == [{"name": "Rex"}, {"name": "Tom"}]
    assert await state.items("pets") == [("1", {"name": "Rex"}), ("2", {"name": "Tom"})]
    assert await state.delete("pets", "1") == {"name": "Rex"}
    assert await state.delete("pets", "1") is None
    assert await state.list_groups() == ["other", "pets"]
    await state.clear("pets")
    assert await state.get_group("pets") == []
    assert await state.get("other", "1") == 5


async def test_state_values_are_copies(state: StateStore) -> None:
    value = {"tags": ["a"]}
    await state.set("g", "k", value)
    value["tags"].append("b")
    assert await state.get("g", "k") == {"tags": ["a"]}


async def test_stream_set_creates_then_updates_with_increasing_stamps(streams: StreamStore) -> None:
    seen: list[StreamChange] = []
    streams.add_listener(seen.append)
    first = await streams.set("s", "g", "a", {"v": 1})
    second = await streams.set("s", "g", "a", {"v": 2})
    third = await streams.set("s", "g", "a", {"v": 3})
    assert [c.type for c in seen] == ["create", "update", "update"]
    assert first.data == {"v": 1, "id": "a", "_createdAt": first.timestamp}
    assert third.data["_createdAt"] == first.timestamp  # creation time is kept across updates
    assert first.timestamp < second.timestamp < third.timestamp  # same millisecond or not
    assert [c.version for c in seen] == [1, 2, 3]
    assert await streams.get("s", "g", "a") == third.data


async def test_stream_groups_are_ordered_by_creation_and_isolated(streams: StreamStore) -> None:
    await streams.set("s", "g", "b", {"v": 1})
    await streams.set("s", "g", "a", {"v": 2})
    await streams.set("s", "other", "a", {"v": 3})
    await streams.set("t", "g", "a", {"v": 4})
    assert [i["id"] for i in await streams.get_group("s", "g")] == ["b", "a"]
    assert await streams.list_groups("s") == ["g", "other"]
    assert await streams.get("s", "other", "a") == {"v": 3, "id": "a",
                                                   "_createdAt": (await streams.get("s", "other", "a"))["_createdAt"]}


async def test_stream_delete_returns_the_item_and_notifies(streams: StreamStore) -> None:
    seen: list[StreamChange] = []
    await streams.set("s", "g", "a", {"v": 1})
    streams.add_listener(seen.append)
    change = await streams.delete("s", "g", "a")
    assert change is not None and change.type == "delete" and change.data["v"] == 1
    assert await streams.delete("s", "g", "a") is None
    assert await streams.get("s", "g", "a") is None
    assert [c.type for c in seen] == ["delete"]


async def test_stream_send_is_not_stored(streams: StreamStore) -> None:
    seen: list[StreamChange] = []
    streams.add_listener(seen.append)
    await streams.send("s", "g", "a", {"type": "typing", "data": {"who": "me"}})
    assert await streams.get_group("s", "g") == []
    assert seen[0].type == "event" and seen[0].data == {"type": "typing", "data": {"who": "me"}}


async def test_stream_mutate_that_raises_writes_nothing(streams: StreamStore) -> None:
    await streams.set("s", "g", "a", {"v": 1})

    def refuse(current: dict | None) -> dict:
        raise ValueError("no")

    with pytest.raises(ValueError):
        await streams.mutate("s", "g", "a", refuse)
    assert (await streams.get("s", "g", "a"))["v"] == 1


def _message(step: str, n: int, group: str | None = None, visible_at: int = 0) -> NewMessage:
    return NewMessage(step, "topic", {"n": n}, "T-1", group, visible_at, f"e{n}")


def test_queue_claims_ack_and_retries(queue: QueueStore) -> None:
    queue.enqueue([_message("A", 1), _message("A", 2), _message("B", 3)], now=0)
    claimed = queue.claim("A", now=10, limit=10, fifo=False)
    assert [m.data["n"] for m in claimed] == [1, 2] and all(m.attempts == 1 for m in claimed)
    assert queue.claim("A", now=10, limit=10, fifo=False) == []  # in flight
    queue.ack(claimed[0].id)
    queue.retry_later(claimed[1].id, "boom", visible_at=100)
    assert queue.claim("A", now=50, limit=10, fifo=False) == []
    assert queue.next_visible_at("A") == 100
    [again] = queue.claim("A", now=100, limit=10, fifo=False)
    assert again.attempts == 2 and again.last_error == "boom"
    queue.dead_letter(again.id, "gave up")
    [dead] = queue.list(status="dead")
    assert dead.last_error == "gave up"
    assert queue.redrive(dead.id, now=200)
    [back] = queue.claim("A", now=200, limit=10, fifo=False)
    assert back.attempts == 1


def test_queue_fifo_runs_one_message_per_group_in_order(queue: QueueStore) -> None:
    queue.enqueue([_message("F", n, group="x" if n % 2 else "y") for n in range(1, 7)], now=0)
    first = queue.claim("F", now=1, limit=10, fifo=True)
    assert sorted(m.data["n"] for m in first) == [1, 2]  # the head of each group only
    assert queue.claim("F", now=1, limit=10, fifo=True) == []
    queue.retry_later(first[0].id, "later", visible_at=50)  # group x's head waits for its retry
    queue.ack(first[1].id)
    assert [m.data["n"] for m in queue.claim("F", now=1, limit=10, fifo=True)] == [4]
    assert [m.data["n"] for m in queue.claim("F", now=60, limit=10, fifo=True)] == [1]


def test_queue_recovers_messages_left_in_flight(queue: QueueStore) -> None:
    queue.enqueue([_message("A", 1)], now=0)
    queue.claim("A", now=0, limit=1, fifo=False)
    assert queue.recover_inflight() == 1
    assert [m.attempts for m in queue.claim("A", now=0, limit=1, fifo=False)] == [2]
