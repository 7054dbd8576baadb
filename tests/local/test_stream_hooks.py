"""Streams' join and leave hooks on the real local server, over real WebSockets: a refused join
gets STREAM_ACCESS_DENIED with the hook's reason (the socket stays), a hook can keep a viewer
count, and on_leave runs once per subscription on leave, on a replacing rejoin and on close."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project
from tests.support.ws import StreamSocket

pytestmark = pytest.mark.slow

FILES = {
    "streams/room_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Msg(BaseModel):
            text: str = ""

        class Count(BaseModel):
            n: int = 0

        async def on_join(subscription, auth_context, ctx):
            if subscription["groupId"] == "closed":
                return {"unauthorized": True, "reason": "this room is closed"}
            if subscription["groupId"] == "broken":
                raise RuntimeError("hook bug")
            await ctx.streams.viewers.update("rooms", subscription["groupId"], [{"type": "increment", "path": "n"}])

        async def on_leave(subscription, auth_context, ctx):
            await ctx.streams.viewers.update("rooms", subscription["groupId"], [{"type": "decrement", "path": "n"}])

        config = StreamConfig(name="room", schema=Msg, public=True, on_join=on_join, on_leave=on_leave)
    ''',
    "streams/slow_room_stream.py": '''
        import asyncio

        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Msg(BaseModel):
            text: str = ""

        async def on_join(subscription, auth_context, ctx):
            await ctx.streams.viewers.update("rooms", subscription["groupId"], [{"type": "increment", "path": "n"}])

        async def on_leave(subscription, auth_context, ctx):
            await asyncio.sleep(0.01)  # as any I/O does (Redis, an HTTP call): a real suspension
            await ctx.streams.viewers.update("rooms", subscription["groupId"], [{"type": "decrement", "path": "n"}])

        config = StreamConfig(name="slowRoom", schema=Msg, public=True, on_join=on_join, on_leave=on_leave)
    ''',
    "streams/stuck_room_stream.py": '''
        import asyncio

        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Msg(BaseModel):
            text: str = ""

        async def on_join(subscription, auth_context, ctx):
            if subscription["groupId"] == "stuck":
                await asyncio.Event().wait()  # never returns (a lock never released, a call with no timeout)

        config = StreamConfig(name="stuckRoom", schema=Msg, public=True, on_join=on_join)
    ''',
    "streams/viewers_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Count(BaseModel):
            n: int = 0

        config = StreamConfig(name="viewers", schema=Count, public=True)
    ''',
    "functions/noop_step.py": '''
        config = {"type": "api", "name": "Ping", "path": "/ping", "method": "GET"}

        async def handler(req, ctx):
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("hooks_app"), FILES)
    dev = InProcessServer(Path(root), tmp_path_factory.mktemp("hooks-data")).start()
    yield dev
    dev.stop()


def viewers(server: InProcessServer, room: str) -> int:
    items = httpx.get(f"{server.url}/__motia/streams/viewers/groups/rooms", timeout=5).json()["items"]
    return next((i["n"] for i in items if i["id"] == room), 0)


async def until(check, timeout: float = 5) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_on_join_refuses_with_its_reason_and_the_socket_stays(server: InProcessServer) -> None:
    ws = await StreamSocket.connect(server.ws_url)
    try:
        await ws.join("room", "closed")
        frame = await ws.recv()
        assert frame["event"]["type"] == "event"
        assert frame["event"]["event"]["data"] == {"code": "STREAM_ACCESS_DENIED", "message": "this room is closed"}
        await ws.join("room", "broken")  # a hook that raises refuses (fails closed), with a generic reason
        frame = await ws.recv()
        assert frame["event"]["event"]["data"]["code"] == "STREAM_ACCESS_DENIED"
        assert "hook bug" not in frame["event"]["event"]["data"]["message"]
        await ws.join("room", "open-1")  # the connection is still up and joins elsewhere
        frame = await ws.recv()
        assert frame["event"]["type"] == "sync"
    finally:
        await ws.conn.close()
    assert viewers(server, "closed") == 0 and viewers(server, "broken") == 0


async def test_on_leave_runs_once_per_subscription_on_leave_rejoin_and_close(server: InProcessServer) -> None:
    a = await StreamSocket.connect(server.ws_url)
    b = await StreamSocket.connect(server.ws_url)
    sub = await a.join("room", "lobby")
    await a.recv()
    await b.join("room", "lobby")
    await b.recv()
    await b.join("room", "lobby", sub_id="second")
    await b.recv()
    await until(lambda: viewers(server, "lobby") == 3)
    await a.join("room", "lobby", sub_id=sub)  # a rejoin with the same id replaces: -1 then +1
    await a.recv()
    await until(lambda: viewers(server, "lobby") == 3)
    await a.leave("room", "lobby", sub)
    await until(lambda: viewers(server, "lobby") == 2)
    await a.leave("room", "lobby", sub)  # already gone: nothing runs
    await b.conn.close()  # both of b's subscriptions leave
    await until(lambda: viewers(server, "lobby") == 0)
    await asyncio.sleep(0.3)
    assert viewers(server, "lobby") == 0
    await a.conn.close()


async def test_on_leave_runs_when_a_server_sent_events_client_goes(server: InProcessServer) -> None:
    # The SSE endpoint is a join like a socket's: its on_join counts, and its end must uncount
    # (the hook's first real await was cancelled with the response: it never got to uncount).
    for _ in range(2):
        url = f"{server.url}/__streams/slowRoom/sse-room"
        async with httpx.AsyncClient(timeout=5) as client, client.stream(
                "GET", url, headers={"Accept": "text/event-stream"}) as response:
            async for line in response.aiter_lines():
                if line.startswith("data:"):  # the sync: the join was taken
                    break
            assert viewers(server, "sse-room") == 1
        await until(lambda: viewers(server, "sse-room") == 0)
    await asyncio.sleep(0.3)
    assert viewers(server, "sse-room") == 0


async def test_an_on_join_refusal_over_sse_is_a_403_with_its_reason(server: InProcessServer) -> None:
    # The join ran inside a 200 event stream: the refusal was an error event, then the stream idled
    # for ever, and an EventSource never learnt it would get nothing.
    accept = {"Accept": "text/event-stream"}
    async with httpx.AsyncClient(timeout=5) as client:
        closed = await client.get(f"{server.url}/__streams/room/closed", headers=accept)
        assert closed.status_code == 403 and closed.json() == {"error": "this room is closed"}
        broken = await client.get(f"{server.url}/__streams/room/broken", headers=accept)  # the hook raises
        assert broken.status_code == 403, broken.text
        async with client.stream("GET", f"{server.url}/__streams/room/open-sse", headers=accept) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    assert json.loads(line[5:])["event"]["type"] == "sync"
                    break
            assert viewers(server, "open-sse") == 1
    await until(lambda: viewers(server, "open-sse") == 0)  # its on_leave ran when it went
    assert viewers(server, "closed") == 0 and viewers(server, "broken") == 0  # refused: never counted


async def test_a_join_hook_that_never_returns_is_refused_at_its_deadline(server: InProcessServer,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # It held the connection (no later frame was read) and, at shutdown or a reload, the server.
    from motia_runtime import stream_hooks

    monkeypatch.setattr(stream_hooks, "HOOK_TIMEOUT_S", 0.3, raising=False)  # 30 s in use; the server is in-process
    ws = await StreamSocket.connect(server.ws_url)
    try:
        await ws.join("stuckRoom", "stuck")
        frame = await ws.recv(timeout=5)
        assert frame["event"]["event"]["data"]["code"] == "STREAM_ACCESS_DENIED"
        await ws.join("stuckRoom", "fine")  # the connection reads frames again
        assert (await ws.recv(timeout=5))["event"]["type"] == "sync"
    finally:
        await ws.conn.close()
