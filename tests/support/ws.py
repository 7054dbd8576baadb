"""A thin WebSocket test client speaking the stream protocol, plus Motia's client-side dropping rule."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets


class StreamSocket:
    def __init__(self, conn: websockets.ClientConnection) -> None:
        self.conn = conn

    @classmethod
    async def connect(cls, url: str, **kwargs: Any) -> StreamSocket:
        return cls(await websockets.connect(url, **kwargs))

    async def join(self, stream: str, group: str, id: str | None = None, sub_id: str | None = None) -> str:
        sub_id = sub_id or str(uuid.uuid4())
        data = {"streamName": stream, "groupId": group, "subscriptionId": sub_id}
        if id is not None:
            data["id"] = id
        await self.conn.send(json.dumps({"type": "join", "data": data}))
        return sub_id

    async def leave(self, stream: str, group: str, sub_id: str, id: str | None = None) -> None:
        data = {"streamName": stream, "groupId": group, "subscriptionId": sub_id}
        if id is not None:
            data["id"] = id
        await self.conn.send(json.dumps({"type": "leave", "data": data}))

    async def recv(self, timeout: float = 5) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.conn.recv(), timeout))

    async def recv_until(self, predicate: Any, timeout: float = 10) -> list[dict[str, Any]]:
        """Frames up to and including the first one that satisfies ``predicate``."""
        frames: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.recv(max(deadline - loop.time(), 0.01))
            frames.append(frame)
            if predicate(frame):
                return frames

    async def drain(self, quiet_s: float = 0.3) -> list[dict[str, Any]]:
        frames = []
        try:
            while True:
                frames.append(await self.recv(quiet_s))
        except TimeoutError:
            return frames

    async def close(self) -> None:
        await self.conn.close()


class MotiaItemState:
    """Motia's official item subscription: a frame whose timestamp is not above the last is dropped."""

    def __init__(self) -> None:
        self.last = 0
        self.state: Any = None
        self.applied: list[dict[str, Any]] = []

    def apply(self, frame: dict[str, Any]) -> None:
        if frame["timestamp"] <= self.last:
            return
        self.last = frame["timestamp"]
        event = frame["event"]
        if event["type"] in ("sync", "create", "update"):
            self.state = event["data"]
        elif event["type"] == "delete":
            self.state = None
        self.applied.append(frame)
