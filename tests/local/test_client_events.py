"""Client events on the real local server, over two real WebSockets: one client's event reaches
the group's other subscribers (and a stream trigger), and every refusal is an error event with
the connection kept: a stream that takes none, a client not joined, a type or data that breaks
the rules, can_send, and the per-connection rate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

FILES = {
    "streams/chat_ce_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import ClientEvents, StreamConfig

        class Msg(BaseModel):
            text: str = ""

        class Typing(BaseModel):
            user: str

        def can_send(event, subscription, auth_context):
            return event["data"]["user"] != "mallory"

        config = StreamConfig(name="chatCe", schema=Msg, public=True,
                              client_events=ClientEvents(types=["typing"], schema=Typing, can_send=can_send,
                                                         rate_per_s=1, burst=3))
    ''',
    "streams/quiet_ce_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Msg(BaseModel):
            text: str = ""

        config = StreamConfig(name="quietCe", schema=Msg, public=True)
    ''',
    "functions/ce_seen_step.py": '''
        config = {"type": "stream", "name": "CeSeen", "streamName": "chatCe", "events": ["event"]}

        async def handler(change, ctx):
            seen = await ctx.state.get("ce", "seen") or []
            await ctx.state.set("ce", "seen", [*seen, change["event"]["event"]])
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("ce_app"), FILES)
    dev = InProcessServer(Path(root), tmp_path_factory.mktemp("ce-data")).start()
    yield dev
    dev.stop()


async def send_event(ws: StreamSocket, stream: str, group: str, type: str, data: Any) -> None:
    await ws.conn.send(json.dumps({"type": "event", "data": {"streamName": stream, "groupId": group,
                                                             "event": {"type": type, "data": data}}}))


def error_of(frame: dict[str, Any]) -> dict[str, Any] | None:
    event = frame["event"]
    if event["type"] == "event" and event["event"]["type"] == "error":
        return event["event"]["data"]
    return None


async def test_a_client_event_reaches_the_other_subscribers_and_triggers(server: InProcessServer) -> None:
    alice, bob = await StreamSocket.connect(server.ws_url), await StreamSocket.connect(server.ws_url)
    try:
        for ws in (alice, bob):
            await ws.join("chatCe", "room1")
            assert (await ws.recv())["event"]["type"] == "sync"
        await send_event(alice, "chatCe", "room1", "typing", {"user": "alice"})
        frame = await bob.recv()
        assert frame["event"]["type"] == "event"
        assert frame["event"]["event"] == {"type": "typing", "data": {"user": "alice"}}
        assert frame["groupId"] == "room1" and isinstance(frame["timestamp"], int)
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            state = httpx.get(f"{server.url}/__motia/state?group=ce", timeout=5).json()["items"]
            if state:
                break
            assert asyncio.get_running_loop().time() < deadline, "the stream trigger did not run"
            await asyncio.sleep(0.05)
        assert state[0]["value"] == [{"type": "typing", "data": {"user": "alice"}}]
    finally:
        await alice.conn.close()
        await bob.conn.close()


async def test_every_refusal_is_an_error_event_and_the_connection_stays(server: InProcessServer) -> None:
    ws = await StreamSocket.connect(server.ws_url)
    try:
        cases = [
            ("quietCe", "g", "typing", {"user": "a"}, "EVENT_NOT_ALLOWED"),  # the stream takes none
            ("chatCe", "not-joined", "typing", {"user": "a"}, "EVENT_NOT_ALLOWED"),
            ("nope", "g", "typing", {"user": "a"}, "STREAM_NOT_FOUND"),
        ]
        for stream, group, type, data, code in cases:
            await send_event(ws, stream, group, type, data)
            assert error_of(await ws.recv())["code"] == code, (stream, group)
        await ws.join("chatCe", "room2")
        await ws.recv()
        await send_event(ws, "chatCe", "room2", "shout", {"user": "a"})
        assert error_of(await ws.recv())["code"] == "INVALID_EVENT"
        await send_event(ws, "chatCe", "room2", "typing", {"name": "a"})
        refused = error_of(await ws.recv())
        assert refused["code"] == "INVALID_EVENT" and "user" in refused["message"]
        await send_event(ws, "chatCe", "room2", "typing", {"user": "mallory"})
        assert error_of(await ws.recv())["code"] == "STREAM_ACCESS_DENIED"
        # The budget (burst 3, refused events counted too, 1/s): the next ones are rate limited.
        codes = []
        for _ in range(3):
            await send_event(ws, "chatCe", "room2", "typing", {"user": "a"})
            frame = await ws.recv()
            codes.append((error_of(frame) or {}).get("code", frame["event"]["type"]))
        assert codes[-1] == "RATE_LIMITED"
        await ws.conn.send(json.dumps({"type": "event", "data": {"streamName": "chatCe", "groupId": "room2"}}))
        assert error_of(await ws.recv())["code"] == "INVALID_MESSAGE"
        await asyncio.sleep(1.1)  # the budget refills; the connection was kept all along
        await send_event(ws, "chatCe", "room2", "typing", {"user": "a"})
        assert (await ws.recv())["event"]["event"] == {"type": "typing", "data": {"user": "a"}}
    finally:
        await ws.conn.close()
