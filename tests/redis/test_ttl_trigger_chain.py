"""``set(..., ttl=)`` on a watched item is one atomic write carrying the expiry, on a real Redis:
under concurrent writers each stream trigger gets the item its write replaced
(tests/support/ttl_chain.py; the other stores: tests/contract/test_ttl_trigger_chain.py); and the
sweep hands an expired item's ``delete`` to its triggers, once."""

from __future__ import annotations

from pathlib import Path

from motia_runtime.adapters.redis import RedisStreamStore
from tests.support.ttl_chain import check_expiry_runs_triggers, check_ttl_writes_chain, write_project

from .server import RedisServer


async def test_redis(tmp_path: Path, redis_server: RedisServer, prefix: str) -> None:
    store = RedisStreamStore(redis_server.url, prefix=prefix)
    await store.astart()  # the runtime's aclose closes it
    await check_ttl_writes_chain(write_project(tmp_path / "app"), store)


async def test_redis_expiry_runs_triggers(tmp_path: Path, redis_server: RedisServer, prefix: str) -> None:
    store = RedisStreamStore(redis_server.url, prefix=prefix)
    await check_expiry_runs_triggers(write_project(tmp_path / "app"), store)  # it starts and closes the store
