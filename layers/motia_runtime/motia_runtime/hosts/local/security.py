"""The local host's guards: request body size, CORS origins, the stream token secret, log redaction.

* ``MOTIA_MAX_BODY_BYTES`` (default 1 MiB): a larger request body is answered 413 with a JSON
  error, before it is read into memory when it announces its size (``Content-Length``), and as
  soon as it passes the limit when it is chunked.
* ``MOTIA_CORS_ORIGINS``: comma-separated origins allowed to call the app's API from a browser.
  ``motia dev`` defaults to ``*``, as Motia does, since it serves a developer's machine; the
  generated template does not (``CorsAllowOrigin``). ``/__motia/`` never gets CORS (trust.py).
  Read into the host's settings (settings.py).
* ``MOTIA_STREAM_SECRET``: when unset, ``motia dev`` keeps a random one in the data directory
  (``stream-secret``, mode 0600), so stream tokens work out of the box and survive restarts.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ...auth import ENV_SECRET
from ...dispatch import ENV_MAX_BODY, max_body_bytes
from ...redact import install_filter

SECRET_FILE = "stream-secret"


def too_large(size: int | None, limit: int) -> HTTPException:
    what = f"{size} bytes" if size is not None else "over the limit"
    return HTTPException(413, f"Request body too large ({what}); the limit is {limit} bytes ({ENV_MAX_BODY})")


class BodyLimit:
    """ASGI middleware: HTTP request bodies over ``MOTIA_MAX_BODY_BYTES`` get 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = max_body_bytes()
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


def ensure_stream_secret(data_dir: Path) -> None:
    """Set ``MOTIA_STREAM_SECRET`` from the data directory's file (made once) if it is unset."""
    if os.environ.get(ENV_SECRET, "").strip():
        return
    path = data_dir / SECRET_FILE
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process of this server made it just now
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(32))
    os.environ[ENV_SECRET] = path.read_text().strip()


def install_log_redaction() -> None:
    """uvicorn logs request paths, query strings (``?authToken=``) included."""
    install_filter("uvicorn", "uvicorn.error", "uvicorn.access")
