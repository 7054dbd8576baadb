"""The stream WebSocket endpoint of the local host (Motia's protocol, on the API's port).

Auth (``motia_runtime.auth``): the handshake is refused with HTTP 401 when ``authenticate``
refuses the credentials (the denial-response extension, which uvicorn has; else a close with
1008, which clients treat the same). The protocol itself (joins, auth, replay, error frames) is the session's
(``motia_runtime.session``): this module accepts the socket, reads its frames into the session
and owns the connection's outbox task and its close.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

from starlette.datastructures import URL, Headers, QueryParams
from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...auth import AuthRequest, admit, offered_subprotocols
from ...auth import auth_request as _auth_request
from ...errors import MotiaError, StreamAuthError
from ...ports.streams import StreamChange, now_ms
from ...protocol import Subscription, replays_to
from ...runtime import Runtime
from ...session import DEFAULT_MAX_SUBSCRIPTIONS, StreamSession
from ...streams import Stream
from .frames import FRAME_WIRE, WRITE_FRAME, text_frame
from .hub import TOO_SLOW, Connection, Hub, TokenBucket

CLOSE_TIMEOUT_S = 1.0  # a client that stopped reading may never take the close frame


def auth_request(websocket: WebSocket) -> AuthRequest:
    """What ``authenticate(request)`` gets: headers, url and the token if one was sent.

    Read from the scope into objects of this call's own: Starlette's ``websocket.headers``, ``.url``
    and ``.query_params`` are cached on the socket's object and would stay for the connection's
    whole life (~0.3 KB of every idle subscriber, bench/optimisations.md)."""
    scope = websocket.scope
    return _auth_request(Headers(scope=scope), str(URL(scope=scope)), QueryParams(scope.get("query_string", b"")))


class StreamSocket:
    def __init__(self, runtime: Runtime, hub: Hub, max_subscriptions: int = DEFAULT_MAX_SUBSCRIPTIONS) -> None:
        self.runtime = runtime
        self.hub = hub
        self._logger: Any = None
        self.max_subscriptions = max_subscriptions  # the settings' Limits.max_subscriptions
        # The replay log is complete only from now on: stamps before this are another process's.
        hub.events.started_at = max(hub.events.started_at, runtime.stream_store.clock.tick())

    def _log(self) -> Any:
        if self._logger is None:  # one for every socket: a logger per connection was ~350 bytes of each
            self._logger = self.runtime.logger().child(entry="websocket")
        return self._logger

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
            self.hub.stats.refused_connections += 1
            await self._refuse(websocket, 401, "Unauthorized")
            return
        except MotiaError as exc:
            self._log().error(f"stream connection failed: {exc}")
            await self._refuse(websocket, 500, "Internal Server Error")
            return
        protocols = offered_subprotocols(Headers(scope=websocket.scope).get("sec-websocket-protocol"))
        # Browsers drop a connection whose offered subprotocol is not echoed back.
        await websocket.accept(subprotocol=protocols[0] if protocols else None)
        extensions = websocket.scope.get("extensions") or {}
        connection = Connection(websocket.send_text, functools.partial(_close, websocket), auth_context,
                                self.hub.max_outbox, write_frame=extensions.get(WRITE_FRAME))
        listen = extensions.get(FRAME_WIRE)
        if listen is not None:
            listen(connection)  # the protocol keeps connection.wire / .direct up to date
        self.hub.attach(connection)
        session = StreamSession(self.runtime, HubPort(self.hub, connection), self._log(), self.max_subscriptions,
                                on_refused=self.hub.stats.refused)
        # No task of its own beside uvicorn's: frames out are written at once or by a pump made
        # only while some wait (hub.py), and this task reads, cancelled by a drop (``serving``).
        connection.serving = asyncio.current_task()
        error: Exception | None = None
        try:
            try:
                # A try, not contextlib.suppress: its object would stay alive under every idle socket.
                while connection.dropped is None:
                    # Nothing of a frame is kept in this frame's locals while the next one is
                    # awaited: an idle socket would hold its last message.
                    await session.receive(_payload(await websocket.receive()))
            except (WebSocketDisconnect, _DisconnectedError):
                pass
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not connection.woke or task is None or task.uncancel():
                    raise  # the server stops this serve, not (only) the drop
            except Exception as exc:
                error = exc
        finally:
            connection.serving = None  # no cancel from here on: the teardown runs whole
            if listen is not None:
                listen(None)  # the protocol holds no reference to the connection past its serve
            dropped = connection.dropped  # why the server gave up on this client, if it did
            queued = connection.queued
            await connection.stop()  # no more frames for it from here on
            await session.end()  # after the reads stopped: no join can come in behind it
        if error is not None:
            self._log().error(f"stream connection ended by an error: {type(error).__name__}: {error}")
        if dropped is not None:
            self.hub.dropped += 1
            self._log().warning(f"stream client dropped: {dropped}", connection=connection.id,
                                queued=queued, delivered=connection.delivered)
            # Bounded: a client that stopped reading never takes the close frame off the wire.
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(connection.close(TOO_SLOW, "client too slow: reconnect and resync"),
                                       CLOSE_TIMEOUT_S)


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    try:
        await websocket.close(code=code, reason=reason)
    except RuntimeError:
        pass  # already closed


class _DisconnectedError(Exception):
    pass


def _payload(message: Any) -> str | bytes:
    if message["type"] == "websocket.disconnect":
        raise _DisconnectedError
    text = message.get("text")
    return (text if text is not None else message.get("bytes")) or ""


class HubPort:
    """The session's port on one local socket: frames to its outbox, rooms in the hub, the
    replay from the hub's in-memory log. Nothing here suspends (see ``SessionPort``)."""

    __slots__ = ("connection", "hub")  # one per open socket

    def __init__(self, hub: Hub, connection: Connection) -> None:
        self.hub = hub
        self.connection = connection

    async def auth_context(self) -> Any:
        return self.connection.auth_context

    def send(self, text: str) -> None:
        # Encoded for a direct write like the hub's frames: a join's answers need no pump either.
        connection = self.connection
        connection.push(text, text_frame(text) if connection.write_frame is not None or connection.wire is not None
                        else None)

    async def subscribe(self, sub: Subscription, limit: int) -> bool:
        held = self.connection.subscriptions
        if len(held) >= limit and sub.subscription_id not in held:
            return False
        self.hub.subscribe(self.connection, sub)
        return True

    async def unsubscribe(self, subscription_id: str) -> Subscription | None:
        held = self.connection.subscriptions.get(subscription_id)
        return held if held is not None and self.hub.unsubscribe(self.connection, subscription_id) else None

    async def replay(self, stream: Stream, sub: Subscription, since: int, upto: int) -> list[StreamChange] | None:
        # The stream's own window first: past it nothing is kept, in memory or in the store.
        if since < now_ms() - stream.store.history_policy(stream.name).window_s * 1000:
            return None
        # The memory log (this process's events) answers without touching the store; before this
        # process started, or past its bounds, the store's durable history does. SQLite's read
        # does not suspend; Redis's does, and an event pushed live meanwhile may come before
        # the older replayed ones (clients tell them apart by eventId and timestamp).
        replay = self.hub.events.replay(sub, since, upto)
        if replay is not None:
            return replay
        kept = await stream.store.history(stream.name, sub.group_id, since)
        return None if kept is None else [c for c in kept if c.timestamp <= upto and replays_to(c, sub)]

    async def holds(self, stream: str, group_id: str, id: str | None) -> bool:
        return any(s.stream_name == stream and s.group_id == group_id and (s.id is None or s.id == id)
                   for s in self.connection.subscriptions.values())

    async def take_event_token(self, rate_per_s: float, burst: int) -> bool:
        budget = self.connection.event_budget
        if budget is None:  # most subscribers never send an event: no bucket for them
            budget = self.connection.event_budget = TokenBucket()
        return budget.take(rate_per_s, burst)

    async def end(self) -> list[Subscription]:
        held = list(self.connection.subscriptions.values())
        await self.hub.detach(self.connection)
        return held
