"""The change feed's own connection (adapters/redis/_feed.py) against a real redis-server: changes
of any size arrive whole and in order, however the socket splits them; credentials in the URL are
used, and a wrong password is a clear error naming the server (password masked)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from motia_runtime.adapters.redis import RedisStreamError, RedisStreamStore
from motia_runtime.ports.streams import StreamChange

from .server import RedisServer


async def _until(seen: list[StreamChange], count: int, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.02)):
        if len(seen) >= count:
            return
        await asyncio.sleep(0.02)


async def test_large_and_back_to_back_changes_arrive_whole_and_in_order(redis_server: RedisServer,
                                                                      prefix: str) -> None:
    writer = RedisStreamStore(redis_server.url, prefix=prefix)  # another worker's writes
    reader = RedisStreamStore(redis_server.url, prefix=prefix)
    seen: list[StreamChange] = []
    reader.add_listener(seen.append)
    await reader.astart()
    big = "é" * 300_000  # ~600 KB of UTF-8: many socket reads, a multi-byte character split between two
    made = [await writer.set("notes", "g", "big", {"text": big})]
    for batch in range(6):  # 50 at a time: the client's pool holds 100 connections at most
        made += await asyncio.gather(*(writer.set("notes", "g", f"n{i}", {"i": i, "s": "x" * (i * 97)})
                                       for i in range(batch * 50, batch * 50 + 50)))
    made.append(await writer.set("notes", "g", "big", {"text": big + "!"}))
    await _until(seen, len(made))
    await asyncio.sleep(0.2)  # nothing more comes
    assert len(seen) == len(made)
    assert sorted(seen, key=lambda c: c.timestamp) == seen  # in the order Redis applied them
    assert sorted(seen, key=lambda c: c.timestamp) == sorted(made, key=lambda c: c.timestamp)
    assert seen[-1].data["text"] == big + "!"
    await reader.aclose()
    await writer.aclose()


async def test_the_feed_authenticates_with_the_urls_password(start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis(password="s3cret-pw")
    store = RedisStreamStore(server.url)
    seen: list[StreamChange] = []
    store.add_listener(seen.append)
    await store.astart()
    change = await store.set("notes", "g", "a", {"v": 1})
    await _until(seen, 1)
    assert seen == [change]
    await store.aclose()

    wrong = RedisStreamStore(server.url.replace("s3cret-pw", "not-it"))
    with pytest.raises(RedisStreamError, match=r"cannot subscribe to stream changes on Redis at "
                                                 r"redis://:\*\*\*@127\.0\.0\.1:\d+/0: .*(WRONGPASS|invalid)") as err:
        await wrong.astart()
    assert "not-it" not in str(err.value)
    await wrong.aclose()


async def test_apps_on_different_databases_of_one_server_do_not_hear_each_others_changes(
        redis_server: RedisServer, prefix: str) -> None:
    # Pub/sub ignores the database: without the number in the channel, app B's clients got app A's items.
    base = redis_server.url.rsplit("/", 1)[0]
    app_a = RedisStreamStore(f"{base}/1", prefix=prefix)
    app_b = RedisStreamStore(f"{base}/2", prefix=prefix)
    app_c = RedisStreamStore(f"{base}/0", prefix=prefix)
    other_a = RedisStreamStore(f"{base}/1", prefix=prefix)  # app A's other worker still hears it
    heard_b: list[StreamChange] = []  # what apps B (database 2) and C (database 0) heard
    heard_a: list[StreamChange] = []
    app_b.add_listener(heard_b.append)
    app_c.add_listener(heard_b.append)
    other_a.add_listener(heard_a.append)
    for store in (app_a, app_b, app_c, other_a):
        await store.astart()
    made = await app_a.set("todos", "g", "x", {"secret": "app A's"})
    await app_a.send("todos", "g", None, {"type": "ping", "data": {}})
    await _until(heard_a, 2)
    assert heard_a[0] == made and len(heard_a) == 2
    await asyncio.sleep(0.2)
    assert heard_b == []
    assert await app_b.get("todos", "g", "x") is None
    for store in (app_a, app_b, app_c, other_a):
        await store.aclose()
