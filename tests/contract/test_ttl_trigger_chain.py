"""``set(..., ttl=)`` on a watched item is one atomic write that carries the expiry: under
concurrent writers each stream trigger gets the item its write replaced (tests/support/ttl_chain.py),
on the memory, SQLite and DynamoDB (moto) stores; Redis: tests/redis/test_ttl_trigger_chain.py.
And the memory and SQLite stores' sweepers hand an expired item's ``delete`` to its triggers
(DynamoDB's TTL deletion: tests/aws/test_cloud_triggers.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from motia_runtime.adapters.aws import DynamoDBStreamStore
from motia_runtime.adapters.memory import MemoryStreamStore
from motia_runtime.adapters.sqlite import Database, SQLiteStreamStore
from motia_runtime.testing.resources import Resources
from tests.aws.conftest import aws, ddb, resources  # noqa: F401 - the moto fixtures
from tests.contract.test_dynamodb_stores import AtomicCalls, atomic_ddb  # noqa: F401
from tests.support.ttl_chain import check_expiry_runs_triggers, check_ttl_writes_chain, write_project


async def test_memory(tmp_path: Path) -> None:
    await check_ttl_writes_chain(write_project(tmp_path / "app"), MemoryStreamStore())


async def test_sqlite(tmp_path: Path) -> None:
    db = Database(tmp_path / "motia.db")
    try:
        await check_ttl_writes_chain(write_project(tmp_path / "app"), SQLiteStreamStore(db))
    finally:
        db.close()


async def test_dynamodb(tmp_path: Path, resources: Resources, atomic_ddb: Any) -> None:  # noqa: F811
    store = DynamoDBStreamStore(resources.tables["streams-table"], client=atomic_ddb)
    await check_ttl_writes_chain(write_project(tmp_path / "app"), store)


async def test_memory_expiry_runs_triggers(tmp_path: Path) -> None:
    await check_expiry_runs_triggers(write_project(tmp_path / "app"), MemoryStreamStore())


async def test_sqlite_expiry_runs_triggers(tmp_path: Path) -> None:
    db = Database(tmp_path / "motia.db")
    try:
        await check_expiry_runs_triggers(write_project(tmp_path / "app"), SQLiteStreamStore(db))
    finally:
        db.close()
