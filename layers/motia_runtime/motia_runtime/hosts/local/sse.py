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
``can_access`` and ``on_join``. The join is made before the response starts, so its outcome is
the status: 404 for an unknown stream, 401 for refused credentials, 403 for a join ``can_access``
or ``on_join`` refuses (with the reason), 500 when the store fails it, 406 without ``Accept:
text/event-stream``. (A refusal sent as an error event inside a 200 left an ``EventSource`` open
on a stream that would never carry anything; a 403 makes it give up, as it should.) A comment line every
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
from ...protocol import INTERNAL_ERROR, STREAM_ACCESS_DENIED, Subscription
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
        join: dict[str, Any] = {"streamName": sub.stream_name, "groupId": sub.group_id,
                                "subscriptionId": sub.subscription_id}
        if sub.id is not None:
            join["id"] = sub.id
        if stamp is not None:
            join["since"] = stamp
        feed = _Feed(self, auth)
        try:
            await feed.session.receive(json.dumps({"type": "join", "data": join}))
            first = await feed.frames.get()  # the sync (or a replayed event, a change), or the refusal
        except BaseException:
            await feed.end()
            raise
        refused = _refusal(first)
        if refused is not None:
            await feed.end()
            return refused
        return _EventStream(feed, self._events(request, sub, feed, first), media_type="text/event-stream",
                            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def _events(self, request: Request, sub: Subscription, feed: _Feed, first: str) -> AsyncIterator[str]:
        yield f"retry: 1000\n: joined {sub.stream_name}/{sub.group_id}\n\n"
        text = first
        while True:
            yield sse_event(text)
            while True:
                try:
                    text = await asyncio.wait_for(feed.frames.get(), self.keepalive_s)
                    break
                except TimeoutError:
                    if feed.connection.overflowed or await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
            if not text or feed.connection.overflowed or feed.stopping:
                return


def _refusal(first: str) -> Response | None:
    """The answer to a join whose first frame refused it (or that the server's stop cut short)."""
    if not first:
        return _error(503, "The server is stopping: connect again")
    event = json.loads(first).get("event") or {}
    if event.get("type") != "event" or (event.get("event") or {}).get("type") != "error":
        return None
    error = event["event"].get("data") or {}
    if error.get("code") == STREAM_ACCESS_DENIED:
        return _error(403, str(error.get("message")))
    if error.get("code") == INTERNAL_ERROR:
        return _error(500, "Internal Server Error")
    return _error(400, f"{error.get('code')}: {error.get('message')}")


class _Feed:
    """One SSE response's subscription: a hub connection and a stream session, whose frames come
    here one at a time (behind a slow reader they wait in the connection's bounded outbox, and one
    that falls too far behind is dropped like a slow socket: hub.py)."""

    def __init__(self, endpoint: StreamEvents, auth: Any) -> None:
        self.frames: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self.stopping = False
        self._ended = False
        self._unregister = on_server_closing(self._server_stops)
        self.connection = Connection(self._send_text, self._close, auth, endpoint.hub.max_outbox)
        endpoint.hub.attach(self.connection)
        self.session = StreamSession(endpoint.runtime, HubPort(endpoint.hub, self.connection), endpoint._log(),
                                     endpoint.max_subscriptions, on_refused=endpoint.hub.stats.refused)

    async def _send_text(self, text: str) -> None:
        await self.frames.put(text)

    async def _close(self, _code: int, _reason: str) -> None:
        self.frames.put_nowait("")  # ends the response: the client reconnects with Last-Event-ID

    def _server_stops(self) -> None:  # closing.py: the server is shutting down
        self.stopping = True
        if self.frames.empty():
            self.frames.put_nowait("")  # wakes the wait for the next frame

    async def end(self) -> None:
        """The subscription's end (its presence, its on_leave), once, whatever ended the response."""
        if self._ended:
            return
        self._ended = True
        self._unregister()
        # A client that goes away cancels the response through Starlette's task group, whose
        # cancel scope would cancel every await here as well: the subscription's end would stop at
        # its first await. Shielded, it runs whole.
        with anyio.CancelScope(shield=True):
            await self.connection.stop()
            await self.session.end()


class _EventStream(StreamingResponse):
    """The event stream, ending its feed however the response ends: finished, cancelled by the
    client's going, or never started."""

    def __init__(self, feed: _Feed, content: AsyncIterator[str], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._feed = feed

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._feed.end()
