"""A server that is not ours (or is broken) sends frames the client must survive: a real socket."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from motia_runtime.client import ConnectionStatus, StreamClient

pytestmark = pytest.mark.slow


def frame(kind: str, id: str | None, data: Any, timestamp: int) -> str:
    return json.dumps({"streamName": "s", "groupId": "g", "id": id, "timestamp": timestamp,
                       "event": {"type": kind, "data": data}})


async def test_an_item_that_is_not_an_object_is_ignored_and_the_connection_goes_on() -> None:
    async def answer(ws: ServerConnection) -> None:
        async for raw in ws:
            if json.loads(raw)["type"] == "join":
                await ws.send(frame("sync", None, [], 1))
                await ws.send(frame("create", "a", "not an object", 2))
                await ws.send(frame("update", "a", [1, 2], 3))
                await ws.send(frame("create", "b", {"id": "b", "n": 1}, 4))
                await ws.send(frame("update", "b", {"id": "b", "n": 2}, 5))

    async with serve(answer, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with StreamClient(f"ws://127.0.0.1:{port}") as client:
            states = aiter(client.subscribe_group("s", "g"))
            seen = [await asyncio.wait_for(anext(states), 5) for _ in range(3)]
            assert seen == [[], [{"id": "b", "n": 1}], [{"id": "b", "n": 2}]]
            assert client.status is ConnectionStatus.OPEN
