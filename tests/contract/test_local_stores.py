"""The store contract suites against the in-process stores: memory and SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from motia_runtime.adapters.memory import MemoryStateStore, MemoryStreamStore
from motia_runtime.adapters.sqlite import Database, SQLiteStateStore, SQLiteStreamStore
from motia_runtime.testing.store_contract import StateStoreContract, StreamStoreContract


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "motia.db")
    yield database
    database.close()


class TestMemoryStreamStore(StreamStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStreamStore:
        return MemoryStreamStore()


class TestSQLiteStreamStore(StreamStoreContract):
    @pytest.fixture
    def store(self, db: Database) -> SQLiteStreamStore:
        return SQLiteStreamStore(db)


class TestMemoryStateStore(StateStoreContract):
    @pytest.fixture
    def store(self) -> MemoryStateStore:
        return MemoryStateStore()


class TestSQLiteStateStore(StateStoreContract):
    @pytest.fixture
    def store(self, db: Database) -> SQLiteStateStore:
        return SQLiteStateStore(db)


async def test_sqlite_stamps_keep_increasing_across_a_restart(tmp_path: Path) -> None:
    # The clock starts from the highest stored stamp, so a restart with the wall clock set
    # back still stamps above what clients have seen.
    first = Database(tmp_path / "motia.db")
    store = SQLiteStreamStore(first)
    store.clock.advance_to(store.clock.tick() + 60_000)
    before = await store.set("s", "g", "a", {"v": 1})
    first.close()
    second = Database(tmp_path / "motia.db")
    after = await SQLiteStreamStore(second).set("s", "g", "a", {"v": 2})
    second.close()
    assert after.timestamp > before.timestamp and after.version == 2
