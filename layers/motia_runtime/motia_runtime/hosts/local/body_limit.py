"""The local host's request body limit: the settings' ``Limits.max_body_bytes`` (``MOTIA_MAX_BODY_BYTES``,
default 1 MiB). A larger request
body is answered 413 with a JSON error, before it is read into memory when it announces its size
(``Content-Length``), and as soon as it passes the limit when it is chunked.
"""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...limits import DEFAULTS, variable
from .asgi3 import asgi3


def too_large(size: int | None, limit: int) -> HTTPException:
    what = f"{size} bytes" if size is not None else "over the limit"
    return HTTPException(413, f"Request body too large ({what}); the limit is {limit} bytes "
                              f"({variable('max_body_bytes')})")


class BodyLimit:
    """ASGI middleware: HTTP request bodies over ``max_bytes`` get 413."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULTS.max_body_bytes) -> None:
        self.app = app
        self.max_bytes = max_bytes

    @asgi3  # a server given it directly sees ASGI 3 (asgi3.py)
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A WebSocket goes straight on: no frame of this middleware held while it is open.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reply_413(scope, receive, send, int(declared), limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Raised inside the endpoint's body read; the app's HTTPException handler
                    # answers it as JSON, like every other HTTP error.
                    raise too_large(None, limit)
            return message

        await self.app(scope, counted, send)


async def _reply_413(scope: Scope, receive: Receive, send: Send, size: int, limit: int) -> None:
    from starlette.responses import JSONResponse

    error = too_large(size, limit)
    # Connection: close, since the unread body is still on the wire.
    await JSONResponse({"error": error.detail}, status_code=413, headers={"connection": "close"})(scope, receive, send)
