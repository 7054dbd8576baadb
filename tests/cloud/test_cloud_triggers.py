"""Triggers and join/leave hooks through ``motia cloud``, with a real WebSocket client: a stream
trigger runs from the streams table's change stream (TriggersFunction → its FIFO queue → its
function), a state trigger from the state table's, and a stream's on_join / on_leave keep a
viewer count, on_leave running from the connections table's stream when the socket closes."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from motia_runtime.emulation.websocket_api import CONNECT_TIMEOUT_S
from tests.support.cloud_server import CloudServer
from tests.support.project_files import write_project

pytestmark = pytest.mark.slow

FILES = {
    "streams/ct_log_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Entry(BaseModel):
            kind: str
            n: int = 0

        async def on_join(subscription, auth_context, ctx):
            if subscription["groupId"] == "room":
                await ctx.streams.ctLog.update("views", "room", [{"type": "increment", "path": "n"},
                                                                 {"type": "set", "path": "kind", "value": "views"}])

        async def on_leave(subscription, auth_context, ctx):
            if subscription["groupId"] == "room":
                await ctx.streams.ctLog.update("views", "room", [{"type": "decrement", "path": "n"}])

        config = StreamConfig(name="ctLog", schema=Entry, public=True, on_join=on_join, on_leave=on_leave)
    ''',
    "functions/ct_case/write_step.py": '''
        config = {"type": "api", "name": "CtWrite", "path": "/write", "method": "POST"}

        async def handler(req, ctx):
            await ctx.streams.ctLog.set("src", "a", {"kind": "source", "n": 1})
            await ctx.state.set("ct", "k", {"v": 1})
            return {"status": 200, "body": {}}
    ''',
    "functions/ct_case/on_stream_step.py": '''
        config = {"type": "stream", "name": "CtOnStream", "streamName": "ctLog", "groupId": "src"}

        async def handler(change, ctx):
            await ctx.streams.ctLog.set("out", "stream", {"kind": change["event"]["type"], "n": change["depth"]})
    ''',
    "functions/ct_case/on_state_step.py": '''
        config = {"type": "state", "name": "CtOnState", "group": "ct"}

        async def handler(change, ctx):
            await ctx.streams.ctLog.set("out", "state", {"kind": change["event_type"], "n": change["new_value"]["v"]})
    ''',
}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    root = write_project(tmp_path_factory.mktemp("cloud-triggers"), FILES)
    subprocess.run([sys.executable, "-m", "motia_runtime", "generate", "--root", str(root)], check=True,
                   capture_output=True, timeout=120)
    server = CloudServer(root, root / ".logs").start()
    yield server
    server.stop()


class Group:
    """A socket joined to one group of ctLog, keeping its items as a client would."""

    def __init__(self, url: str, group: str) -> None:
        self.url, self.group = url, group
        self.items: dict[str, Any] = {}

    async def __aenter__(self) -> Group:
        # The handshake waits for $connect's function, a cold start: as long as the gateway allows
        # (CONNECT_TIMEOUT_S), not the client's default 10 s, which ran out at a load of 15.
        self.ws = await websockets.connect(self.url, open_timeout=CONNECT_TIMEOUT_S + 1)
        await self.ws.send(json.dumps({"type": "join", "data": {"streamName": "ctLog", "groupId": self.group,
                                                                "subscriptionId": f"sub-{self.group}"}}))
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for raw in self.ws:
            event = json.loads(raw)["event"]
            if event["type"] == "sync":
                self.items = {i["id"]: i for i in event["data"]}
            elif event["type"] in ("create", "update"):
                self.items[event["data"]["id"]] = event["data"]

    async def until(self, check: Any, timeout: float = 45) -> None:
        async def poll() -> None:
            while not check(self.items):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(poll(), timeout)

    async def __aexit__(self, *_: Any) -> None:
        self.reader.cancel()
        await self.ws.close()


async def test_stream_and_state_triggers_run_on_motia_cloud(cloud: CloudServer) -> None:
    async with Group(cloud.ws_url, "out") as out:
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as client:
            assert (await client.post(f"{cloud.http_url}/write", json={}, timeout=60)).status_code == 200
        await out.until(lambda items: "stream" in items and "state" in items)
    assert (out.items["stream"]["kind"], out.items["stream"]["n"]) == ("create", 1)  # depth 1
    assert (out.items["state"]["kind"], out.items["state"]["n"]) == ("state:created", 1)


async def test_join_and_leave_hooks_keep_a_viewer_count_on_motia_cloud(cloud: CloudServer) -> None:
    async with Group(cloud.ws_url, "views") as views:
        async with Group(cloud.ws_url, "room"), Group(cloud.ws_url, "room"):
            await views.until(lambda items: items.get("room", {}).get("n") == 2)
        # Both sockets closed: $disconnect removes their rows, the connections table's stream runs on_leave.
        await views.until(lambda items: items.get("room", {}).get("n") == 0)
