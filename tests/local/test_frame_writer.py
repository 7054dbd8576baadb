"""The hub's direct frame writes (hosts/local/frames.py): byte-identical to what the websockets
library sends, never ahead of a frame that is queued or being sent, and working over a real uvicorn
server and a real client on loopback.

The protocol reads uvicorn attributes that are not a public API: these tests fail (rather than
the server silently taking the slower ASGI path) if an upgrade moves them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.frames import Frame, Opcode

from motia_runtime.hosts.local.frames import FRAME_WIRE, WRITE_FRAME, FrameWriterProtocol, text_frame
from motia_runtime.hosts.local.hub import Connection
from tests.support.fake_openai import free_port


class Probe:
    """A WebSocket endpoint that mixes direct frame writes with ordinary ASGI sends."""

    def __init__(self) -> None:
        self.results: list[Any] = []
        self.wired: list[bool] = []
        self.done = threading.Event()

    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        extensions = websocket.scope.get("extensions") or {}
        write = extensions.get(WRITE_FRAME)
        self.results.append(write is not None)
        if write is None:
            await websocket.close()
            return
        listener = Connection(websocket.send_text, _close)
        extensions[FRAME_WIRE](listener)
        self.wired.append(listener.direct is not None)  # open, nothing queued: the hub may write directly
        self.results.append(write(text_frame("direct 1")))
        await websocket.send_text("asgi 2")
        self.results.append(write(text_frame("direct 3 " + "é" * 200)))  # a 16-bit length header
        await websocket.receive_text()  # the client's "bye"
        self.wired.append(listener.direct is not None)
        await websocket.close()
        self.wired.append(listener.direct is not None)  # the close is sent: no frame may follow it
        self.results.append(write(text_frame("after close")))
        self.done.set()


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, Probe]]:
    probe = Probe()
    app = Starlette(routes=[WebSocketRoute("/ws", probe.endpoint)])
    port = free_port()
    deflate = getattr(request, "param", False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws=FrameWriterProtocol, log_level="warning",
                            lifespan="off", ws_per_message_deflate=deflate)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        threading.Event().wait(0.01)
    yield f"ws://127.0.0.1:{port}/ws", probe
    srv.should_exit = True
    thread.join(5)


async def test_direct_writes_reach_the_client_in_order_with_asgi_sends(server: tuple[str, Probe]) -> None:
    url, probe = server
    async with websockets.connect(url, compression=None) as ws:
        got = [await asyncio.wait_for(ws.recv(), 5) for _ in range(3)]
        await ws.send("bye")
        with pytest.raises(websockets.ConnectionClosedOK):
            await asyncio.wait_for(ws.recv(), 5)
    assert got == ["direct 1", "asgi 2", "direct 3 " + "é" * 200]
    assert probe.done.wait(5)
    assert probe.results == [True, True, True, False]  # offered, written twice, refused once closed
    assert probe.wired == [True, True, False]  # the listener's direct write, withdrawn by the close


@pytest.mark.parametrize("server", [True], indirect=True)
async def test_with_compression_negotiated_frames_go_through_the_library(server: tuple[str, Probe]) -> None:
    url, probe = server
    async with websockets.connect(url) as ws:  # offers permessage-deflate, which the server accepts here
        assert ws.response is not None and "permessage-deflate" in ws.response.headers.get(
            "Sec-WebSocket-Extensions", "")
        await ws.send("bye")
        got = []
        with pytest.raises(websockets.ConnectionClosedOK):
            while True:
                got.append(await asyncio.wait_for(ws.recv(), 5))
    assert got == ["asgi 2"]
    assert probe.done.wait(5)
    assert probe.results == [True, False, False, False]
    assert probe.wired == [False, False, False]  # never a direct write under compression


@pytest.mark.parametrize("size", [0, 1, 125, 126, 300, 65535, 65536, 200_000])
def test_a_frame_is_what_the_websockets_protocol_would_send(size: int) -> None:
    text = ("é" * size)[:size] if size % 2 else "x" * size
    expected = Frame(Opcode.TEXT, text.encode()).serialize(mask=False)
    assert text_frame(text) == expected


class Wire:
    """A transport stand-in: direct writes while open, and an ASGI send that can be held."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.open = True
        self.release = asyncio.Event()
        self.release.set()

    def write_frame(self, frame: bytes) -> bool:
        if not self.open:
            return False
        self.frames.append(frame[2:].decode())  # small frames: a 2-byte header
        return True

    async def send_text(self, text: str) -> None:
        await self.release.wait()
        self.frames.append(text)


async def _close(code: int, reason: str) -> None:
    return None


async def test_frames_keep_their_order_around_a_paused_transport() -> None:
    wire = Wire()
    connection = Connection(wire.send_text, _close, write_frame=wire.write_frame)
    connection.push("1", text_frame("1"))  # written directly
    wire.open = False
    wire.release.clear()
    connection.push("2", text_frame("2"))  # paused: queued, and the pump holds it
    await asyncio.sleep(0)
    wire.open = True
    connection.push("3", text_frame("3"))  # "2" is being sent: must queue behind it
    connection.push("4", text_frame("4"))
    wire.release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert connection.pumping is None and connection.outbox is None  # drained: no task, no queue left
    connection.push("5", text_frame("5"))  # nothing ahead any more: direct again
    assert connection.pumping is None
    assert wire.frames == ["1", "2", "3", "4", "5"]
    assert connection.delivered == 5


async def test_the_protocols_wire_is_used_only_while_nothing_is_queued() -> None:
    wire = Wire()
    connection = Connection(wire.send_text, _close)

    class Transport:
        def write(self, frame: bytes) -> None:
            wire.frames.append(frame[2:].decode())

    write = Transport()
    connection.set_wire(write)
    connection.push("1", text_frame("1"))  # written directly
    connection.set_wire(None)  # the transport paused
    wire.release.clear()
    connection.push("2", text_frame("2"))  # queued, and the pump holds it
    await asyncio.sleep(0)
    connection.set_wire(write)  # resumed while "2" is being sent
    assert connection.direct is None
    connection.push("3", text_frame("3"))  # must queue behind "2"
    wire.release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert connection.outbox is None and connection.direct is write  # drained: direct again
    connection.push("4", text_frame("4"))
    assert wire.frames == ["1", "2", "3", "4"]
    assert connection.delivered == 4
    connection.drop("gone")
    assert connection.direct is None
