"""The store contract suites against a real Redis, and what is particular to the Redis stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis

from motia_runtime.adapters.redis import (
    RedisBackend,
    RedisStateError,
    RedisStateStore,
    RedisStoreError,
    RedisStreamError,
    RedisStreamStore,
    check_reachable,
)
from motia_runtime.adapters.redis._connection import Keys
from motia_runtime.errors import MotiaError, StateError, StreamError
from motia_runtime.testing.store_contract import SharedStreamStoreContract, StateStoreContract

from .server import RedisServer


class TestRedisStreamStore(SharedStreamStoreContract):
    @pytest.fixture
    async def store(self, redis_server: RedisServer, prefix: str) -> AsyncIterator[RedisStreamStore]:
        store = RedisStreamStore(redis_server.url, prefix=prefix)
        await store.astart()
        yield store
        await store.aclose()

    @pytest.fixture
    async def peer(self, redis_server: RedisServer, prefix: str) -> AsyncIterator[RedisStreamStore]:
        peer = RedisStreamStore(redis_server.url, prefix=prefix)  # another worker: its own connections
        await peer.astart()
        yield peer
        await peer.aclose()


class TestRedisStateStore(StateStoreContract):
    @pytest.fixture
    async def store(self, redis_server: RedisServer, prefix: str) -> AsyncIterator[RedisStateStore]:
        store = RedisStateStore(redis_server.url, prefix=prefix)
        yield store
        await store.aclose()


async def test_a_state_page_rebuilds_the_key_index_of_a_group_written_without_one(redis_server: RedisServer,
                                                                                    prefix: str) -> None:
    # Groups written before the index existed (or whose index was lost) page correctly: the
    # page script rebuilds the index from the hash's keys.
    store = RedisStateStore(redis_server.url, prefix=prefix)
    for key in ("b", "a", "c"):
        await store.set("pets", key, {"k": key})
    keys = Keys(prefix)
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert raw.zrange(keys.state_index("pets"), 0, -1) == ["a", "b", "c"]
        raw.delete(keys.state_index("pets"))
        raw.zadd(keys.state_index("pets"), {"b": 0})  # partial, as after an older worker's writes
        page = await store.page("pets", limit=2, descending=True)
        assert page.items == [("c", {"k": "c"}), ("b", {"k": "b"})] and page.next_after == "b"
        assert raw.zcard(keys.state_index("pets")) == 3
        await store.delete("pets", "c")
        assert raw.zrange(keys.state_index("pets"), 0, -1) == ["a", "b"]
        await store.clear("pets")
        assert not raw.exists(keys.state_index("pets"))
    finally:
        raw.close()
        await store.aclose()


async def test_a_group_is_one_hash_and_stamps_come_from_the_server_clock(redis_server: RedisServer,
                                                                         prefix: str) -> None:
    backend = RedisBackend(redis_server.url, prefix=prefix)
    store = backend.stream_store()
    change = await store.set("notes", "room:1", "a", {"v": 1})
    keys = Keys(prefix)
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        assert raw.hkeys(keys.stream_group("notes", "room:1")) == ["a"]
        assert keys.stream_group("notes", "room:1").endswith(":stream:notes:group:room%3A1")
        assert raw.smembers(keys.stream_groups("notes")) == {"room:1"}
        assert int(raw.get(keys.clock)) == change.timestamp
        raw.set(keys.clock, change.timestamp + 10_000)  # as if another worker's clock ran ahead
    finally:
        raw.close()
    later = await store.set("notes", "room:1", "a", {"v": 2})
    assert later.timestamp == change.timestamp + 10_001
    assert store.clock.last == later.timestamp  # the worker's own clock follows the shared one
    await backend.aclose()


async def test_the_feed_delivers_a_workers_own_writes_once(redis_server: RedisServer, prefix: str) -> None:
    store = RedisStreamStore(redis_server.url, prefix=prefix)
    seen = []
    store.add_listener(seen.append)
    await store.astart()
    change = await store.set("notes", "g", "a", {"v": 1})
    for _ in range(100):
        if seen:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)
    assert seen == [change]
    # Not in-process: it came back through pub/sub, like every other worker's. Without the feed
    # a write notifies no one (the feed may hand it on before set() returns, so order says nothing).
    await store.listener.stop()
    await store.set("notes", "g", "a", {"v": 2})
    await asyncio.sleep(0.3)
    assert seen == [change]
    await store.aclose()


async def test_unreachable_redis_fails_with_a_motia_error_naming_the_server() -> None:
    url = "redis://:hunter2@127.0.0.1:1/0"
    with pytest.raises(MotiaError, match=r"cannot reach Redis at redis://:\*\*\*@127\.0\.0\.1:1/0") as info:
        check_reachable(url)
    assert "hunter2" not in str(info.value)
    with pytest.raises(MotiaError, match=r"cannot reach Redis at redis://:\*\*\*@\[::1\]:1/0:"):  # [] kept
        check_reachable("redis://:hunter2@[::1]:1/0")
    with pytest.raises(MotiaError, match=r"at rediss://127\.0\.0\.1:1/0\?ssl_password=\*\*\*&db=0:"):
        check_reachable("rediss://127.0.0.1:1/0?ssl_password=k3y-pass&db=0")  # a TLS key's passphrase
    # redis-py ignores a path that is not a number: a typo would silently use database 0.
    for bad in ("redis://:hunter2@127.0.0.1:1/app1", "rediss://127.0.0.1:1/l"):
        with pytest.raises(MotiaError, match=r"invalid Redis URL .*: the path '/(app1|l)' is not a database number"):
            check_reachable(bad)
        with pytest.raises(RedisStoreError, match=r"is not a database number"):
            RedisStreamStore(bad)
    streams, state = RedisStreamStore(url), RedisStateStore(url)
    with pytest.raises(RedisStreamError, match=r"stream notes/g/a: Redis at redis://:\*\*\*@127\.0\.0\.1:1/0") as err:
        await streams.set("notes", "g", "a", {"v": 1})
    assert isinstance(err.value, StreamError)
    with pytest.raises(RedisStateError) as state_err:
        await state.get("g", "k")
    assert isinstance(state_err.value, StateError)
    # Starting while the server is away is not fatal (a worker replacing one that died in an
    # outage): the feed keeps trying in the background (tests/redis/test_faults.py).
    await streams.astart()
    assert not streams.listener.connected.is_set()
    await streams.aclose()
    await state.aclose()
