"""The bare limits the local host is measured beside (issue 22): Starlette + uvicorn with nothing of ours,
started the way ``motia dev`` starts uvicorn (uvloop and httptools when installed, uvicorn's sans-I/O
WebSocket protocol, no permessage-deflate, log level warning), pinned where ours is.

* ``GET /ping`` → ``{"ok": true}``: one Starlette route, no middleware.
* WebSocket at any path: accepted, then every message it sends is echoed back (the paced echo), and
  it is kept for the broadcast; a ``join`` of the stream protocol is answered with a ``sync`` frame
  instead, and its socket kept for that group.
* ``POST /broadcast?updates=K&bytes=B``: one text frame of B bytes of JSON, encoded once, written K
  times to every open socket with ``transport.write`` (what the hub's direct write does, with none of
  its checks), answered once every write is issued.
* ``POST /pets`` (``{name, startDelayMs, gapMs}``, as the bench app's): answers a new ``traceId``, then
  does what the bench app's ``PetProgress`` step does to that group's subscribers with none of the
  runtime: after ``startDelayMs``, 5 update frames ``gapMs`` apart (the same fields and size as ours,
  ``sentAt`` stamped when each is encoded), then the step's 2 custom events; each frame encoded once
  and written with ``transport.write`` to every socket that joined the group. So
  ``clients/stream-latency.mjs`` measures this server exactly as it measures ours.

    python bench/bare_server.py --port 3180
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
import uuid
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

OPEN: set[Any] = set()  # the transports of open sockets
GROUPS: dict[str, list[Any]] = {}  # groupId -> the transports of the sockets that joined it
TASKS: set[asyncio.Task[None]] = set()  # the runs in progress (the loop keeps only weak references)
STAGES = ["validating", "allocating", "naming", "vaccinating", "done"]


def text_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class BareProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol, remembering its transport once the handshake is done (and handing
    it to the app in the scope, for the groups)."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        self.scope["bare.transport"] = self.transport  # type: ignore[index]
        OPEN.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        OPEN.discard(self.transport)
        super().connection_lost(exc)


async def ping(_: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def broadcast(request: Request) -> JSONResponse:
    updates = int(request.query_params.get("updates", "1"))
    size = int(request.query_params.get("bytes", "200"))
    t0 = time.perf_counter()
    for seq in range(updates):
        body = json.dumps({"seq": seq, "sentAt": time.time() * 1000, "pad": ""}).encode()
        frame = text_frame(body[:-2] + b"x" * max(0, size - len(body)) + b'"}')  # encoded once per update
        for transport in OPEN:
            transport.write(frame)
    return JSONResponse({"sockets": len(OPEN), "ms": (time.perf_counter() - t0) * 1000})


def _frame(group: str, event: dict[str, Any], id: str | None = "message") -> bytes:
    """A frame of the stream protocol, as ours encodes it (no spaces), for the bench app's item."""
    body = {"timestamp": int(time.time() * 1000), "streamName": "petCreation", "groupId": group,
            **({"id": id} if id else {}), "event": event}
    return json.dumps(body, separators=(",", ":")).encode()


def _write(group: str, payload: bytes) -> None:
    frame = text_frame(payload)  # encoded once, then written to each socket of the group
    for transport in GROUPS.get(group, ()):
        transport.write(frame)


async def _progress(group: str, name: str, delay_s: float, gap_s: float) -> None:
    """The bench app's PetProgress step without the runtime: 5 updates and 2 events to the group."""
    await asyncio.sleep(delay_s)
    for seq in range(1, 6):
        if seq > 1 and gap_s:
            await asyncio.sleep(gap_s)
        data = {"message": f"Pet {name}: {STAGES[seq - 1]}", "stage": STAGES[seq - 1], "progress": seq * 20,
                "sentAt": time.time() * 1000, "seq": seq}
        _write(group, _frame(group, {"type": "update", "data": data}))
    for kind in ("pet-ready", "pet-ready-item"):
        _write(group, _frame(group, {"type": "event", "event": {"type": kind, "data": {
            "name": name, "sentAt": time.time() * 1000}}}))
    GROUPS.pop(group, None)


async def pets(request: Request) -> JSONResponse:
    body = await request.json()
    group = str(uuid.uuid4())
    GROUPS[group] = []
    task = asyncio.create_task(_progress(group, str(body.get("name", "")), float(body.get("startDelayMs", 0)) / 1000,
                                         float(body.get("gapMs", 0)) / 1000))
    TASKS.add(task)
    task.add_done_callback(TASKS.discard)
    return JSONResponse({"traceId": group})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            # A join as JSON.stringify writes it; anything else is the echo's, not parsed (its limit).
            message = json.loads(text) if text.startswith('{"type":"join"') else None
            if message is None:
                await websocket.send_text(text)
                continue
            group = message["data"]["groupId"]
            GROUPS.setdefault(group, []).append(websocket.scope["bare.transport"])
            await websocket.send_text(_frame(group, {"type": "sync", "data": []}, id=None).decode())
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[Route("/ping", ping), Route("/broadcast", broadcast, methods=["POST"]),
                        Route("/pets", pets, methods=["POST"]), WebSocketRoute("/{path:path}", echo)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws=BareProtocol,
                ws_per_message_deflate=False)


if __name__ == "__main__":
    main()
