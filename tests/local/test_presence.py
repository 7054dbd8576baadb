"""Presence on the real local server, with real WebSocket clients: a joining client gets who is
present, everyone gets presence.join / presence.leave, a closed socket leaves, and a presence
state that breaks the stream's schema is refused with the connection kept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

FILES = {
    "streams/lobby_pr_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import Presence, StreamConfig

        class Msg(BaseModel):
            text: str = ""

        class Where(BaseModel):
            page: str

        config = StreamConfig(name="lobbyPr", schema=Msg, public=True, presence=Presence(schema=Where))
    ''',
    "functions/pr_noop_step.py": '''
        config = {"type": "api", "name": "PrNoop", "path": "/noop", "method": "GET"}

        async def handler(req, ctx):
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("presence_app"), FILES)
    dev = InProcessServer(Path(root), tmp_path_factory.mktemp("presence-data")).start()
    yield dev
    dev.stop()


async def join(ws: StreamSocket, group: str, state: Any, sub_id: str) -> None:
    await ws.conn.send(json.dumps({"type": "join", "data": {"streamName": "lobbyPr", "groupId": group,
                                                            "subscriptionId": sub_id, "presence": state}}))


def custom(frame: dict[str, Any]) -> tuple[str, Any] | None:
    event = frame["event"]
    return (event["event"]["type"], event["event"]["data"]) if event["type"] == "event" else None


async def next_custom(ws: StreamSocket, kind: str) -> Any:
    frames = await ws.recv_until(lambda f: (custom(f) or ("",))[0] == kind)
    return custom(frames[-1])[1]  # type: ignore[index]


async def test_presence_sync_join_and_leave_between_two_clients(server: InProcessServer) -> None:
    a, b = await StreamSocket.connect(server.ws_url), await StreamSocket.connect(server.ws_url)
    try:
        await join(a, "g1", {"page": "home"}, "sa")
        assert await next_custom(a, "presence.sync") == []
        assert (await next_custom(a, "presence.join"))["subscriptionId"] == "sa"
        await join(b, "g1", {"page": "pets"}, "sb")
        present = await next_custom(b, "presence.sync")
        assert [(m["key"], m["state"]) for m in present] == [("anonymous:sa", {"page": "home"})]
        joined = await next_custom(a, "presence.join")
        assert (joined["key"], joined["state"]) == ("anonymous:sb", {"page": "pets"})
        await b.conn.close()  # a closed socket leaves
        left = await next_custom(a, "presence.leave")
        assert left["subscriptionId"] == "sb"
        # A state that breaks the schema: an error, nothing joined, the socket stays.
        await join(a, "g2", {"where": 1}, "bad")
        frame = await a.recv()
        assert custom(frame)[0] == "error" and custom(frame)[1]["code"] == "INVALID_MESSAGE"
        await join(a, "g2", {"page": "x" * 2000}, "huge")  # over the 1 KB a member's state may hold
        frame = await a.recv()
        assert custom(frame)[0] == "error" and "too large" in custom(frame)[1]["message"]
        await join(a, "g2", {"page": "x"}, "good")
        assert await next_custom(a, "presence.sync") == []
    finally:
        await a.conn.close()
        with_timeout = asyncio.wait_for(b.conn.close(), 2)
        await with_timeout
