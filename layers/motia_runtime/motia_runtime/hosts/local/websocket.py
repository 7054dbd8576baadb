"""The stream WebSocket endpoint of the local host (Motia's protocol, on the API's port).

Auth (``motia_runtime.auth``): the handshake is refused with HTTP 401 when the credentials are
(the denial-response extension, which uvicorn has; else a close with 1008, which clients treat
the same), and every join is authorized. Every frame a client sends is answered when it cannot
be acted on: an ``error`` event, never a dropped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...auth import AuthRequest, admit, authorize_join, offered_subprotocols
from ...auth import auth_request as _auth_request
from ...errors import MotiaError, StreamAuthError
from ...protocol import (
    INTERNAL_ERROR,
    STREAM_ACCESS_DENIED,
    STREAM_NOT_FOUND,
    ClientMessage,
    ProtocolError,
    change_frame,
    encode,
    error_frame,
    parse_client_message,
    resync_frame,
    sync_frame,
)
from ...runtime import Runtime
from .frames import WRITE_FRAME
from .hub import TOO_SLOW, Connection, Hub

CLOSE_TIMEOUT_S = 1.0  # a client that stopped reading may never take the close frame


def auth_request(websocket: WebSocket) -> AuthRequest:
    """What ``authenticate(request)`` gets: headers, url and the token if one was sent."""
    return _auth_request(websocket.headers, str(websocket.url), websocket.query_params)


class StreamSocket:
    def __init__(self, runtime: Runtime, hub: Hub) -> None:
        self.runtime = runtime
        self.hub = hub
        # The replay log is complete only from now on: stamps before this are another process's.
        hub.events.started_at = max(hub.events.started_at, runtime.stream_store.clock.tick())

    def _log(self) -> Any:
        return self.runtime.logger().child(entry="websocket")

    async def _refuse(self, websocket: WebSocket, status: int, text: str) -> None:
        try:
            await websocket.send_denial_response(PlainTextResponse(text, status_code=status))
        except RuntimeError:  # a server without the denial extension: clients read 1008 as 401
            await websocket.close(code=1008, reason=text)

    async def serve(self, websocket: WebSocket) -> None:
        try:
            auth_context = await admit(self.runtime.project.authenticate, auth_request(websocket))
        except StreamAuthError as exc:
            self._log().warning(f"stream connection refused: {exc}")
            await self._refuse(websocket, 401, "Unauthorized")
            return
        except MotiaError as exc:
            self._log().error(f"stream connection failed: {exc}")
            await self._refuse(websocket, 500, "Internal Server Error")
            return
        protocols = offered_subprotocols(websocket.headers.get("sec-websocket-protocol"))
        # Browsers drop a connection whose offered subprotocol is not echoed back.
        await websocket.accept(subprotocol=protocols[0] if protocols else None)
        connection = Connection(websocket.send_text, self._closer(websocket), auth_context, self.hub.max_outbox,
                                write_frame=(websocket.scope.get("extensions") or {}).get(WRITE_FRAME))
        self.hub.attach(connection)
        reader = asyncio.create_task(self._read(websocket, connection))
        tasks = [reader, asyncio.create_task(connection.pump()), asyncio.create_task(connection.gone.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.hub.detach(connection)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            error = reader.exception()
            self._log().error(f"stream connection ended by an error: {type(error).__name__}: {error}")
        if connection.dropped is not None:
            self.hub.dropped += 1
            self._log().warning(f"stream client dropped: {connection.dropped}", connection=connection.id,
                                queued=connection.outbox.qsize(), delivered=connection.delivered)
            # Bounded: a client that stopped reading never takes the close frame off the wire.
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(connection.close(TOO_SLOW, "client too slow: reconnect and resync"),
                                       CLOSE_TIMEOUT_S)

    async def _read(self, websocket: WebSocket, connection: Connection) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                raw = await websocket.receive()
                if raw["type"] == "websocket.disconnect":
                    return
                text = raw.get("text") if raw.get("text") is not None else raw.get("bytes")
                await self.handle_frame(connection, text or "")

    @staticmethod
    def _closer(websocket: WebSocket) -> Any:
        async def close(code: int, reason: str) -> None:
            try:
                await websocket.close(code=code, reason=reason)
            except RuntimeError:
                pass  # already closed

        return close

    def _error(self, connection: Connection, code: str, message: str, stream: str | None = None,
               group: str | None = None, id: str | None = None) -> None:
        stamp = self.runtime.stream_store.clock.tick()
        connection.push(encode(error_frame(code, message, stamp, stream, group, id)))

    async def handle_frame(self, connection: Connection, raw: str | bytes) -> None:
        try:
            message = parse_client_message(raw)
        except ProtocolError as exc:
            self._error(connection, exc.code, exc.message, exc.stream_name, exc.group_id, exc.id)
            return
        if message.type == "leave":
            self.hub.unsubscribe(connection, message.subscription.subscription_id)
            return
        sub = message.subscription
        try:
            await self.join(connection, message)
        except Exception as exc:  # a store failure: the client is told, the connection lives on
            self._log().exception(f"join failed: {type(exc).__name__}: {exc}", stream=sub.stream_name)
            self.hub.unsubscribe(connection, sub.subscription_id)
            self._error(connection, INTERNAL_ERROR, "The join failed on the server; try again",
                        sub.stream_name, sub.group_id, sub.id)

    async def join(self, connection: Connection, message: ClientMessage) -> None:
        sub = message.subscription
        stream = self.runtime.streams.get(sub.stream_name)
        if stream is None:
            self._error(connection, STREAM_NOT_FOUND, f"Stream {sub.stream_name} not found", sub.stream_name,
                        sub.group_id, sub.id)
            return
        denied = await authorize_join(stream.config, sub, connection.auth_context,
                                      on_error=lambda text: self._log().warning(text))
        if denied is not None:
            self._error(connection, STREAM_ACCESS_DENIED, denied, sub.stream_name, sub.group_id, sub.id)
            return
        # Register first, then read: a write that lands in between is both pushed and in the
        # snapshot (harmless), never neither. The sync stamp is taken before the read so that
        # every later write is stamped above it and is not dropped by the client.
        self.hub.subscribe(connection, sub)
        stamp = stream.store.clock.tick()
        if message.since is not None:
            # Taken with the registration, before any await: each sent event is replayed or
            # pushed live, exactly once. Replayed events come before the sync.
            replay = self.hub.events.replay(sub, message.since, stamp)
            if replay is None:
                connection.push(encode(resync_frame(sub, "outside the replay window", message.since, stamp)))
            else:
                for change in replay:
                    connection.push(encode(change_frame(change)))
        if sub.id is None:
            data: Any = await stream.store.get_group(sub.stream_name, sub.group_id)
        else:
            # A missing item syncs as null (Motia sends nothing), so a client knows it is up to date.
            data = await stream.store.get(sub.stream_name, sub.group_id, sub.id)
        connection.push(encode(sync_frame(sub, data, stamp)))
