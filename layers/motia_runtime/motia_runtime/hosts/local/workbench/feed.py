"""The Workbench's own live channel: a WebSocket at ``/__motia/ws`` that pushes what the
runtime does (log entries, trace changes, state writes, stream changes) to open Workbench pages.

It is separate from the stream WebSocket on purpose: browsing every stream from the Workbench
must not show up as subscribers of the app's streams, and the app's clients never see these
frames. Frames are ``{"type": "log"|"trace"|"state"|"stream", "data": ...}``; the page never
sends anything.

``publish`` may be called from any thread (log entries of plain ``def`` handlers come from
worker threads); frames are handed to the event loop, and each page has a bounded outbox drained
by its own task (``MOTIA_WORKBENCH_OUTBOX_FRAMES``, default 5,000 frames), so a slow page is
dropped (it reconnects and refetches) instead of slowing steps or holding memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import pydantic_core
from starlette.websockets import WebSocket, WebSocketDisconnect

from ....limits import DEFAULTS
from ....ports.streams import StreamChange

MAX_OUTBOX = DEFAULTS.workbench_outbox_frames


class _Page:
    def __init__(self, websocket: WebSocket, max_outbox: int = MAX_OUTBOX) -> None:
        self.websocket = websocket
        self.max_outbox = max_outbox
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue()
        self.overflowed = False

    def push(self, text: str) -> None:
        if self.overflowed:
            return
        if self.outbox.qsize() >= self.max_outbox:
            self.overflowed = True
            self.outbox.put_nowait(None)  # the pump closes the socket; the page resyncs on reconnect
            return
        self.outbox.put_nowait(text)

    async def pump(self) -> None:
        try:
            while (text := await self.outbox.get()) is not None:
                await self.websocket.send_text(text)
            await self.websocket.close(code=1013, reason="workbench page too slow: reconnect")
        except (RuntimeError, OSError, WebSocketDisconnect):
            pass  # the page went away; serve() cleans up


class WorkbenchFeed:
    def __init__(self, max_outbox: int = MAX_OUTBOX) -> None:
        self.max_outbox = max_outbox  # frames queued for one page (Limits.workbench_outbox_frames)
        self.pages: set[_Page] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called from the host's lifespan: frames published before this are not kept."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def watching(self) -> bool:
        """Whether :meth:`publish` would send a frame anywhere now."""
        return bool(self.pages) and self._loop is not None

    def publish(self, frame: dict[str, Any]) -> None:
        if not self.pages or self._loop is None:
            return
        text = pydantic_core.to_json(frame, fallback=repr).decode()
        if threading.get_ident() == self._loop_thread:
            self._fan_out(text)
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._fan_out, text)

    def _fan_out(self, text: str) -> None:
        for page in list(self.pages):
            page.push(text)

    def on_stream_change(self, change: StreamChange) -> None:
        """A stream store listener: every item change and ephemeral event, for the Streams view."""
        if not self.pages:
            return
        self.publish({"type": "stream", "data": {
            "streamName": change.stream_name, "groupId": change.group_id, "id": change.id,
            "change": change.type, "item": change.data, "timestamp": change.timestamp,
        }})

    async def serve(self, websocket: WebSocket) -> None:
        await websocket.accept()
        page = _Page(websocket, self.max_outbox)
        self.pages.add(page)
        pump = asyncio.create_task(page.pump())
        try:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass  # the page only listens; anything it sends is ignored
        except WebSocketDisconnect:
            pass
        finally:
            self.pages.discard(page)
            pump.cancel()
