"""What ``motia dev`` serves, with reload on, while a step or stream fails to load.

Rather than no server at all (the port stays open under uvicorn's supervisor, so every request
would hang until the fix is saved), the worker serves this until the next change restarts it:

- every HTTP request is answered at once with 503 and ``{"error", "file", "line", "field"}``,
  except the Workbench page and its assets, so the developer can open it and read the error;
- the Workbench's feed (``/__motia/ws``) sends one ``{"type": "project-error", "data": ...}``
  frame, which the page shows as a banner (it reconnects to the real feed after the restart);
- the stream socket accepts connections and answers every join with an ``error`` event
  (code ``PROJECT_NOT_LOADED``), so clients get a reason instead of silence.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...auth import offered_subprotocols
from ...clock import MonotonicClock
from ...errors import ConfigError
from ...protocol import PROJECT_NOT_LOADED, ProtocolError, encode, error_frame, parse_client_message
from .workbench import INDEX, NO_CACHE, STATIC_DIR

HINT = "motia dev could not load the project; fix the file and save it: the server restarts by itself"


def error_detail(error: ConfigError) -> dict[str, Any]:
    return {"error": str(error), "file": error.file, "line": error.line, "field": error.field, "hint": HINT}


def _serves_workbench(scope: Scope) -> bool:
    path = scope["path"]
    return scope["method"] in ("GET", "HEAD") and (path == "/__motia/" or path.startswith("/__motia/static/"))


class _Unavailable:
    """503 for every HTTP request but the Workbench page; sockets and lifespan go to ``app``."""

    def __init__(self, app: ASGIApp, detail: dict[str, Any]) -> None:
        self.app = app
        self.detail = detail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _serves_workbench(scope):
            response = JSONResponse(self.detail, status_code=503, headers={"Cache-Control": "no-store"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def broken_project_app(error: ConfigError) -> ASGIApp:
    detail = error_detail(error)
    join_refusal = f"the project failed to load: {error.located()}"
    clock = MonotonicClock()

    async def index(_: Request) -> Response:
        return FileResponse(INDEX, headers=NO_CACHE, media_type="text/html")

    async def feed(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"type": "project-error", "data": detail})
        await _until_closed(websocket)

    async def stream_socket(websocket: WebSocket) -> None:
        protocols = offered_subprotocols(websocket.headers.get("sec-websocket-protocol"))
        # As the real socket does: browsers drop a connection whose offered subprotocol is not echoed.
        await websocket.accept(subprotocol=protocols[0] if protocols else None)
        try:
            while (received := await websocket.receive())["type"] != "websocket.disconnect":
                # Text or binary, as the real socket reads frames (websocket.py's _payload).
                message = received.get("text")
                if message is None:
                    message = received.get("bytes") or b""
                try:
                    parsed = parse_client_message(message)
                except ProtocolError as exc:
                    frame = error_frame(exc.code, exc.message, clock.tick(), exc.stream_name, exc.group_id, exc.id)
                else:
                    if parsed.type != "join":
                        continue
                    sub = parsed.subscription
                    frame = error_frame(PROJECT_NOT_LOADED, join_refusal, clock.tick(), sub.stream_name, sub.group_id,
                                        sub.id)
                await websocket.send_text(encode(frame))
        except (WebSocketDisconnect, RuntimeError):
            pass  # closed: nothing more to say

    app = Starlette(routes=[
        Route("/__motia/", index),
        Mount("/__motia/static", StaticFiles(directory=STATIC_DIR)),
        WebSocketRoute("/__motia/ws", feed),
        WebSocketRoute("/", stream_socket),
        WebSocketRoute("/{path:path}", stream_socket),
    ])
    return _Unavailable(app, detail)


async def _until_closed(websocket: WebSocket) -> None:
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except (WebSocketDisconnect, RuntimeError):
        pass
