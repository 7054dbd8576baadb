"""The bare limits the local host is measured beside (issue 22): Starlette + uvicorn with nothing of ours,
started the way ``motia dev`` starts uvicorn (uvloop and httptools when installed, uvicorn's sans-I/O
WebSocket protocol, no permessage-deflate, log level warning), pinned where ours is.

* ``GET /ping`` → ``{"ok": true}``: one Starlette route, no middleware.
* WebSocket at any path: accepted, then every message it sends is echoed back (the paced echo), and
  it is kept for the broadcast.
* ``POST /broadcast?updates=K&bytes=B&gap_ms=G&delay_ms=D``: after D ms (default 0), K updates, each
  one text frame of B bytes of JSON (``seq``, and ``sentAt``: the wall clock in ms when it is
  encoded), encoded once and written to every open socket with ``transport.write`` (what the hub's
  direct write does, with none of its checks); G ms apart if G is given (the paced broadcast, as the
  stream scenario's step paces its set()s), else back to back; answered once every write is issued.

    python bench/bare_server.py --port 3180
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

OPEN: set[Any] = set()  # the transports of open sockets


def text_frame(payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


class BareProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O protocol, remembering its transport once the handshake is done."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        OPEN.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        OPEN.discard(self.transport)
        super().connection_lost(exc)


async def ping(_: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def broadcast(request: Request) -> JSONResponse:
    updates = int(request.query_params.get("updates", "1"))
    size = int(request.query_params.get("bytes", "200"))
    gap_s = float(request.query_params.get("gap_ms", "0")) / 1000
    delay_s = float(request.query_params.get("delay_ms", "0")) / 1000
    if delay_s:
        await asyncio.sleep(delay_s)
    t0 = time.perf_counter()
    for seq in range(updates):
        if gap_s and seq:
            await asyncio.sleep(gap_s)
        body = json.dumps({"seq": seq, "sentAt": time.time() * 1000, "pad": ""}).encode()
        frame = text_frame(body[:-2] + b"x" * max(0, size - len(body)) + b'"}')  # encoded once per update
        for transport in OPEN:
            transport.write(frame)
    return JSONResponse({"sockets": len(OPEN), "ms": (time.perf_counter() - t0) * 1000})


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[Route("/ping", ping), Route("/broadcast", broadcast, methods=["POST"]),
                        WebSocketRoute("/{path:path}", echo)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws=BareProtocol,
                ws_per_message_deflate=False)


if __name__ == "__main__":
    main()
