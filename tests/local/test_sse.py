"""Server-Sent Events for streams on the real local server: an HTTP client reading the event
stream gets the same sync and changes as a WebSocket client, resumes from Last-Event-ID with the
custom events it missed, and is authorised like a join."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project

pytestmark = pytest.mark.slow

FILES = {
    "streams/notes_sse_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Note(BaseModel):
            text: str

        config = StreamConfig(name="notesSse", schema=Note, public=True)
    ''',
    "streams/secret_sse_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Note(BaseModel):
            text: str

        config = StreamConfig(name="secretSse", schema=Note)
    ''',
    "functions/sse_write_step.py": '''
        config = {"type": "api", "name": "SseWrite", "path": "/w", "method": "POST"}

        async def handler(req, ctx):
            b = req["body"]
            s = ctx.streams.notesSse
            if b.get("event"):
                await s.send({"groupId": b["group"]}, {"type": "ping", "data": {"n": b["n"]}})
            else:
                await s.set(b["group"], b["id"], {"text": b["text"]})
            return {"status": 200, "body": {}}
    ''',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    root = write_project(tmp_path_factory.mktemp("sse_app"), FILES)
    dev = InProcessServer(Path(root), tmp_path_factory.mktemp("sse-data"), env={"MOTIA_SSE_KEEPALIVE_S": "1"}).start()
    yield dev
    dev.stop()


async def events(response: httpx.Response) -> AsyncIterator[tuple[str | None, Any]]:
    """(id, frame) per SSE event; (None, ":comment") per comment line."""
    event_id: str | None = None
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield None, line
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: "):
            yield event_id, json.loads(line[6:])
            event_id = None


async def write(server: InProcessServer, **body: Any) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.post(f"{server.url}/w", json=body)).status_code == 200


async def test_sse_sends_the_sync_then_each_change_with_its_stamp_as_id(server: InProcessServer) -> None:
    await write(server, group="g1", id="a", text="first")
    async with httpx.AsyncClient(timeout=10) as client, client.stream(
            "GET", f"{server.url}/__streams/notesSse/g1", headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        got: list[tuple[str | None, Any]] = []
        keepalive = False
        async for event_id, frame in events(response):
            if event_id is None:
                keepalive = keepalive or frame == ": keep-alive"
                if keepalive and len(got) == 3:
                    break
                continue
            got.append((event_id, frame))
            if len(got) == 1:
                assert frame["event"]["type"] == "sync" and [i["text"] for i in frame["event"]["data"]] == ["first"]
                await write(server, group="g1", id="a", text="second")
                await write(server, group="g1", event=True, n=1)
    kinds = [f["event"]["type"] for _, f in got]
    assert kinds == ["sync", "update", "event"]
    assert [int(i) for i, _ in got] == [f["timestamp"] for _, f in got]
    assert [int(i) for i, _ in got] == sorted(int(i) for i, _ in got)
    assert keepalive  # a comment line came while the stream was idle


async def test_last_event_id_replays_the_custom_events_missed(server: InProcessServer) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("GET", f"{server.url}/__streams/notesSse/g2",
                                 headers={"Accept": "text/event-stream"}) as response:
            async for event_id, _frame in events(response):
                if event_id is not None:
                    last = event_id  # the sync
                    break
        for n in range(3):
            await write(server, group="g2", event=True, n=n)
        async with client.stream("GET", f"{server.url}/__streams/notesSse/g2",
                                 headers={"Accept": "text/event-stream", "Last-Event-ID": last}) as response:
            got = []
            async for event_id, frame in events(response):
                if event_id is not None:
                    got.append(frame)
                    if frame["event"]["type"] == "sync":
                        break
    assert [f["event"]["event"]["data"]["n"] for f in got[:-1]] == [0, 1, 2]  # missed events, then the sync


async def test_sse_is_authorised_like_a_join(server: InProcessServer) -> None:
    accept = {"Accept": "text/event-stream"}
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{server.url}/__streams/nope/g", headers=accept)).status_code == 404
        assert (await client.get(f"{server.url}/__streams/secretSse/g", headers=accept)).status_code == 403
        bad = await client.get(f"{server.url}/__streams/secretSse/g",
                               headers={**accept, "Authorization": "Bearer x.y.z"})
        assert bad.status_code in (401, 403)
        assert (await client.get(f"{server.url}/__streams/notesSse/g")).status_code == 406
        assert (await client.get(f"{server.url}/__streams/notesSse/g",
                                 headers={**accept, "Last-Event-ID": "yesterday"})).status_code == 400


async def test_a_since_that_is_no_stamp_is_a_400_naming_where_it_came_from(server: InProcessServer) -> None:
    # "²" is a digit to str.isdigit() but not to int(), and int() refuses more than 4,300
    # digits: both were a 500. A stamp is a whole number of milliseconds, in ASCII digits.
    accept = {"Accept": "text/event-stream"}
    async with httpx.AsyncClient(timeout=10) as client:
        for since in ["²", "1" * 5000, str(2**63), "-1", "1.5", "١٢"]:
            answer = await client.get(f"{server.url}/__streams/notesSse/g", params={"since": since}, headers=accept)
            assert answer.status_code == 400, (since[:10], answer.text)
            assert answer.json()["error"].startswith("since must be"), answer.text
        answer = await client.get(f"{server.url}/__streams/notesSse/g",
                                  headers={**accept, "Last-Event-ID": b"\xb2"})  # "²" in latin-1
        assert answer.status_code == 400 and answer.json()["error"].startswith("Last-Event-ID must be")


LEAVE_FILES = {
    "streams/watched_sse_stream.py": '''
        import asyncio, os

        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Note(BaseModel):
            text: str

        async def on_leave(subscription, auth_context, ctx):
            await asyncio.sleep(0.01)  # as any I/O does: a real suspension
            with open(os.environ["SSE_LEAVES_FILE"], "a") as out:
                out.write(subscription["groupId"] + "\\n")

        config = StreamConfig(name="watchedSse", schema=Note, public=True, on_leave=on_leave)
    ''',
}


def test_an_open_event_stream_does_not_hold_the_server_up(tmp_path: Path) -> None:
    # uvicorn's graceful shutdown (Ctrl-C, SIGTERM, every reload of motia dev) waits for responses
    # in progress, and an SSE stream never ends by itself: the server waited for ever.
    import threading
    import time

    leaves = tmp_path / "leaves.txt"
    leaves.touch()
    root = write_project(tmp_path / "app", LEAVE_FILES)
    dev = InProcessServer(root, tmp_path / "data", env={"SSE_LEAVES_FILE": str(leaves)}).start()
    lines: list[str] = []

    def read() -> None:
        with httpx.stream("GET", f"{dev.url}/__streams/watchedSse/room", timeout=60,
                          headers={"Accept": "text/event-stream"}) as response:
            lines.extend(response.iter_lines())  # until the server ends the stream

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + 10
    while not any(line.startswith("data:") for line in lines):  # the sync: the join was taken
        assert time.time() < deadline
        time.sleep(0.02)
    server, thread = dev._server, dev._thread
    assert server is not None and thread is not None
    started = time.time()
    server.should_exit = True  # what a SIGTERM or a reload does
    thread.join(timeout=10)
    stopped_in = time.time() - started
    dev.stop()
    assert not thread.is_alive() and stopped_in < 5  # did not stop at all: waited on the stream
    reader.join(timeout=5)
    assert not reader.is_alive()  # the stream ended (the client reconnects to the next worker)
    assert leaves.read_text() == "room\n"  # its subscription ended, with the stores still open
