"""Stream item writes commit in groups, one per loop turn (``Database.join_group``): what another
connection (another process: ``motia`` commands, a second reader) sees, and when."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pydantic_core
import pytest

from motia_runtime.adapters.sqlite import Database, SQLiteStreamStore


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "motia.db")
    yield database
    database.close()


@pytest.fixture
def reader(db: Database) -> Iterator[sqlite3.Connection]:
    """Another connection to the file, as another process would read it."""
    conn = sqlite3.connect(db.path, isolation_level=None, timeout=0.1)
    yield conn
    conn.close()


def _count(conn: sqlite3.Connection) -> int:
    (n,) = conn.execute("SELECT COUNT(*) FROM stream_items").fetchone()
    return int(n)


async def _set(store: SQLiteStreamStore, group: str, n: int) -> None:
    data = {"n": n}
    await store.set_json("items", group, "item", data, pydantic_core.to_json(data))


async def test_a_loop_of_writes_commits_at_the_next_turn_and_reads_its_own_writes(
        db: Database, reader: sqlite3.Connection) -> None:
    store = SQLiteStreamStore(db)
    for i in range(50):
        await _set(store, f"g{i}", i)
    assert await store.get("items", "g49", "item") is not None  # its own connection: at once
    assert _count(reader) == 0  # the group is still open: the loop has not turned
    changes = db.conn.total_changes
    await asyncio.sleep(0)
    assert _count(reader) == 50
    assert db.conn.total_changes == changes  # one COMMIT, no write of its own
    assert not db.conn.in_transaction


async def test_settle_commits_before_an_answer_goes_out(db: Database, reader: sqlite3.Connection) -> None:
    store = SQLiteStreamStore(db)
    await _set(store, "g", 1)
    store.settle()
    assert _count(reader) == 1
    store.settle()  # nothing open: a no-op
    await _set(store, "g", 2)  # a new group after a settle
    await asyncio.sleep(0)
    assert reader.execute("SELECT data FROM stream_items").fetchone() == ('{"n":2}',)


async def test_a_transaction_commits_the_group_first_and_stays_its_own(
        db: Database, reader: sqlite3.Connection) -> None:
    store = SQLiteStreamStore(db)
    await _set(store, "g", 1)
    with pytest.raises(RuntimeError), db.transaction() as conn:  # the bus's claim or ack, failing
        assert _count(reader) == 1  # the group went in before the transaction began
        conn.execute("INSERT INTO meta VALUES ('x', 1)")
        raise RuntimeError("rolled back")
    assert _count(reader) == 1  # the rollback took only the transaction's own write
    assert db.conn.execute("SELECT COUNT(*) FROM meta WHERE key='x'").fetchone() == (0,)


def _write_in_a_loops_last_turn(store: SQLiteStreamStore, group: str) -> None:
    async def write_as_the_loop_stops() -> None:
        asyncio.get_running_loop().stop()  # this turn is its last: the group's commit never runs
        await _set(store, group, 1)

    loop = asyncio.new_event_loop()
    loop.run_until_complete(write_as_the_loop_stops())
    loop.close()


def test_a_group_left_by_an_ended_loop_is_committed_by_the_next_write_and_at_close(tmp_path: Path) -> None:
    db = Database(tmp_path / "motia.db")
    store = SQLiteStreamStore(db)
    _write_in_a_loops_last_turn(store, "a")
    assert db.conn.in_transaction
    reader = sqlite3.connect(db.path, isolation_level=None, timeout=0.1)
    try:
        _write_in_a_loops_last_turn(store, "b")  # another loop: the old group commits, a new one opens
        assert reader.execute("SELECT grp FROM stream_items").fetchall() == [("a",)]
        db.close()
        assert sorted(reader.execute("SELECT grp FROM stream_items").fetchall()) == [("a",), ("b",)]
    finally:
        reader.close()


async def test_a_failed_write_in_a_group_loses_nothing_else(db: Database, reader: sqlite3.Connection) -> None:
    store = SQLiteStreamStore(db)
    await _set(store, "g", 1)
    with pytest.raises(sqlite3.IntegrityError):
        db.conn.execute("INSERT INTO meta VALUES ('stream_history_from', 1)")  # a duplicate key
    await _set(store, "h", 2)
    await asyncio.sleep(0)
    assert _count(reader) == 2


async def test_a_group_that_fails_to_commit_is_rolled_back_and_later_writes_still_commit(
        db: Database, reader: sqlite3.Connection) -> None:
    store = SQLiteStreamStore(db)
    db.conn.execute("PRAGMA foreign_keys=ON")
    db.conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    db.conn.execute("CREATE TABLE child (pid INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    await _set(store, "lost", 1)
    db.conn.execute("INSERT INTO child VALUES (7)")  # checked only at COMMIT: the group cannot commit
    with pytest.raises(sqlite3.IntegrityError):
        db.commit_group()
    assert not db.conn.in_transaction
    await _set(store, "kept", 2)
    await asyncio.sleep(0)
    assert reader.execute("SELECT grp FROM stream_items").fetchall() == [("kept",)]


async def test_an_api_steps_writes_are_committed_before_its_response(tmp_path: Path) -> None:
    from motia_runtime.dispatch import run_api
    from motia_runtime.hosts.local.app import DevSettings, LocalHost
    from tests.local.conftest import APP

    host = LocalHost.open(DevSettings(APP, tmp_path / "data"))
    reader = sqlite3.connect(host.db.path, isolation_level=None, timeout=0.1)
    try:
        step = host.runtime.project.steps["ItemsApi"]
        request = {"pathParams": {"group": "g", "id": "kept"}, "queryParams": {}, "headers": {},
                   "body": {"op": "set", "data": {"label": "answered", "n": 1}}, "rawBody": ""}
        response = await run_api(host.runtime, step, request)  # type: ignore[arg-type]
        assert response.status == 200
        # No turn of the loop since the handler's set(): the response may go out now, so the write
        # must already be in the file another process reads.
        assert reader.execute("SELECT id FROM stream_items WHERE grp='g'").fetchall() == [("kept",)]
    finally:
        reader.close()
        await host.runtime.aclose()
        host.db.close()
