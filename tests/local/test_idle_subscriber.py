"""An idle subscriber's footprint on the local host (issue 22: memory per idle subscriber).

A connection that keeps up holds no outbox and no pump task: its frames are written straight to
the transport, and it has no task of its own beside uvicorn's, which reads its frames. Served in-process by
uvicorn (the frame-writing protocol, as ``motia dev``) so the hub can be looked at; real clients
on loopback.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import websockets

from motia_runtime import log as motia_log
from motia_runtime.hosts.local.app import LocalHost
from motia_runtime.hosts.local.frames import FrameWriterProtocol
from motia_runtime.hosts.local.hub import Connection
from tests.support.fake_openai import free_port
from tests.support.inprocess import InProcessServer
from tests.support.project_files import write_project

FILES = {
    "streams/idle_sub_stream.py": '''
        from pydantic import BaseModel
        from motia_runtime import StreamConfig

        class Note(BaseModel):
            text: str

        config = StreamConfig(name="idleSub", schema=Note, public=True)
    ''',
}
N = 20


class Served:
    def __init__(self, host: LocalHost, server: uvicorn.Server, port: int) -> None:
        self.host, self.server, self.port = host, server, port
        self.loop: asyncio.AbstractEventLoop | None = None

    def call(self, fn: Any) -> Any:
        """Run ``fn()`` on the server's loop and return what it returns."""
        assert self.loop is not None
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    root = write_project(tmp_path / "app", FILES)
    port = free_port()
    # motia dev's settings for this project (tests/support/inprocess.py); served below by this
    # test's own uvicorn, on a loop it can look at.
    host = LocalHost.open(InProcessServer(root, tmp_path / "data", port=port).settings())
    config = uvicorn.Config(host.app(), host="127.0.0.1", port=port, ws=FrameWriterProtocol, log_level="warning",
                            ws_per_message_deflate=False)
    server = uvicorn.Server(config)
    s = Served(host, server, port)

    def run() -> None:
        async def main() -> None:
            s.loop = asyncio.get_running_loop()
            await server.serve()
        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield s
    server.should_exit = True
    thread.join(10)


def _join(group: str, sub: str) -> str:
    return json.dumps({"type": "join", "data": {"streamName": "idleSub", "groupId": group, "subscriptionId": sub}})


async def test_subscribers_that_keep_up_hold_no_outbox_and_no_task_but_their_reader(served: Served) -> None:
    tasks_before = served.call(lambda: len(asyncio.all_tasks()))
    url = f"ws://127.0.0.1:{served.port}/"
    clients = [await websockets.connect(url, compression=None) for _ in range(N)]
    try:
        for i, ws in enumerate(clients):
            await ws.send(_join("g", f"s{i}"))
        for ws in clients:
            sync = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert sync["event"]["type"] == "sync"
        stream = served.host.runtime.streams["idleSub"]
        asyncio.run_coroutine_threadsafe(stream.set("g", "a", {"text": "hi"}), served.loop).result(5)  # type: ignore[arg-type]
        for ws in clients:
            change = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert change["event"]["type"] == "create" and change["event"]["data"]["text"] == "hi"
        await asyncio.sleep(0.2)  # any pump would have drained by now

        def look() -> tuple[int, list[tuple[Any, Any, int]]]:
            conns = served.host.hub.connections
            return len(asyncio.all_tasks()), [(c.outbox, c.pumping, c.delivered) for c in conns]

        tasks_now, conns = served.call(look)
        assert len(conns) == N
        # The joins' own debug lines are kept in the Workbench's log ring only when LOG_LEVEL lets
        # debug through (log.py, StepLogger.chatter): else ~0.3 KB of every idle subscriber.
        joined = [e for e in served.call(served.host.traces.logs) if e.get("msg") == "joined"]
        assert len(joined) == (N if motia_log.debug_enabled() else 0)
        # The sync and the change reached each client, written directly: no queue, no pump left.
        assert all(outbox is None and pump is None and delivered == 2 for outbox, pump, delivered in conns), conns
        # Per connection: uvicorn's task running the app, which also reads (before: a reader, a
        # pump and a task waiting on an Event beside it, i.e. 4).
        assert tasks_now - tasks_before == N
    finally:
        for ws in clients:
            await ws.close()
    deadline = asyncio.get_running_loop().time() + 5
    while served.call(lambda: len(served.host.hub.connections)) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert served.call(lambda: len(served.host.hub.connections)) == 0


async def _noop_send(_: str) -> None:
    return None


async def _noop_close(_code: int, _reason: str) -> None:
    return None


async def test_a_drop_cancels_the_serving_task_but_never_from_inside_it() -> None:
    """The serving task reads the socket itself, so a drop wakes it with a cancel; a drop made
    while that task handles the client's own frame must not cancel it (the cancel would land in
    its teardown): it sees ``dropped`` when the frame is handled."""
    own = Connection(_noop_send, _noop_close, max_outbox=1)
    own.serving = asyncio.current_task()
    own.push("a")
    own.push("b")  # over the bound, from the serving task itself
    assert own.dropped is not None and own.serving is None and not own.woke
    await asyncio.sleep(0)  # no cancel was requested of this task: it goes on
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]
    await own.stop()

    other = Connection(_noop_send, _noop_close, max_outbox=1)
    serving = asyncio.create_task(asyncio.sleep(10))
    other.serving = serving
    await asyncio.sleep(0)
    other.push("a")
    other.push("b")  # over the bound, from another task (a step's set())
    assert other.woke and other.serving is None
    with pytest.raises(asyncio.CancelledError):
        await serving
    await other.stop()
