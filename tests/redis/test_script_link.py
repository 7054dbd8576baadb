"""The stream store's scripts on their own pipelined connection (adapters/redis/_link.py), against a
real redis-server: each call gets its own reply however calls interleave, give up or time out; a
server that forgot the scripts, a database in the URL, a password, all as through redis-py."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable

import pytest
import redis.asyncio

from motia_runtime.adapters.redis import RedisStreamError, RedisStreamStore

from .server import RedisServer


async def test_a_server_that_forgot_the_scripts_still_runs_them(redis_server: RedisServer, prefix: str) -> None:
    store = RedisStreamStore(redis_server.url, prefix=prefix)
    first = await store.set("notes", "g", "a", {"v": 1})
    admin = redis.asyncio.Redis.from_url(redis_server.url)
    await admin.script_flush()  # as after a restart without persistence: EVALSHA answers NOSCRIPT
    second = await store.set("notes", "g", "a", {"v": 2})
    assert (second.type, second.version, second.data["v"]) == ("update", first.version + 1, 2)
    assert await store.get("notes", "g", "a") == second.data
    assert await admin.script_exists(store._write_script.sha) == [True]  # the EVAL loaded it again
    await admin.aclose()
    await store.aclose()


async def test_the_database_in_the_url_is_the_one_written(redis_server: RedisServer, prefix: str) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/3"
    store = RedisStreamStore(url, prefix=prefix)
    await store.set("notes", "g", "a", {"v": 1})
    key = store.keys.stream_group("notes", "g")
    db3, db0 = redis.asyncio.Redis.from_url(url), redis.asyncio.Redis.from_url(redis_server.url)
    assert await db3.hexists(key, "a") and not await db0.exists(key)
    assert (await store.get("notes", "g", "a") or {})["v"] == 1
    await db3.aclose()
    await db0.aclose()
    await store.aclose()


async def test_a_wrong_password_fails_the_write_naming_the_server_not_the_password(
        start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis(password="s3cret-pw")
    store = RedisStreamStore(server.url)
    assert (await store.set("notes", "g", "a", {"v": 1})).data["v"] == 1
    await store.aclose()
    wrong = RedisStreamStore(server.url.replace("s3cret-pw", "not-it"))
    with pytest.raises(RedisStreamError, match=r"stream notes/g/a: Redis at redis://:\*\*\*@127\.0\.0\.1:\d+/0 "
                                                 r"failed: .*(WRONGPASS|invalid)") as err:
        await wrong.set("notes", "g", "a", {"v": 2})
    assert "not-it" not in str(err.value)
    await wrong.aclose()


async def test_concurrent_writes_share_the_link_and_each_gets_its_own_reply(redis_server: RedisServer,
                                                                           prefix: str) -> None:
    store = RedisStreamStore(redis_server.url, prefix=prefix)
    made = await asyncio.gather(*(store.set("notes", "g", f"n{i}", {"i": i, "pad": "x" * (i * 131)})
                                  for i in range(300)))
    assert [(c.id, c.data["i"]) for c in made] == [(f"n{i}", i) for i in range(300)]
    assert len({c.timestamp for c in made}) == 300
    admin = redis.asyncio.Redis.from_url(redis_server.url)
    names = [c["name"] for c in await admin.client_list() if "evalsha" in c.get("cmd", "")]
    assert len(names) == 1  # one connection carried all 300 scripts
    await admin.aclose()
    await store.aclose()


async def test_a_stalled_server_times_the_call_out_and_a_late_reply_never_answers_a_later_call(
        start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis()
    store = RedisStreamStore(server.url)
    store.scripts.timeout_s = 0.5
    await store.set("notes", "g", "a", {"v": 1})
    stalled = store.scripts._link
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(RedisStreamError, match=r"stream notes/g/a: Redis at .* failed: .*[Tt]imeout"):
            await store.set("notes", "g", "a", {"v": 2})
        assert 0.4 < time.monotonic() - started < 2
        assert stalled is not None and stalled.broken is not None  # dropped: later calls do not queue behind it
        # A caller that gives up (its step cancelled) while the server is stalled.
        pending = asyncio.ensure_future(store.set("notes", "g", "b", {"v": 1}))
        await asyncio.sleep(0.1)
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    store.scripts.timeout_s = 5
    # The stalled commands now run on the server; their replies must not answer these calls.
    c = await store.set("notes", "g", "c", {"v": 3})
    d = await store.set("notes", "g", "d", {"v": 4})
    assert (c.id, c.data["v"], d.id, d.data["v"]) == ("c", 3, "d", 4)
    assert (await store.get("notes", "g", "a") or {})["v"] == 2  # the timed-out write did land, once
    await store.aclose()


async def test_a_call_given_up_on_leaves_the_link_in_step(redis_server: RedisServer, prefix: str) -> None:
    store = RedisStreamStore(redis_server.url, prefix=prefix)
    await store.set("notes", "g", "warm", {"v": 0})
    link = store.scripts._link
    for i in range(20):  # cancelled at once: the command is sent, its reply comes after
        task = asyncio.ensure_future(store.set("notes", "g", f"gone{i}", {"v": i}))
        await asyncio.sleep(0)
        task.cancel()
    kept = await asyncio.gather(*(store.set("notes", "g", f"k{i}", {"v": i}) for i in range(20)))
    assert [(c.id, c.data["v"]) for c in kept] == [(f"k{i}", i) for i in range(20)]
    assert store.scripts._link is link and link is not None and link.broken is None  # the same connection
    await store.aclose()
