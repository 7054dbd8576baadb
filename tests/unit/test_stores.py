"""Contract tests every QueueStore passes (memory and SQLite here). The StreamStore and StateStore
contracts are in tests/contract (motia_runtime.testing.store_contract)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from motia_runtime.adapters.memory import MemoryQueueStore
from motia_runtime.adapters.sqlite import Database, SQLiteQueueStore
from motia_runtime.ports.queue import NewMessage, QueueStore


@pytest.fixture(params=["memory", "sqlite"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database | None]:
    if request.param == "memory":
        yield None
        return
    database = Database(tmp_path / "motia.db")
    yield database
    database.close()


@pytest.fixture
def queue(db: Database | None) -> QueueStore:
    return MemoryQueueStore() if db is None else SQLiteQueueStore(db)


def _message(step: str, n: int, group: str | None = None, visible_at: int = 0) -> NewMessage:
    return NewMessage(step, "topic", {"n": n}, "T-1", group, visible_at, f"e{n}")


def test_queue_counts_every_message_and_lists_page_after_an_id(queue: QueueStore) -> None:
    # More than the default counts() reads in one page (1,000), and than a listing's 200.
    queue.enqueue([_message("A", n) for n in range(2300)] + [_message("B", n) for n in range(5)], now=0)
    for m in queue.claim("A", now=1, limit=7, fifo=False)[:3]:
        queue.dead_letter(m.id, "boom")
    assert queue.counts() == {"A": {"ready": 2293, "inflight": 4, "dead": 3}, "B": {"ready": 5}}
    page = queue.list(step="A", limit=200)
    rest = queue.list(step="A", limit=5000, after=page[-1].id)
    assert len(page) == 200 and len(rest) == 2100 and rest[0].id > page[-1].id
    assert [m.id for m in page + rest] == sorted({m.id for m in page + rest})


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


def test_queue_fifo_next_visible_counts_only_the_heads_of_groups(queue: QueueStore) -> None:
    # A message behind its group's head cannot be claimed before the head ends (whose end wakes
    # the worker): were it counted, the worker would poll every millisecond meanwhile.
    queue.enqueue([_message("F", 1, group="x"), _message("F", 2, group="x")], now=0)
    [head] = queue.claim("F", now=1, limit=10, fifo=True)
    assert queue.next_visible_at("F", fifo=True) is None  # only message 2 is ready, behind the head
    assert queue.next_visible_at("F") == 0  # a standard queue could take it now
    queue.retry_later(head.id, "later", visible_at=500)
    assert queue.next_visible_at("F", fifo=True) == 500  # the head's retry, not message 2
    queue.dead_letter(head.id, "gave up")
    assert queue.next_visible_at("F", fifo=True) == 0  # message 2 leads its group now


def test_a_redriven_fifo_message_goes_to_its_groups_tail_and_never_beside_one_in_flight(queue: QueueStore) -> None:
    queue.enqueue([_message("F", n, group="x") for n in (1, 2, 3)], now=0)
    [first] = queue.claim("F", now=1, limit=10, fifo=True)
    queue.dead_letter(first.id, "poison")
    [second] = queue.claim("F", now=1, limit=10, fifo=True)
    assert queue.redrive(first.id, now=2)
    assert queue.claim("F", now=3, limit=10, fifo=True) == []  # message 2 is in flight: its group waits
    queue.ack(second.id)
    assert [m.data["n"] for m in queue.claim("F", now=3, limit=10, fifo=True)] == [3]  # 3 was queued before
    [third] = queue.list(status="inflight")
    queue.ack(third.id)
    [again] = queue.claim("F", now=3, limit=10, fifo=True)
    assert (again.data["n"], again.attempts, again.last_error) == (1, 1, "poison")
    assert not queue.redrive(first.id, now=4)  # gone from the dead letters


def test_queue_recovers_messages_left_in_flight(queue: QueueStore) -> None:
    queue.enqueue([_message("A", 1)], now=0)
    queue.claim("A", now=0, limit=1, fifo=False)
    assert queue.recover_inflight() == 1
    assert [m.attempts for m in queue.claim("A", now=0, limit=1, fifo=False)] == [2]


def test_queue_acks_many_at_once(queue: QueueStore) -> None:
    queue.enqueue([_message("A", n) for n in range(1, 6)], now=0)
    claimed = queue.claim("A", now=1, limit=10, fifo=False)
    queue.ack_many([m.id for m in claimed[:4]])
    assert [m.data["n"] for m in queue.list()] == [5]
    queue.ack_many([])
    assert [m.data["n"] for m in queue.list()] == [5]
