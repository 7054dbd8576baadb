"""Server-Sent Events for streams: ``GET /__streams/{stream}/{group}[/{id}]`` with
``Accept: text/event-stream`` (the seed tutorial's transport; an ``EventSource`` in any browser).

The same stream session as the WebSocket (``motia_runtime.session``) serves it: a request is one
join, made when it arrives, and every frame the session would send on a socket (the ``sync``,
then each change and custom event, error events) is one SSE event, ``data:`` = the frame's JSON
and ``id:`` = its ``timestamp``. A reconnecting ``EventSource`` sends the last id it got as
``Last-Event-ID``, which becomes the join's ``since``: the custom events it missed are replayed
(or a ``resync`` event comes when they are past the replay window), then a fresh ``sync``.

Auth is a join's: the token in ``Authorization: Bearer <token>`` or ``?authToken=`` (an
``EventSource`` cannot set headers), then ``authenticate``, the stream's ``public`` flag,
``can_access`` and ``on_join``. What can be known before the stream starts is answered with a
status: 404 for an unknown stream, 401 for refused credentials, 403 for a join ``can_access``
refuses, 406 without ``Accept: text/event-stream``. A comment line every
``MOTIA_SSE_KEEPALIVE_S`` seconds (15) keeps proxies from closing an idle stream.

On AWS, API Gateway's HTTP API cannot stream a Lambda's response: docs/clients.md says what to
use there (the WebSocket).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ...auth import admit, authorize_join
from ...auth import auth_request as _auth_request
from ...errors import MotiaError, StreamAuthError
from ...limits import DEFAULTS
from ...protocol import Subscription
from ...runtime import Runtime
from ...session import StreamSession
from .closing import on_server_closing
from .hub import Connection, Hub
from .numbers import int64
from .websocket import HubPort

DEFAULT_KEEPALIVE_S = DEFAULTS.sse_keepalive_s


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def sse_event(text: str) -> str:
    """One frame as an SSE event: its stamp as the id, the JSON as the data (one line: JSON
    escapes newlines inside strings)."""
    stamp = json.loads(text).get("timestamp")
    return (f"id: {stamp}\n" if isinstance(stamp, int) else "") + f"data: {text}\n\n"


class StreamEvents:
    """The ``/__streams/...`` endpoint; one per app, like the WebSocket endpoint."""

    def __init__(self, runtime: Runtime, hub: Hub, max_subscriptions: int,
                 keepalive_s: int = DEFAULT_KEEPALIVE_S) -> None:
        self.runtime = runtime
        self.hub = hub
        self.max_subscriptions = max_subscriptions
        self.keepalive_s = keepalive_s  # the settings' Limits.sse_keepalive_s

    def _log(self) -> Any:
        return self.runtime.logger().child(entry="sse")

    async def serve(self, request: Request) -> Response:
        if "text/event-stream" not in request.headers.get("accept", ""):
            return _error(406, "This endpoint streams Server-Sent Events: send Accept: text/event-stream")
        params = request.path_params
        stream = self.runtime.streams.get(params["stream"])
        if stream is None:
            return _error(404, f"Stream {params['stream']} not found")
        headers = dict(request.headers)
        bearer = headers.get("authorization", "")
        query = dict(request.query_params)
        if bearer.lower().startswith("bearer ") and "authToken" not in query:
            query["authToken"] = bearer[7:].strip()
        try:
            auth = await admit(self.runtime.project.authenticate, _auth_request(headers, str(request.url), query))
        except StreamAuthError as exc:
            self._log().warning(f"stream events refused: {exc}")
            self.hub.stats.refused(stream.name, params["group"])
            return _error(401, "Unauthorized")
        except MotiaError as exc:
            self._log().error(f"stream events failed: {exc}")
            return _error(500, "Internal Server Error")
        sub = Subscription(stream.name, params["group"], params.get("id"), f"sse-{id(request)}")
        denied = await authorize_join(stream.config, sub, auth, on_error=lambda text: self._log().warning(text))
        if denied is not None:
            self.hub.stats.refused(stream.name, sub.group_id)
            return _error(403, denied)
        header = request.headers.get("last-event-id")
        field, since = ("Last-Event-ID", header) if header else ("since", request.query_params.get("since"))
        stamp = None if since is None else int64(since)  # numbers.py: what isdigit() and int() let through
        if since is not None and stamp is None:
            return _error(400, f"{field} must be the id of an event this endpoint sent (a stamp: a whole number "
                               f"of milliseconds)")
        return StreamingResponse(self._events(request, sub, auth, stamp),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def _events(self, request: Request, sub: Subscription, auth: Any, since: int | None) -> AsyncIterator[str]:
        # One frame in hand at a time: behind a slow reader frames wait in the connection's bounded
        # outbox, and one that falls too far behind is dropped like a slow socket (hub.py).
        frames: asyncio.Queue[str] = asyncio.Queue(maxsize=1)

        async def send_text(text: str) -> None:
            await frames.put(text)

        async def close(_code: int, _reason: str) -> None:
            frames.put_nowait("")  # ends the response: the client reconnects with Last-Event-ID

        stopping = False

        def server_stops() -> None:  # closing.py: the server is shutting down
            nonlocal stopping
            stopping = True
            if frames.empty():
                frames.put_nowait("")  # wakes the wait below

        unregister = on_server_closing(server_stops)
        connection = Connection(send_text, close, auth, self.hub.max_outbox)
        self.hub.attach(connection)
        session = StreamSession(self.runtime, HubPort(self.hub, connection), self._log(), self.max_subscriptions,
                                on_refused=self.hub.stats.refused)
        join: dict[str, Any] = {"streamName": sub.stream_name, "groupId": sub.group_id,
                                "subscriptionId": sub.subscription_id}
        if sub.id is not None:
            join["id"] = sub.id
        if since is not None:
            join["since"] = since
        try:
            yield f"retry: 1000\n: joined {sub.stream_name}/{sub.group_id}\n\n"
            await session.receive(json.dumps({"type": "join", "data": join}))
            while True:
                try:
                    text = await asyncio.wait_for(frames.get(), self.keepalive_s)
                except TimeoutError:
                    if connection.overflowed or await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if not text or connection.overflowed or stopping:
                    return
                yield sse_event(text)
        finally:
            unregister()
            # A client that goes away cancels this generator through Starlette's task group,
            # whose cancel scope would cancel every await here as well: the subscription's end
            # (its presence, its on_leave) would stop at its first await. Shielded, it runs whole.
            with anyio.CancelScope(shield=True):
                await connection.stop()
                await session.end()
