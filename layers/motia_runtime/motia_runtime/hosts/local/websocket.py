"""The stream WebSocket endpoint of the local host (Motia's protocol, on the API's port)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ...protocol import (
    STREAM_ACCESS_DENIED,
    STREAM_NOT_FOUND,
    ClientMessage,
    ProtocolError,
    encode,
    error_frame,
    parse_client_message,
    sync_frame,
)
from ...runtime import Runtime
from .hub import Connection, Hub


def _offered_subprotocols(websocket: WebSocket) -> list[str]:
    return [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]


def auth_request(websocket: WebSocket) -> dict[str, Any]:
    """What ``authenticate(request)`` gets: headers, url and the token if one was sent."""
    protocols = _offered_subprotocols(websocket)
    token = None
    if len(protocols) >= 2 and protocols[0].lower() == "authorization":
        token = protocols[1]
    token = token or websocket.query_params.get("authToken")
    return {"headers": dict(websocket.headers), "url": str(websocket.url), "authToken": token}


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class StreamSocket:
    def __init__(self, runtime: Runtime, hub: Hub) -> None:
        self.runtime = runtime
        self.hub = hub

    async def serve(self, websocket: WebSocket) -> None:
        auth_context = None
        authenticate = self.runtime.project.authenticate
        if authenticate is not None:
            try:
                auth_context = await _maybe_await(authenticate(auth_request(websocket)))
            except Exception as exc:  # a refusal: the handshake is answered 401-style (close 1008)
                self.runtime.logger().warning(f"stream connection refused by authenticate: {exc}")
                await websocket.close(code=1008, reason="unauthorized")
                return
        protocols = _offered_subprotocols(websocket)
        # Browsers drop a connection whose offered subprotocol is not echoed back.
        await websocket.accept(subprotocol=protocols[0] if protocols else None)
        connection = Connection(websocket.send_text, self._closer(websocket), auth_context)
        self.hub.attach(connection)
        pump = asyncio.create_task(connection.pump())
        try:
            while True:
                raw = await websocket.receive()
                if raw["type"] == "websocket.disconnect":
                    break
                text = raw.get("text") if raw.get("text") is not None else raw.get("bytes")
                await self.handle_frame(connection, text or "")
        except WebSocketDisconnect:
            pass
        finally:
            self.hub.detach(connection)
            pump.cancel()

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
        await self.join(connection, message)

    async def join(self, connection: Connection, message: ClientMessage) -> None:
        sub = message.subscription
        stream = self.runtime.streams.get(sub.stream_name)
        if stream is None:
            self._error(connection, STREAM_NOT_FOUND, f"Stream {sub.stream_name} not found", sub.stream_name,
                        sub.group_id, sub.id)
            return
        can_access = stream.config.can_access
        if can_access is not None:
            try:
                allowed = await _maybe_await(can_access({"groupId": sub.group_id, "id": sub.id}, connection.auth_context))
            except Exception as exc:
                self.runtime.logger().warning(f"can_access raised for stream {sub.stream_name}: {exc}")
                allowed = False
            if not allowed:
                self._error(connection, STREAM_ACCESS_DENIED, "Access denied", sub.stream_name, sub.group_id, sub.id)
                return
        # Register first, then read: a write that lands in between is both pushed and in the
        # snapshot (harmless), never neither. The sync stamp is taken before the read so that
        # every later write is stamped above it and is not dropped by the client.
        self.hub.subscribe(connection, sub)
        stamp = stream.store.clock.tick()
        if sub.id is None:
            data: Any = await stream.store.get_group(sub.stream_name, sub.group_id)
        else:
            # A missing item syncs as null (Motia sends nothing), so a client knows it is up to date.
            data = await stream.store.get(sub.stream_name, sub.group_id, sub.id)
        connection.push(encode(sync_frame(sub, data, stamp)))
