"""Reconnect: the server is SIGKILLed, items change while it is down, it comes back on the same
port and data dir, and the client converges to exactly what a fresh client sees."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from motia_runtime.adapters.sqlite import Database, SQLiteStreamStore
from motia_runtime.client import Backoff, ConnectionStatus, StreamClient
from tests.client.project import ops, todo
from tests.support.dev_server import DevServer

pytestmark = pytest.mark.slow

FAST = Backoff(initial=0.05, maximum=0.5)


async def write_while_down(data_dir: Path, group: str) -> None:
    """Another writer changes the SQLite database the server will come back with."""
    db = Database(data_dir / "motia.db")
    try:
        store = SQLiteStreamStore(db)
        await store.set("todo", group, "a", {"text": "a, edited while down", "done": True})
        await store.delete("todo", group, "b")
        await store.set("todo", group, "d", {"text": "d, created while down", "done": False})
    finally:
        db.close()


async def wait_until(predicate: Any, timeout: float = 10) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def test_reconnects_after_a_kill_and_converges(project_root: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = DevServer(project_root, data_dir).start()
    group = "reconnect"
    client = StreamClient(server.ws_url, backoff=FAST)
    statuses: list[ConnectionStatus] = []
    client.on_status(statuses.append)
    restarted: DevServer | None = None
    try:
        await client.connect(timeout=5)
        listing = client.subscribe_group("todo", group)
        item = client.subscribe_item("todo", group, "a")
        await ops(server.url, todo(group, "a", "a"), todo(group, "b", "b"), todo(group, "c", "c"))
        await wait_until(lambda: len(listing.state) == 3 and item.state is not None)

        server.kill()
        await client.wait_for_status(ConnectionStatus.RECONNECTING, timeout=5)
        assert listing.status == "live"  # state is kept (stale) until the rejoin's sync
        await write_while_down(data_dir, group)
        await asyncio.sleep(0.3)  # several refused attempts: the client keeps backing off, never gives up
        assert client.status is ConnectionStatus.RECONNECTING

        restarted = DevServer(project_root, data_dir, port=server.port).start()
        await client.wait_for_status(ConnectionStatus.OPEN, timeout=10)
        await wait_until(lambda: listing.status == "live" and [i["id"] for i in listing.state] == ["a", "c", "d"])
        assert client.connections == 2

        # Changes after the restart still arrive on the re-joined subscriptions.
        await ops(restarted.url, todo(group, "c", "c, after restart"))
        await wait_until(lambda: any(i["text"] == "c, after restart" for i in listing.state))

        async with StreamClient(restarted.ws_url) as fresh:
            fresh_listing = await fresh.subscribe_group("todo", group).ready(5)
            fresh_item = await fresh.subscribe_item("todo", group, "a").ready(5)
        assert listing.state == fresh_listing
        assert item.state == fresh_item
        assert item.state is not None and item.state["text"] == "a, edited while down"
        assert statuses[:3] == [ConnectionStatus.OPEN, ConnectionStatus.RECONNECTING, ConnectionStatus.OPEN]
    finally:
        await client.close()
        server.kill()
        if restarted is not None:
            restarted.stop()
    assert client.status is ConnectionStatus.CLOSED


async def test_subscribing_before_the_server_is_up_waits_for_it(project_root: Path, tmp_path: Path) -> None:
    """Without connect(), a subscription retries the first connection too (as Motia's do)."""
    waiting = DevServer(project_root, tmp_path / "data")  # a port nobody listens on yet
    client = StreamClient(waiting.ws_url, backoff=FAST)
    try:
        sub = client.subscribe_item("todo", "early", "a")
        await client.wait_for_status(ConnectionStatus.RECONNECTING, timeout=5)
        assert client.error is not None and "cannot connect" in str(client.error)
        waiting.start()
        assert await sub.ready(10) is None
    finally:
        await client.close()
        waiting.stop()
