"""No loss on reconnect: our client rejoins with ``since`` and handles ``resync``.

A network drop in the middle of a burst of writes and custom events: the client that comes back
has the server's state, and every event exactly once and in order (replayed from the server's
log, duplicates dropped by ``eventId``). After a server restart the events are read back from
SQLite; past the kept history the client is told with ``resync`` (never silence) and its state
still converges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from motia_runtime.client import Backoff, StreamClient
from tests.client.project import ops, todo
from tests.support.dev_server import DevServer
from tests.support.inprocess import InProcessServer
from tests.support.proxy import TcpProxy

pytestmark = pytest.mark.slow
EVENTS = 60


def tick(group: str, n: int) -> dict[str, Any]:
    return {"op": "send", "group": group, "type": "tick", "data": {"n": n}}


async def burst(server: DevServer | InProcessServer, group: str, start: int, stop: int) -> None:
    for n in range(start, stop):
        extra = [{"op": "delete", "group": group, "id": f"t{(n + 3) % 7}"}] if n % 5 == 0 else []
        await ops(server.url, todo(group, f"t{n % 7}", f"v{n}"), tick(group, n), *extra)
        await asyncio.sleep(0.003)


async def until(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def server_items(server: DevServer | InProcessServer, group: str) -> list[tuple[str, str]]:
    items = httpx.get(f"{server.url}/__motia/streams/todo/groups/{group}", timeout=10).json()["items"]
    return [(i["id"], i["text"]) for i in items]


async def test_a_dropped_connection_resumes_with_every_event_once_and_the_state(server: InProcessServer,
                                                                               group: str) -> None:
    proxy = await TcpProxy(server.port).start()
    try:
        async with StreamClient(proxy.ws_url, backoff=Backoff(initial=0.02, maximum=0.05)) as client:
            sub = client.subscribe_group("todo", group)
            await sub.ready(5)
            got: list[int] = []
            resyncs: list[Any] = []
            sub.on_event("tick", lambda data: got.append(data["n"]))
            sub.on_resync(resyncs.append)
            writer = asyncio.create_task(burst(server, group, 0, EVENTS))
            for _ in range(3):  # three drops while the burst goes on
                # A cut needs a connection to cut: the client may still be reconnecting from the last.
                await until(lambda: proxy.open_links > 0 and len(got) >= 10 * proxy.accepted, timeout=10)
                proxy.cut()
                await asyncio.sleep(0.1)  # writes and events keep coming while the client is away
            await writer
            await until(lambda: len(got) >= EVENTS and [(i["id"], i["text"]) for i in sub.state]
                        == server_items(server, group))
            assert got == list(range(EVENTS))  # none lost, none twice, in order
            assert resyncs == [] and sub.resyncs == 0
            assert client.connections == 4 and proxy.accepted == 4
    finally:
        await proxy.stop()


async def test_after_a_restart_the_client_resumes_from_the_kept_history_and_converges(
        project_root: Path, tmp_path: Path) -> None:
    dev = DevServer(project_root, tmp_path / "data").start()
    try:
        async with StreamClient(dev.ws_url, backoff=Backoff(initial=0.05, maximum=0.2)) as client:
            sub = client.subscribe_group("todo", "restart")
            await sub.ready(5)
            got: list[int] = []
            sub.on_event("tick", lambda data: got.append(data["n"]))
            await ops(dev.url, todo("restart", "a", "before"), tick("restart", 1))
            await until(lambda: [i["text"] for i in sub.state] == ["before"] and got == [1])
            dev.kill()
            dev = DevServer(project_root, tmp_path / "data", port=dev.port).start()
            await ops(dev.url, todo("restart", "a", "after"), tick("restart", 2))
            await until(lambda: [i["text"] for i in sub.state] == ["after"] and got == [1, 2], timeout=15)
            # The events are kept in SQLite: the rejoin's ``since`` is answered, not resynced.
            assert sub.resyncs == 0
    finally:
        dev.stop()


async def test_a_since_past_the_kept_history_is_told_to_resync_and_converges(
        project_root: Path, tmp_path: Path) -> None:
    # History off (window 0): every rejoin with ``since`` is past what is kept.
    dev = DevServer(project_root, tmp_path / "data", env={"MOTIA_STREAM_REPLAY_S": "0"}).start()
    try:
        async with StreamClient(dev.ws_url, backoff=Backoff(initial=0.05, maximum=0.2)) as client:
            sub = client.subscribe_group("todo", "restart")
            await sub.ready(5)
            resyncs: list[Any] = []
            sub.on_resync(resyncs.append)
            await ops(dev.url, todo("restart", "a", "before"), tick("restart", 1))
            await until(lambda: [i["text"] for i in sub.state] == ["before"])
            dev.kill()
            dev = DevServer(project_root, tmp_path / "data", port=dev.port,
                            env={"MOTIA_STREAM_REPLAY_S": "0"}).start()
            await ops(dev.url, todo("restart", "a", "after"))
            await until(lambda: sub.resyncs == 1 and [i["text"] for i in sub.state] == ["after"], timeout=15)
            assert resyncs[0]["reason"] == "outside the replay window"
    finally:
        dev.stop()
