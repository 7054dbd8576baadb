"""Stream history and item TTLs in the stores a process holds (memory, SQLite): the window and
count bounds, what survives reopening the database, TTL expiry notified as a delete, and the
checks at the call (a bad ``ttl`` or ``history`` setting)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from motia_runtime import StreamConfig, ValidationError
from motia_runtime.adapters.memory import MemoryStreamStore
from motia_runtime.adapters.sqlite import Database, SQLiteStreamStore
from motia_runtime.config import parse_stream_config
from motia_runtime.errors import ConfigError
from motia_runtime.ports.streams import HistoryPolicy, StreamChange, StreamStore, now_ms
from motia_runtime.streams import Stream

SCHEMA = {"type": "object"}


def _sqlite(path: Path) -> SQLiteStreamStore:
    return SQLiteStreamStore(Database(path / "motia.db"))


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StreamStore:
    return MemoryStreamStore() if request.param == "memory" else _sqlite(tmp_path)


def test_a_bad_history_setting_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        parse_stream_config({"name": "s", "schema": SCHEMA, "history": {"window_s": -1}}, "streams/s_stream.py")
    assert "streams/s_stream.py" in str(info.value) and "history" in str(info.value)
    assert parse_stream_config({"name": "s", "schema": SCHEMA}, "f").history.max_events == 1000


@pytest.mark.parametrize("bad", [0, -1, -0.5, "10", True, float("nan"), float("inf"), 11 * 365 * 24 * 3600])
async def test_a_ttl_that_is_not_a_positive_number_is_refused_at_the_call(store: StreamStore, bad: object) -> None:
    stream = Stream(StreamConfig(name="s", schema=SCHEMA), store)
    with pytest.raises(ValidationError) as info:
        await stream.set("g", "a", {"v": 1}, ttl=bad)  # type: ignore[arg-type]
    assert info.value.errors[0]["field"] == "ttl"
    assert await stream.get("g", "a") is None


async def test_an_expired_item_is_not_read_and_is_removed_as_a_delete(store: StreamStore) -> None:
    stream = Stream(StreamConfig(name="s", schema=SCHEMA), store)
    seen: list[StreamChange] = []
    store.add_listener(seen.append)
    await stream.set("g", "brief", {"v": 1}, ttl=0.05)
    await stream.set("g", "kept", {"v": 2})
    await stream.set("g", "renewed", {"v": 3}, ttl=0.05)
    await stream.set("g", "renewed", {"v": 4})  # without a ttl: kept for good
    await stream.set("lone", "x", {"v": 5}, ttl=0.05)
    await stream.update("lone", "x", [{"type": "set", "path": "v", "value": 6}])  # keeps its TTL
    assert await stream.list_groups() == ["g", "lone"]
    await asyncio.sleep(0.08)
    assert await stream.get("g", "brief") is None
    assert [i["id"] for i in await stream.get_group("g")] == ["kept", "renewed"]
    assert await stream.list_groups() == ["g"]
    assert await store.expire_due() == 2
    deletes = [(c.group_id, c.id, c.data["v"]) for c in seen if c.type == "delete"]
    assert sorted(deletes) == [("g", "brief", 1), ("lone", "x", 6)]
    assert await store.expire_due() == 0  # each goes once
    again = await stream.set("g", "brief", {"v": 7})
    assert again["_createdAt"] > seen[0].data["_createdAt"]


async def test_an_update_of_an_item_past_its_expiry_creates_a_permanent_one(store: StreamStore) -> None:
    # The expired item is gone for the update as for a read: what it writes is a new item, with
    # no expiry of the old one's (SQLite, Redis and DynamoDB keep an expiry only of a live item).
    stream = Stream(StreamConfig(name="s", schema=SCHEMA), store)
    await stream.set("g", "a", {"v": 1}, ttl=0.05)
    await asyncio.sleep(0.08)
    item = await stream.update("g", "a", [{"type": "increment", "path": "n"}])
    assert item["n"] == 1 and "v" not in item
    await asyncio.sleep(0.08)
    assert (await stream.get("g", "a") or {}).get("n") == 1  # was gone again: the dead item's expiry


async def test_an_expired_item_written_again_before_the_sweep_is_created_anew(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    first = await store.set_expiring("s", "g", "a", {"v": 1}, now_ms() + 30)
    await asyncio.sleep(0.05)
    change = await store.set("s", "g", "a", {"v": 2})
    assert (change.type, change.version) == ("create", 1) and change.data["_createdAt"] > first.timestamp


async def test_sqlite_history_keeps_the_window_and_count_and_survives_a_reopen(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    store.set_history_policy("s", HistoryPolicy(window_s=60, max_events=3))
    start = store.clock.tick()
    sent = [await store.send("s", "g", None, {"type": "t", "data": n}) for n in range(5)]
    # Five sent, three kept: a since before the two dropped may have missed them.
    assert await store.history("s", "g", start) is None
    assert await store.history("s", "g", sent[0].timestamp) is None
    kept = await store.history("s", "g", sent[1].timestamp)
    assert kept is not None and [c.data["data"] for c in kept] == [2, 3, 4]
    assert [c.event_id for c in kept] == [c.event_id for c in sent[2:]]
    assert [c.data["data"] for c in await store.history("s", "g", None) or []] == [2, 3, 4]
    assert await store.history("s", "other", start) == []
    store.db.close()

    reopened = _sqlite(tmp_path)
    reopened.set_history_policy("s", HistoryPolicy(window_s=60, max_events=3))
    again = await reopened.history("s", "g", sent[3].timestamp)
    assert again is not None and [c.data["data"] for c in again] == [4]
    assert reopened.clock.tick() > sent[-1].timestamp  # later stamps stay above the kept ones
    reopened.set_history_policy("s", HistoryPolicy(window_s=0))
    assert await reopened.history("s", "g", sent[3].timestamp) is None  # history off: every since resyncs


async def test_sqlite_history_past_the_window_is_not_replayed_and_is_trimmed(tmp_path: Path) -> None:
    store = _sqlite(tmp_path)
    store.set_history_policy("s", HistoryPolicy(window_s=1))
    start = store.clock.tick()
    await store.send("s", "g", "a", {"type": "t", "data": 1})
    assert [c.id for c in await store.history("s", "g", start) or []] == ["a"]
    await asyncio.sleep(1.05)
    assert await store.history("s", "g", start) is None
    assert await store.history("s", "g", None) == []
    assert store.trim_history() == 1


def test_a_database_from_before_ttls_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE stream_items (stream TEXT NOT NULL, grp TEXT NOT NULL, id TEXT NOT NULL, "
                 "data TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, "
                 "version INTEGER NOT NULL, PRIMARY KEY (stream, grp, id))")
    conn.execute("INSERT INTO stream_items VALUES ('s', 'g', 'a', '{\"v\": 1}', 1, 1, 1)")
    conn.commit()
    conn.close()
    store = SQLiteStreamStore(Database(path))
    assert asyncio.run(store.get("s", "g", "a")) == {"v": 1, "id": "a", "_createdAt": 1}
