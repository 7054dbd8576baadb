"""Redis lost mid-run, with a real redis-server stopped and started again.

Writes fail loudly (a MotiaError naming the server) and a step's event is retried by the bus
until Redis is back; once the change listener reconnects, every WebSocket client is closed with
1012 so it rejoins and reads a fresh sync. Nothing is silently dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import websockets

from motia_runtime.adapters.redis import RedisStreamError, RedisStreamStore, listener
from motia_runtime.ports.streams import StreamChange
from tests.support.dev_server import DevServer
from tests.support.ws import StreamSocket

from .conftest import APP
from .server import RedisServer

pytestmark = pytest.mark.slow


async def _eventually(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check() if asyncio.iscoroutinefunction(check) else check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.05)


async def test_the_store_fails_loudly_while_redis_is_down_and_resyncs_when_it_is_back(
        start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis(persist=True)
    store, peer = RedisStreamStore(server.url), RedisStreamStore(server.url)
    seen: list[StreamChange] = []
    resyncs: list[bool] = []
    store.add_listener(seen.append)
    store.add_resync_listener(lambda: resyncs.append(True))
    await store.astart()
    before = await store.set("notes", "g", "a", {"v": 1})
    assert await _eventually(lambda: seen == [before])

    server.stop()
    with pytest.raises(RedisStreamError, match=rf"stream notes/g/a: Redis at {server.url} failed"):
        await store.set("notes", "g", "a", {"v": 2})
    with pytest.raises(RedisStreamError):
        await store.get_group("notes", "g")
    assert resyncs == []  # nothing to resync from until Redis is back

    server.start()
    assert await _eventually(lambda: resyncs == [True]), "the listener did not come back"
    assert store.listener.reconnections == 1
    assert await store.get("notes", "g", "a") == before.data  # the server kept its data
    after = await peer.set("notes", "g", "a", {"v": 3})  # another worker's write reaches us again
    assert await _eventually(lambda: seen[-1:] == [after])
    assert after.timestamp > before.timestamp
    await store.aclose()
    await peer.aclose()


async def test_a_silent_dead_link_is_noticed_by_ping_and_resynced(start_redis: Callable[..., RedisServer],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listener, "PING_AFTER_IDLE_S", 0.2)
    monkeypatch.setattr(listener, "DEAD_AFTER_S", 0.8)
    monkeypatch.setattr(listener, "SUBSCRIBE_TIMEOUT_S", 0.5)
    server = start_redis()
    store = RedisStreamStore(server.url)
    resyncs: list[bool] = []
    store.add_resync_listener(lambda: resyncs.append(True))
    await store.astart()
    await asyncio.sleep(1.2)  # idle, but the server answers PINGs: the listener stays up
    assert store.listener.reconnections == 0 and store.listener.connected.is_set()
    assert server.proc is not None
    server.proc.send_signal(signal.SIGSTOP)  # the socket stays open; nothing answers any more
    try:
        assert await _eventually(lambda: not store.listener.connected.is_set(), timeout=5)
    finally:
        server.proc.send_signal(signal.SIGCONT)
    assert await _eventually(lambda: resyncs == [True], timeout=10)
    await store.aclose()


async def _post(server: DevServer, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        return await client.post(path, json=body)


async def test_motia_dev_survives_losing_redis_and_its_clients_resync(
        start_redis: Callable[..., RedisServer], tmp_path: Any) -> None:
    redis = start_redis(persist=True)
    dev = DevServer(APP, tmp_path / "data", env={"MOTIA_REDIS_URL": redis.url}).start()
    group = f"g-{uuid.uuid4().hex[:8]}"
    try:
        ws = await StreamSocket.connect(dev.ws_url)
        await ws.join("notes", group)
        await ws.recv_until(lambda f: f["event"]["type"] == "sync")
        assert (await _post(dev, f"/notes/{group}/kept", {"op": "set", "data": {"v": 1}})).status_code == 200
        await ws.recv_until(lambda f: f["event"]["type"] == "create")

        redis.stop()
        # An API step's write fails loudly: the step gets the error, the caller a 500.
        failed = await _post(dev, f"/notes/{group}/lost", {"op": "set", "data": {"v": 2}})
        assert failed.status_code == 500
        assert await _eventually(lambda: f"stream notes/{group}/lost: Redis at {redis.url} failed" in dev.logs())
        # An event step's write fails too, and the bus retries the event (every 200 ms here).
        assert (await _post(dev, f"/jobs/{group}", {"count": 2})).status_code == 200
        assert await _eventually(lambda: dev.logs().count("retrying in 200 ms") >= 4)

        redis.start()
        # The listener is back: the server closes the socket with 1012 so the client resyncs.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv_until(lambda f: False, timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert "resync" in closed.value.rcvd.reason

        rejoined = await StreamSocket.connect(dev.ws_url)
        await rejoined.join("notes", group)

        async def settled() -> list[dict[str, Any]] | None:
            # The sync after rejoining has the write made before the outage and the two jobs the
            # bus retried until Redis came back, each run once; the failed API write is not there.
            probe = await StreamSocket.connect(dev.ws_url)
            await probe.join("notes", group)
            items = (await probe.recv_until(lambda f: f["event"]["type"] == "sync"))[-1]["event"]["data"]
            await probe.close()
            return items if len(items) == 3 else None

        items = await _eventually(settled, timeout=20)
        assert items is not None
        assert {i["id"]: i.get("runs", i.get("v")) for i in items} == {"kept": 1, "job-0": 1, "job-1": 1}
        sync = (await rejoined.recv_until(lambda f: f["event"]["type"] == "sync"))[-1]
        assert "kept" in [i["id"] for i in sync["event"]["data"]]
        # And changes flow live again.
        assert (await _post(dev, f"/notes/{group}/after", {"op": "set", "data": {"v": 4}})).status_code == 200
        frames = await rejoined.recv_until(lambda f: f.get("id") == "after")
        assert frames[-1]["event"]["type"] == "create"
        await rejoined.close()
    finally:
        dev.stop()


async def test_at_maxmemory_writes_fail_whole_with_the_oom_reason_and_deletes_still_go_through(
        start_redis: Callable[..., RedisServer]) -> None:
    import redis

    from motia_runtime.adapters.redis import RedisStateError, RedisStateStore

    server = start_redis()
    store, state = RedisStreamStore(server.url), RedisStateStore(server.url)
    seen: list[StreamChange] = []
    store.add_listener(seen.append)
    await store.astart()
    kept = await store.set("notes", "g", "a", {"v": 1})
    await store.set("notes", "g", "b", {"v": 1})
    await state.set("g", "k", 1)
    admin = redis.Redis.from_url(server.url)
    admin.config_set("maxmemory", max(1, int(admin.info("memory")["used_memory"]) - 100_000))
    try:
        assert await _eventually(lambda: len(seen) == 2)
        oom = r"Redis at .* failed: .*command not allowed when used memory > 'maxmemory'"
        with pytest.raises(RedisStreamError, match=rf"stream notes/g/a: {oom}"):
            await store.set("notes", "g", "a", {"v": 2})
        with pytest.raises(RedisStreamError, match=oom):
            await store.set_expiring("notes", "g", "c", {"v": 1}, expires_at=int(time.time() * 1000) + 60_000)
        with pytest.raises(RedisStreamError, match=oom):
            await store.send("notes", "g", None, {"type": "x", "data": {}})
        with pytest.raises(RedisStateError, match=rf"state g/k: {oom}"):
            await state.set("g", "k", 2)
        assert await store.get("notes", "g", "a") == kept.data  # nothing written half-way
        assert await store.get("notes", "g", "c") is None
        assert await state.get("g", "k") == 1
        deleted = await store.delete("notes", "g", "b")  # freeing memory is still allowed
        assert deleted is not None and deleted.type == "delete"
        assert await _eventually(lambda: len(seen) == 3)
        assert seen[-1] == deleted  # and the only change published since the limit
    finally:
        admin.config_set("maxmemory", 0)
        admin.close()
        await store.aclose()
        await state.aclose()


async def test_a_worker_that_dies_while_redis_is_away_is_replaced_and_the_server_keeps_running(
        start_redis: Callable[..., RedisServer], tmp_path: Any) -> None:
    from tests.redis.test_workers import _children

    def workers(pid: int) -> list[int]:  # uvicorn's worker processes (not multiprocessing's resource tracker)
        found = []
        for child in _children(pid):
            with contextlib.suppress(OSError):
                if b"multiprocessing.spawn" in open(f"/proc/{child}/cmdline", "rb").read():
                    found.append(child)
        return found

    redis = start_redis(persist=True)
    dev = DevServer(APP, tmp_path / "data", env={"MOTIA_REDIS_URL": redis.url}, args=("--workers", "2")).start()
    try:
        assert dev.proc is not None
        supervisor = dev.proc.pid
        assert await _eventually(lambda: len(workers(supervisor)) == 2)
        redis.stop()
        victim = workers(supervisor)[0]
        os.kill(victim, signal.SIGKILL)
        # uvicorn starts a replacement; its start used to fail on the unreachable Redis, and uvicorn
        # then stopped every worker: the whole server went down with one worker.
        replaced = await _eventually(lambda: victim not in workers(supervisor) and len(workers(supervisor)) == 2,
                                     timeout=20)
        assert replaced, dev.logs()
        await asyncio.sleep(3)  # the replacement's start, against the server that is still away
        assert dev.proc.poll() is None, dev.logs()
        assert len(workers(supervisor)) == 2, dev.logs()
        assert "cannot subscribe to stream changes on Redis" in dev.logs()

        redis.start()
        group = f"g-{uuid.uuid4().hex[:8]}"

        async def every_worker_writes() -> bool:
            pids = set()
            for _ in range(12):  # new connections, spread over both workers' sockets
                async with httpx.AsyncClient(base_url=dev.url, timeout=10) as http:
                    answer = await http.post(f"/notes/{group}/a", json={"op": "set", "data": {"v": 1}})
                    if answer.status_code != 200:
                        return False
                    pids.add(answer.json()["pid"])
            return len(pids) == 2

        assert await _eventually(every_worker_writes, timeout=20), dev.logs()
    finally:
        dev.stop()
