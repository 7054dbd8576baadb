"""The SQLite stream store's set() write: it remembers each item's creation stamp and version to
write without RETURNING (bench/optimisations.md, S2); whatever changed the row since (another
connection's write, a delete and re-create, an expiry) must still give the right version,
creation stamp and change type."""

from __future__ import annotations

from pathlib import Path

import pydantic_core
import pytest

from motia_runtime.adapters.sqlite import Database, SQLiteStreamStore
from motia_runtime.ports.streams import StreamChange, now_ms


@pytest.fixture
def stores(tmp_path: Path) -> list[SQLiteStreamStore]:
    """Two stores on one database file, each with its own connection."""
    return [SQLiteStreamStore(Database(tmp_path / "motia.db")) for _ in range(2)]


async def _set(store: SQLiteStreamStore, n: int) -> StreamChange:
    data = {"n": n}
    change = await store.set_json("items", "g", "i", data, pydantic_core.to_json(data))
    # Committed now, as a step's writes are when its handler returns: the writes commit in groups
    # per loop turn (Database.join_group), and the other connection waits for the lock otherwise.
    store.settle()
    return change


def _row(store: SQLiteStreamStore) -> tuple[str, int, int]:
    row = store.db.conn.execute("SELECT data, created_at, version FROM stream_items WHERE id='i'").fetchone()
    return row[0], row[1], row[2]


async def test_writes_over_a_known_item_count_versions_from_the_row(stores: list[SQLiteStreamStore]) -> None:
    ours, _ = stores
    first, second, third = await _set(ours, 1), await _set(ours, 2), await _set(ours, 3)
    assert [(c.type, c.version) for c in (first, second, third)] == [("create", 1), ("update", 2), ("update", 3)]
    assert third.data == {"n": 3, "id": "i", "_createdAt": first.timestamp}
    assert _row(ours) == ('{"n":3}', first.timestamp, 3)


async def test_another_connections_write_in_between_is_counted(stores: list[SQLiteStreamStore]) -> None:
    ours, other = stores
    created = await _set(ours, 1)
    other.clock.advance_to(created.timestamp)
    await _set(other, 2)  # version 2, unknown to ours
    mine = await _set(ours, 3)
    assert (mine.type, mine.version, mine.data["_createdAt"]) == ("update", 3, created.timestamp)
    assert _row(other) == ('{"n":3}', created.timestamp, 3)


async def test_a_delete_and_re_create_elsewhere_is_not_taken_for_the_known_item(
        stores: list[SQLiteStreamStore]) -> None:
    ours, other = stores
    await _set(ours, 1)  # ours knows (created, 1)
    await other.delete("items", "g", "i")
    other.settle()
    other.clock.advance_to(ours.clock.last)
    again = await _set(other, 2)  # a new item: version 1 again, a later creation stamp
    mine = await _set(ours, 3)
    assert (mine.type, mine.version, mine.data["_createdAt"]) == ("update", 2, again.timestamp)
    assert _row(ours) == ('{"n":3}', again.timestamp, 2)


async def test_an_expired_known_item_is_written_over_as_a_new_one(stores: list[SQLiteStreamStore]) -> None:
    ours, _ = stores
    await ours.set_expiring("items", "g", "i", {"n": 1}, now_ms() - 1)  # already due, not swept yet
    fresh = await _set(ours, 2)
    assert (fresh.type, fresh.version, fresh.data["_createdAt"]) == ("create", 1, fresh.timestamp)
    assert await ours.get("items", "g", "i") == {"n": 2, "id": "i", "_createdAt": fresh.timestamp}
