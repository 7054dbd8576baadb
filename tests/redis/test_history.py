"""Durable history and item TTLs with Redis behind ``motia dev``, over real sockets: sent events
outlive a worker's restart (they are kept in Redis), and an expired item's delete is pushed once
to a client even with two workers sweeping the same Redis."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from motia_runtime.adapters.redis import RedisStreamError, RedisStreamStore
from motia_runtime.ports.streams import HistoryPolicy
from tests.local.conftest import APP
from tests.support.dev_server import DevServer
from tests.support.ws import StreamSocket

from .server import RedisServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


def _kind(frame: dict[str, Any]) -> str:
    event = frame["event"]
    return event["type"] if event["type"] != "event" else event["event"]["type"]


def _items(server: DevServer, group: str, id: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{server.url}/items/{group}/{id}", json=body, timeout=10)


async def _join(server: DevServer, group: str, **extra: Any) -> list[dict[str, Any]]:
    ws = await StreamSocket.connect(server.ws_url)
    data = {"streamName": "items", "groupId": group, "subscriptionId": "s1", **extra}
    await ws.conn.send(json.dumps({"type": "join", "data": data}))
    frames = await ws.recv_until(lambda f: _kind(f) in ("sync", "error"))
    await ws.close()
    return frames


async def test_sent_events_outlive_a_worker_restart(redis: RedisServer, tmp_path: Path) -> None:
    env = {"MOTIA_REDIS_URL": redis.url}
    group = f"g-{uuid.uuid4().hex[:8]}"
    server = DevServer(APP, tmp_path / "a", env=env).start()
    try:
        since = (await _join(server, group))[-1]["timestamp"]
        for n in (1, 2):
            assert _items(server, group, "a", {"op": "send", "event": {"type": "tick", "data": {"n": n}}}).is_success
    finally:
        server.stop()
    # A fresh data dir: nothing of the first process is on disk, only in Redis.
    restarted = DevServer(APP, tmp_path / "b", env=env).start()
    try:
        frames = await _join(restarted, group, since=since)
        assert [_kind(f) for f in frames] == ["tick", "tick", "sync"]
        assert [f["event"]["event"]["data"]["n"] for f in frames[:2]] == [1, 2]
        events = _items(restarted, group, "a", {"op": "history", "since": since}).json()["events"]
        assert [e["data"]["n"] for e in events] == [1, 2]
        stale = await _join(restarted, group, since=since - 300_001)
        assert [_kind(f) for f in stale] == ["resync", "sync"]
    finally:
        restarted.stop()


async def test_an_expired_item_is_deleted_once_with_two_workers_sweeping(redis: RedisServer, tmp_path: Path) -> None:
    env = {"MOTIA_REDIS_URL": redis.url}
    data_dir = tmp_path / "shared"
    a = DevServer(APP, data_dir, env=env).start()
    b = DevServer(APP, data_dir, env=env).start()
    group = f"g-{uuid.uuid4().hex[:8]}"
    try:
        ws = await StreamSocket.connect(a.ws_url)
        await ws.join("items", group)
        await ws.recv_until(lambda f: _kind(f) == "sync")
        assert _items(b, group, "brief", {"op": "set", "data": {"label": "goes"}, "ttl": 1}).is_success
        assert _items(b, group, "kept", {"op": "set", "data": {"label": "stays"}}).is_success
        frames = await ws.recv_until(lambda f: f["event"]["type"] == "delete", timeout=10)
        await asyncio.sleep(1.5)  # both workers sweep twice more meanwhile
        frames += await ws.drain()
        await ws.close()
        assert [(f["event"]["type"], f["id"]) for f in frames] == [
            ("create", "brief"), ("create", "kept"), ("delete", "brief")]
        for server in (a, b):
            seen = _items(server, group, "brief", {"op": "get"}).json()
            assert seen["item"] is None and [i["id"] for i in seen["group"]] == ["kept"]
        # Read before any sweep could remove it: get and list_groups leave an expired item out.
        # (A 1 s TTL leaves room for the two requests on a loaded machine: at 0.3 s the item sometimes
        # expired before the first listing.)
        lone, ttl = f"g-{uuid.uuid4().hex[:8]}", 1.0
        _items(a, lone, "x", {"op": "set", "data": {"label": "short"}, "ttl": ttl})
        written = time.monotonic()  # the server set the expiry before it answered
        assert lone in _items(a, lone, "x", {"op": "groups"}).json()["groups"]
        await asyncio.sleep(max(0.0, written + ttl + 0.05 - time.monotonic()))
        assert _items(b, lone, "x", {"op": "get"}).json()["item"] is None
        assert lone not in _items(b, lone, "x", {"op": "groups"}).json()["groups"]
    finally:
        a.stop()
        b.stop()


async def test_history_lost_with_a_restart_without_persistence_is_a_resync_not_an_empty_replay(
        start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis(persist=False)
    store = RedisStreamStore(server.url)
    store.set_history_policy("items", HistoryPolicy(60))
    await store.astart()
    before = await store.send("items", "g", None, {"type": "tick", "data": {"n": 1}})
    assert [c.event_id for c in await store.history("items", "g", before.timestamp - 1) or []] == [before.event_id]
    server.stop()
    server.start()  # empty: the event and the history's start are gone
    assert await _history_once_reconnected(store, before.timestamp - 1) is None  # resync: it was []
    after = await store.send("items", "g", None, {"type": "tick", "data": {"n": 2}})
    # History starts again from the loss: a client that saw the first event but not this one gets it.
    assert [c.event_id for c in await store.history("items", "g", after.timestamp - 1) or []] == [after.event_id]
    await store.aclose()


async def _history_once_reconnected(store: RedisStreamStore, since: int) -> Any:
    # A pooled connection from before the restart fails its next command (commands are not
    # retried: _connection.make_client), and is replaced for the one after.
    for _ in range(20):
        try:
            return await store.history("items", "g", since)
        except RedisStreamError:
            await asyncio.sleep(0.1)
    raise AssertionError("Redis did not come back")
